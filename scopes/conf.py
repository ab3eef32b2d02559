"""
Settings of the `scopes` classes, read from the `GATEHOUSE_SCOPES` dictionary.

    GATEHOUSE_SCOPES = {
        # Gatehouse's own tokens, verified with keys from the registry:
        "ISSUER": "https://auth.example.com/",
        "AUDIENCE": "https://api.example.com/",
        "KEY_PROVIDER": "apis.keys.find_verification_key",
        # Tokens of outside identity providers, verified with their JWKS:
        "TRUSTED_ISSUERS": [
            {
                "ISSUER": "https://example.eu.auth0.com/",
                "JWKS_URI": "https://example.eu.auth0.com/.well-known/jwks.json",
                "AUDIENCES": ["https://api.example.com/"],
                "ALGORITHMS": ["RS256"],
            },
        ],
    }
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from scopes.issuers import LocalIssuer, build_remote_issuer

DEFAULTS = {
    # Gatehouse's own issuer: the exact `iss`, the API identifier that `aud`
    # must contain, and a dotted path to a callable `(kid) -> VerificationKey |
    # None`. Leave KEY_PROVIDER out to accept only TRUSTED_ISSUERS.
    "ISSUER": None,
    "AUDIENCE": None,
    "KEY_PROVIDER": None,
    # Outside issuers: ISSUER, JWKS_URI, AUDIENCES, and optionally ALGORITHMS
    # (default RS256) and ACCEPTED_TOKEN_TYPES.
    "TRUSTED_ISSUERS": (),
    # Allowed clock skew when checking `exp`, `nbf` and `iat`, in seconds.
    "LEEWAY_SECONDS": 60,
    # Header `typ` values accepted, compared case-insensitively.
    "ACCEPTED_TOKEN_TYPES": ("at+jwt", "application/at+jwt", "JWT"),
    # Tokens longer than this are rejected before any parsing, in characters.
    "MAX_TOKEN_LENGTH": 8192,
    # Claims that carry scopes: a space-delimited string or a list of strings.
    "SCOPE_CLAIMS": ("scope", "scp", "permissions"),
    # The `realm` of the `WWW-Authenticate: Bearer` challenge.
    "REALM": "gatehouse",
    # How long a fetched JWK Set is used before it is fetched again, in seconds.
    "JWKS_CACHE_SECONDS": 600,
    # The shortest time between two fetches of one JWK Set, in seconds.
    "JWKS_REFETCH_COOLDOWN_SECONDS": 30,
    # Socket timeout of a JWK Set fetch, in seconds.
    "JWKS_TIMEOUT_SECONDS": 3,
    # Larger JWK Set documents are rejected, in bytes.
    "JWKS_MAX_BYTES": 256 * 1024,
    # Tokens each process keeps verified, skipping the signature check when
    # they come again; 0 turns the cache off.
    "VERIFIED_TOKEN_CACHE_SIZE": 4096,
    # The cache alias that stores revoked `jti` values, or None for no denylist.
    "DENYLIST_CACHE": None,
    # OpenAPI with drf-spectacular: the token URL of the OAuth2 client
    # credentials scheme (None leaves that scheme out), and its scopes as a
    # {scope: description} dict or a dotted path to a callable returning one.
    "OPENAPI_TOKEN_URL": None,
    "OPENAPI_SCOPES": None,
}


class ScopesSettings:
    def __init__(self):
        self._cache = {}

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown GATEHOUSE_SCOPES setting: {name!r}")
        if name not in self._cache:
            user_settings = getattr(settings, "GATEHOUSE_SCOPES", {})
            self._cache[name] = user_settings.get(name, DEFAULTS[name])
        return self._cache[name]

    @property
    def issuers(self):
        """The trusted issuers, by their exact `iss` value."""
        if "_issuers" not in self._cache:
            self._cache["_issuers"] = self._build_issuers()
        return self._cache["_issuers"]

    def _build_issuers(self):
        conf = {name: getattr(self, name) for name in DEFAULTS}
        issuers = {}
        if conf["KEY_PROVIDER"]:
            if not conf["ISSUER"] or not conf["AUDIENCE"]:
                raise ImproperlyConfigured(
                    "GATEHOUSE_SCOPES needs ISSUER and AUDIENCE with KEY_PROVIDER."
                )
            key_provider = conf["KEY_PROVIDER"]
            if isinstance(key_provider, str):
                key_provider = import_string(key_provider)
            issuers[conf["ISSUER"]] = LocalIssuer(
                conf["ISSUER"],
                [conf["AUDIENCE"]],
                key_provider,
                conf["ACCEPTED_TOKEN_TYPES"],
            )
        for entry in conf["TRUSTED_ISSUERS"]:
            issuer = build_remote_issuer(entry, conf)
            if issuer.issuer in issuers:
                raise ImproperlyConfigured(
                    f"The issuer {issuer.issuer!r} is configured twice."
                )
            issuers[issuer.issuer] = issuer
        if not issuers:
            raise ImproperlyConfigured(
                "GATEHOUSE_SCOPES trusts no issuer: set KEY_PROVIDER, ISSUER and "
                "AUDIENCE, or TRUSTED_ISSUERS."
            )
        return issuers

    def reload(self):
        self._cache.clear()


scopes_settings = ScopesSettings()


def _reload_scopes_settings(*, setting, **kwargs):
    if setting == "GATEHOUSE_SCOPES":
        scopes_settings.reload()


setting_changed.connect(_reload_scopes_settings)
