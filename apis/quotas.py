"""
Per-application quotas of tokens per hour and per day at the token endpoint,
counted in the shared cache so every worker counts together. When the cache
is down the quotas fail open: tokens are issued, and the error is logged.
"""

import logging
import time

from django.core.cache import cache

from apis.errors import TOO_MANY_REQUESTS, OAuthError

logger = logging.getLogger(__name__)

HOUR = 3600
DAY = 86400


def _limits(application):
    limits = []
    if application.max_tokens_per_hour is not None:
        limits.append(("hour", HOUR, application.max_tokens_per_hour))
    if application.max_tokens_per_day is not None:
        limits.append(("day", DAY, application.max_tokens_per_day))
    return limits


def count_token(application):
    """
    Count one token for `application`; return the rate-limit headers, or raise
    `OAuthError` 429 when a quota is spent. The headers describe the quota
    with the fewest tokens left.
    """
    now = int(time.time())
    tightest = None
    for name, period, limit in _limits(application):
        window = now // period
        key = f"gatehouse:quota:{application.pk}:{name}:{window}"
        try:
            cache.add(key, 0, timeout=period + 60)
            used = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=period + 60)
            used = 1
        except Exception as error:
            # Each cache backend raises its own client's errors.
            logger.warning("Cannot count tokens for quotas: %s", error)
            return {}
        reset = period - now % period
        if used > limit:
            raise OAuthError(
                TOO_MANY_REQUESTS,
                f"The application may get {limit} tokens per {name}; try again "
                f"in {reset} s.",
                status=429,
                headers=_headers(limit, 0, reset) | {"Retry-After": str(reset)},
            )
        remaining = limit - used
        if tightest is None or remaining < tightest[1]:
            tightest = (limit, remaining, reset)
    return _headers(*tightest) if tightest else {}


def _headers(limit, remaining, reset):
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
