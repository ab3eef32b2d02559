"""
Limits on failed client authentication at the token endpoint, per client id
and per address, counted in the shared cache so every worker counts together
(RFC 6749 section 2.3.1 requires protection against brute force).

Client secrets are 384 random bits, so guessing one is hopeless anyway; the
limits keep an attacker from spending the server's time, and make a leaked
client id under attack visible in the logs.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _keys(client_id, address):
    window = int(time.time()) // settings.GATEHOUSE_AUTH_FAILURE_WINDOW_SECONDS
    keys = []
    if client_id:
        digest = hashlib.sha256(client_id.encode("utf-8", "replace")).hexdigest()
        limit = settings.GATEHOUSE_AUTH_FAILURES_PER_CLIENT
        keys.append((f"gatehouse:auth-failures:client:{digest}:{window}", limit))
    if address:
        limit = settings.GATEHOUSE_AUTH_FAILURES_PER_ADDRESS
        keys.append((f"gatehouse:auth-failures:address:{address}:{window}", limit))
    return keys


def retry_after(client_id, address):
    """Return the seconds to wait when a limit is reached, else None."""
    try:
        counts = cache.get_many([key for key, _ in _keys(client_id, address)])
    except Exception as error:
        # Each cache backend raises its own client's errors. The limits fail
        # open: the token endpoint keeps working while the cache is down.
        logger.warning("Cannot read the authentication failure counts: %s", error)
        return None
    for key, limit in _keys(client_id, address):
        if counts.get(key, 0) >= limit:
            window = settings.GATEHOUSE_AUTH_FAILURE_WINDOW_SECONDS
            return window - int(time.time()) % window
    return None


def record_failure(client_id, address):
    """Count one failed authentication for the client id and the address."""
    window = settings.GATEHOUSE_AUTH_FAILURE_WINDOW_SECONDS
    for key, _ in _keys(client_id, address):
        try:
            # add() creates the counter with its expiry; incr() is atomic in
            # Redis (INCR), so concurrent workers do not lose counts.
            cache.add(key, 0, timeout=window * 2)
            cache.incr(key)
        except ValueError:
            # The counter expired between add() and incr(); start it again.
            cache.set(key, 1, timeout=window * 2)
        except Exception as error:
            logger.warning("Cannot count an authentication failure: %s", error)
