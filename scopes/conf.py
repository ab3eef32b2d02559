"""
Settings of the `scopes` classes, read from the `GATEHOUSE_SCOPES` dictionary.

    GATEHOUSE_SCOPES = {
        "ISSUER": "https://auth.example.com/",
        "AUDIENCE": "https://api.example.com/",
        "KEY_PROVIDER": "apis.keys.find_verification_key",
    }
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS = {
    # The exact `iss` that tokens must carry.
    "ISSUER": None,
    # The identifier of the protected API, which a token's `aud` must contain.
    "AUDIENCE": None,
    # Dotted path to a callable `(kid) -> VerificationKey | None`.
    "KEY_PROVIDER": None,
    # Allowed clock skew when checking `exp`, `nbf` and `iat`, in seconds.
    "LEEWAY_SECONDS": 60,
    # Header `typ` values accepted, compared case-insensitively.
    "ACCEPTED_TOKEN_TYPES": ("at+jwt", "application/at+jwt", "JWT"),
    # Tokens longer than this are rejected before any parsing, in characters.
    "MAX_TOKEN_LENGTH": 8192,
    # Claims that carry scopes: a space-delimited string or a list of strings.
    "SCOPE_CLAIMS": ("scope", "permissions"),
    # The `realm` of the `WWW-Authenticate: Bearer` challenge.
    "REALM": "gatehouse",
}
REQUIRED = ("ISSUER", "AUDIENCE", "KEY_PROVIDER")


class ScopesSettings:
    def __init__(self):
        self._cache = {}

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown GATEHOUSE_SCOPES setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name):
        user_settings = getattr(settings, "GATEHOUSE_SCOPES", {})
        value = user_settings.get(name, DEFAULTS[name])
        if name in REQUIRED and not value:
            raise ImproperlyConfigured(f"GATEHOUSE_SCOPES[{name!r}] is required.")
        if name == "KEY_PROVIDER" and isinstance(value, str):
            value = import_string(value)
        return value

    def reload(self):
        self._cache.clear()


scopes_settings = ScopesSettings()


def _reload_scopes_settings(*, setting, **kwargs):
    if setting == "GATEHOUSE_SCOPES":
        scopes_settings.reload()


setting_changed.connect(_reload_scopes_settings)
