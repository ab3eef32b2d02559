"""
A bounded cache of tokens this process has verified, so a token used again
skips decoding and the signature check.

An entry never outlives its token. Each hit checks `exp` again and checks
that the issuer still has the very key that verified the token, so a key
rotated out or revoked ends its tokens at once. The caller then consults the
revocation denylist again. The cache is per process and emptied when the
settings change.
"""

import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple

from django.core.signals import setting_changed


class VerifiedToken(NamedTuple):
    claims: dict
    header: dict
    scopes: frozenset
    issuer: Any
    kid: str
    key: Any
    expires_at: float


class VerifiedTokenCache:
    def __init__(self):
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cache_key, leeway):
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is None:
                return None
            self._entries.move_to_end(cache_key)
        if entry.expires_at + leeway <= time.time():
            self.discard(cache_key)
            return None
        current = entry.issuer.find_key(entry.kid)
        if current is None or current.key is not entry.key:
            self.discard(cache_key)
            return None
        return entry

    def put(self, cache_key, entry, max_size):
        if max_size <= 0:
            return
        with self._lock:
            self._entries[cache_key] = entry
            self._entries.move_to_end(cache_key)
            while len(self._entries) > max_size:
                self._entries.popitem(last=False)

    def discard(self, cache_key):
        with self._lock:
            self._entries.pop(cache_key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()


verified_tokens = VerifiedTokenCache()


def _clear_on_settings_change(*, setting, **kwargs):
    if setting == "GATEHOUSE_SCOPES":
        verified_tokens.clear()


setting_changed.connect(_clear_on_settings_change)
