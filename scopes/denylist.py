"""
A denylist of revoked access tokens, by `jti`, kept in a Django cache so that
every worker applies a revocation. Enable it with the DENYLIST_CACHE setting.
"""

import hashlib
import time

from django.core.cache import caches

from scopes.conf import scopes_settings

_KEY_PREFIX = "gatehouse:revoked-jti:"


def _cache():
    alias = scopes_settings.DENYLIST_CACHE
    return caches[alias] if alias else None


def revoke(jti, expires_at):
    """Deny the token `jti` until `expires_at`, a Unix time, when it expires anyway."""
    cache = _cache()
    if cache is None:
        raise RuntimeError("Set GATEHOUSE_SCOPES['DENYLIST_CACHE'] to revoke tokens.")
    timeout = max(1, int(expires_at - time.time()))
    cache.set(_cache_key(jti), True, timeout=timeout)


def is_revoked(jti):
    cache = _cache()
    return cache is not None and bool(cache.get(_cache_key(jti)))


def _cache_key(jti):
    # A digest keeps keys short and free of characters a cache may not accept.
    return _KEY_PREFIX + hashlib.sha256(str(jti).encode()).hexdigest()


def enabled():
    return scopes_settings.DENYLIST_CACHE is not None
