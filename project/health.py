"""Liveness and readiness probes for load balancers and orchestrators."""

import logging
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """Report that the process is alive, checking nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """Report whether the process can serve: the database and the cache respond."""
    checks = {"database": _check_database(), "cache": _check_cache()}
    ready = all(result == "ok" for result in checks.values())
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = "5"
    return response


def _check_database():
    try:
        with connection.cursor() as cursor:
            # A table that `migrate` creates: an empty or unmigrated database
            # is not ready either.
            cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
    except DatabaseError as error:
        logger.warning("Readiness: the database failed: %s", error)
        return "failed"
    return "ok"


def _check_cache():
    key = f"gatehouse:readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception as error:
        # Each cache backend raises errors of its own client library.
        logger.warning("Readiness: the cache failed: %s", error)
        return "failed"
    return "ok" if value == "1" else "failed"
