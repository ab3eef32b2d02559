"""
Trusted token issuers and their keys.

Gatehouse's own issuer takes keys from a key provider in the process. An
outside identity provider (Auth0, Keycloak, Okta, Entra ID) publishes its keys
as a JWK Set, fetched over HTTP and cached: refreshed after a TTL, fetched
again early at most once per cooldown when a token names an unknown `kid`, and
kept when a fetch fails.
"""

import ipaddress
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import jwt
from django.core.exceptions import ImproperlyConfigured

from scopes.keys import VerificationKey

logger = logging.getLogger(__name__)

# Public-key algorithms only: a JWK Set never provides a shared HMAC secret.
ALGORITHMS_BY_KEY_TYPE = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    ("EC", "P-256"): ("ES256",),
    ("EC", "P-384"): ("ES384",),
    ("EC", "P-521"): ("ES512",),
    ("OKP", "Ed25519"): ("EdDSA",),
}
SUPPORTED_ALGORITHMS = frozenset(
    algorithm for group in ALGORITHMS_BY_KEY_TYPE.values() for algorithm in group
)


class JWKSFetchError(Exception):
    """A JWK Set could not be fetched or parsed."""


class LocalIssuer:
    """Gatehouse's own issuer, whose keys come from a key provider in-process."""

    def __init__(self, issuer, audiences, key_provider, token_types):
        self.issuer = issuer
        self.audiences = list(audiences)
        self.key_provider = key_provider
        self.token_types = token_types
        self.algorithms = None  # Each key pins its own algorithm.

    def find_key(self, kid):
        return self.key_provider(kid)


class _RejectRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl} not followed", headers, fp
        )


_opener = urllib.request.build_opener(_RejectRedirects)


def _pick_algorithm(jwk, allowed):
    """Return the one algorithm a JWK may verify with, or None to skip the key."""
    key_type = jwk.get("kty")
    group = ALGORITHMS_BY_KEY_TYPE.get(key_type) or ALGORITHMS_BY_KEY_TYPE.get(
        (key_type, jwk.get("crv"))
    )
    if not group:
        return None
    declared = jwk.get("alg")
    if declared is not None:
        return declared if declared in group and declared in allowed else None
    return next((algorithm for algorithm in allowed if algorithm in group), None)


def parse_jwks(document, allowed_algorithms):
    """
    Return the verification keys of a JWK Set, by `kid`.

    Keys that are not for signatures, lack a `kid`, share a `kid`, are of an
    unsupported type, or fit none of `allowed_algorithms` are left out.
    """
    try:
        data = json.loads(document)
    except ValueError as error:
        raise JWKSFetchError(f"the JWK Set is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JWKSFetchError("the JWK Set has no keys list")

    keys = {}
    duplicates = set()
    for jwk in data["keys"]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
            continue
        if kid in keys:
            duplicates.add(kid)
            continue
        algorithm = _pick_algorithm(jwk, allowed_algorithms)
        if algorithm is None:
            continue
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm).key
        except (jwt.PyJWKError, ValueError, TypeError):
            logger.warning("Skipped an unreadable key %r in a JWK Set", kid)
            continue
        keys[kid] = VerificationKey(kid, algorithm, key)
    # RFC 7517 section 4.5: a kid that is not unique cannot select one key.
    for kid in duplicates:
        del keys[kid]
    return keys


class RemoteIssuer:
    """An outside issuer whose keys come from its JWKS address."""

    def __init__(
        self,
        issuer,
        jwks_uri,
        audiences,
        algorithms,
        token_types,
        *,
        cache_seconds,
        cooldown_seconds,
        timeout_seconds,
        max_bytes,
    ):
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self.audiences = list(audiences)
        self.algorithms = tuple(algorithms)
        self.token_types = token_types
        self.cache_seconds = cache_seconds
        self.cooldown_seconds = cooldown_seconds
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self._keys = None
        self._fetched_at = None
        self._attempted_at = None
        self._lock = threading.Lock()

    def find_key(self, kid):
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.cache_seconds
        if stale or (self._keys is not None and kid not in self._keys):
            self._refresh()
        return (self._keys or {}).get(kid)

    def _refresh(self):
        with self._lock:
            now = time.monotonic()
            attempted = self._attempted_at
            if attempted is not None and now - attempted < self.cooldown_seconds:
                return
            self._attempted_at = now
            try:
                keys = parse_jwks(self._fetch(), self.algorithms)
            except JWKSFetchError as error:
                logger.warning(
                    "Fetching the JWK Set of %s from %s failed: %s; keeping the "
                    "last good keys",
                    self.issuer,
                    self.jwks_uri,
                    error,
                )
                return
            self._keys = keys
            self._fetched_at = now

    def _fetch(self):
        # check_jwks_uri allowed only https, and http on loopback.
        request = urllib.request.Request(  # noqa: S310
            self.jwks_uri, headers={"Accept": "application/json"}
        )
        try:
            with _opener.open(request, timeout=self.timeout_seconds) as response:
                document = response.read(self.max_bytes + 1)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise JWKSFetchError(str(error)) from None
        if len(document) > self.max_bytes:
            raise JWKSFetchError(f"the JWK Set is larger than {self.max_bytes} bytes")
        return document


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks_uri(issuer, jwks_uri):
    """Require https, except on loopback where plain http serves tests."""
    parts = urlsplit(jwks_uri or "")
    secure = parts.scheme == "https"
    local = parts.scheme == "http" and _is_loopback(parts.hostname or "")
    if not parts.hostname or not (secure or local):
        raise ImproperlyConfigured(
            f"The JWKS_URI of trusted issuer {issuer!r} must be an https URL, not "
            f"{jwks_uri!r}."
        )


def build_remote_issuer(entry, conf):
    """Build a `RemoteIssuer` from one entry of the TRUSTED_ISSUERS setting."""
    issuer = entry.get("ISSUER")
    if not isinstance(issuer, str) or not issuer:
        raise ImproperlyConfigured("Every TRUSTED_ISSUERS entry needs an ISSUER.")
    check_jwks_uri(issuer, entry.get("JWKS_URI"))
    audiences = entry.get("AUDIENCES") or []
    if isinstance(audiences, str) or not audiences:
        raise ImproperlyConfigured(
            f"Trusted issuer {issuer!r} needs AUDIENCES, a list of the API "
            f"identifiers its tokens may carry in aud."
        )
    algorithms = entry.get("ALGORITHMS", ["RS256"])
    unsupported = set(algorithms) - SUPPORTED_ALGORITHMS
    if isinstance(algorithms, str) or not algorithms or unsupported:
        raise ImproperlyConfigured(
            f"Trusted issuer {issuer!r} has ALGORITHMS {algorithms!r}; choose from "
            f"{', '.join(sorted(SUPPORTED_ALGORITHMS))}."
        )
    return RemoteIssuer(
        issuer,
        entry["JWKS_URI"],
        audiences,
        algorithms,
        entry.get("ACCEPTED_TOKEN_TYPES", conf["ACCEPTED_TOKEN_TYPES"]),
        cache_seconds=conf["JWKS_CACHE_SECONDS"],
        cooldown_seconds=conf["JWKS_REFETCH_COOLDOWN_SECONDS"],
        timeout_seconds=conf["JWKS_TIMEOUT_SECONDS"],
        max_bytes=conf["JWKS_MAX_BYTES"],
    )
