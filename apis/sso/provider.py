"""
The OpenID provider's metadata and signing keys, fetched and cached.

Both are fetched on the first sign-in and kept in the cache for an hour, so
later sign-ins make no request for them. For providers that rotate keys, an ID
token with an unknown kid, or whose signature fails, fetches the set again.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
import requests
import urllib3
from django.conf import settings
from django.core.cache import cache

from .conf import ASYMMETRIC_ALGORITHMS, discovery_url, is_acceptable_url

logger = logging.getLogger(__name__)

METADATA_SECONDS = 3600
# After a failed metadata fetch, sign-ins fail at once for this long instead
# of each waiting for the timeout, so that a provider that hangs cannot tie up
# the workers that also serve the token endpoint and the APIs.
FAILURE_SECONDS = 30
# No document a provider sends for sign-in comes near this size.
MAX_RESPONSE_BYTES = 1024 * 1024
KEYS_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider could not be reached, or its response was unusable."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    signing_algorithms: tuple = ("RS256",)
    token_auth_method: str = "client_secret_basic"
    # RFC 9207: the provider names itself in the authorization response.
    iss_parameter_supported: bool = False


def config():
    return settings.GATEHOUSE_SSO


def library_setting(name, *default):
    """
    Return the value of mozilla-django-oidc's setting `name`, derived from
    GATEHOUSE_SSO. Gatehouse overrides the library's token, key and user
    handling, so only the settings its remaining code reads are here.
    """
    sso = config()
    values = {
        "OIDC_RP_CLIENT_ID": sso["CLIENT_ID"],
        "OIDC_RP_CLIENT_SECRET": sso["CLIENT_SECRET"],
        "OIDC_RP_SCOPES": sso["SCOPES"],
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso-callback",
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
        # Kept in the server-side session as the hint for provider logout.
        "OIDC_STORE_ID_TOKEN": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
    }
    if name in values:
        return values[name]
    if default:
        return default[0]
    raise KeyError(name)


def _cache_get(key):
    try:
        return cache.get(key)
    except Exception as error:  # A cache that is down only costs a fetch.
        logger.warning(
            "The cache is unreachable (%r); fetching from the provider.", str(error)
        )
        return None


def _cache_set(key, value, timeout):
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        logger.warning(
            "The cache is unreachable (%r); provider data is not kept.", str(error)
        )


def _cache_key(kind, url):
    return f"gatehouse:sso:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def json_object(response):
    """Return the response's JSON object, or None for anything else."""
    try:
        document = response.json()
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def send(method, url, **kwargs):
    """
    Send a request to the provider and read the whole response within the
    timeout, or raise ProviderUnavailable. After a request to a provider host
    fails, requests to that host fail at once for FAILURE_SECONDS.
    """
    host = urlsplit(url).netloc
    failure_key = _cache_key("unreachable", host)
    failure = _cache_get(failure_key)
    if failure is not None:
        raise ProviderUnavailable(f"{failure} (an earlier attempt, not retried yet)")

    timeout = config()["TIMEOUT_SECONDS"]
    deadline = time.monotonic() + timeout
    try:
        # Redirects are not followed: each address was checked for HTTPS, and
        # a redirect's target would not be. The token request would also send
        # the client secret on to the target.
        response = requests.request(
            method, url, timeout=timeout, allow_redirects=False, stream=True, **kwargs
        )
        # The timeout above bounds each read, so a provider that sends a byte
        # at a time is stopped here, by the deadline of the whole response.
        # read1() returns what one read of the socket brings.
        content = bytearray()
        while chunk := response.raw.read1(65536, decode_content=True):
            content += chunk
            if len(content) > MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                response.close()
                raise ProviderUnavailable(
                    f"{url} sent more than {MAX_RESPONSE_BYTES} bytes, or took more "
                    f"than {timeout} seconds."
                )
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        ProviderUnavailable,
    ) as error:
        message = f"{url} could not be reached: {error}"
        _cache_set(failure_key, message, FAILURE_SECONDS)
        raise ProviderUnavailable(message) from None
    response._content = bytes(content)
    return response


def fetch_json(url):
    """GET a JSON object from the provider, or raise ProviderUnavailable."""
    response = send("GET", url)
    if response.is_redirect:
        raise ProviderUnavailable(
            f"{url} redirects to {response.headers.get('Location')!r}; configure "
            "the final address instead."
        )
    if response.status_code != 200:
        raise ProviderUnavailable(f"{url} responded with HTTP {response.status_code}.")
    document = json_object(response)
    if document is None:
        raise ProviderUnavailable(f"{url} did not respond with a JSON object.")
    return document


def get_metadata():
    settings_ = config()
    url = discovery_url(settings_)
    if url is None:
        endpoints = settings_["ENDPOINTS"]
        return ProviderMetadata(
            issuer=settings_["ISSUER"],
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            userinfo_endpoint=endpoints.get("userinfo_endpoint", ""),
            end_session_endpoint=endpoints.get("end_session_endpoint", ""),
            signing_algorithms=tuple(settings_["SIGNING_ALGORITHMS"]),
            token_auth_method=settings_["TOKEN_AUTH_METHOD"],
        )
    key = _cache_key("metadata", url)
    metadata = _cache_get(key)
    if metadata is not None:
        return metadata
    metadata = parse_metadata(fetch_json(url), url, settings_["ISSUER"])
    _cache_set(key, metadata, METADATA_SECONDS)
    return metadata


def parse_metadata(document, url, expected_issuer=""):
    """Check a discovery document (OpenID Connect Discovery 1.0, section 4.3)."""

    def unusable(reason):
        return ProviderUnavailable(f"The metadata at {url} is unusable: {reason}")

    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise unusable("it has no issuer.")
    # The document must come from the issuer it names, and that issuer must be
    # the one configured: a stranger's metadata cannot redirect sign-ins.
    if url.rstrip("/") != issuer.rstrip("/") + "/.well-known/openid-configuration":
        raise unusable(f"its issuer {issuer!r} does not match its address.")
    if expected_issuer and expected_issuer.rstrip("/") != issuer.rstrip("/"):
        raise unusable(
            f"its issuer {issuer!r} is not GATEHOUSE_SSO_ISSUER {expected_issuer!r}."
        )
    endpoints = {}
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
    ):
        value = document.get(name, "")
        required = name in {"authorization_endpoint", "token_endpoint", "jwks_uri"}
        if (value or required) and (
            not isinstance(value, str) or not is_acceptable_url(value)
        ):
            raise unusable(f"{name} is missing or not an https:// URL.")
        endpoints[name] = value
    published = document.get("id_token_signing_alg_values_supported")
    if not isinstance(published, list):
        raise unusable("id_token_signing_alg_values_supported is missing.")
    algorithms = tuple(
        alg
        for alg in published
        if isinstance(alg, str) and alg in ASYMMETRIC_ALGORITHMS
    )
    if not algorithms:
        raise unusable("it publishes no public-key algorithm for ID tokens.")
    # RFC 8414 section 2: client_secret_basic when the member is absent.
    methods = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list):
        methods = ["client_secret_basic"]
    if "client_secret_basic" in methods:
        method = "client_secret_basic"
    elif "client_secret_post" in methods:
        method = "client_secret_post"
    else:
        raise unusable("its token endpoint takes no client secret.")
    return ProviderMetadata(
        issuer=issuer,
        signing_algorithms=algorithms,
        token_auth_method=method,
        iss_parameter_supported=document.get(
            "authorization_response_iss_parameter_supported"
        )
        is True,
        **endpoints,
    )


def _fetch_keys(metadata):
    # The cache keeps the JSON document: parsed keys cannot be pickled.
    return {"document": fetch_json(metadata.jwks_uri)}


def _parse_keys(document):
    keys = {}
    entries = document.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if not isinstance(entry.get("kid", ""), str):
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
            continue  # A key type PyJWT cannot use; the others still can.
        keys.setdefault(entry.get("kid"), []).append((entry.get("alg"), key))
    return keys


def signing_key(metadata, kid, algorithm, refetch=False):
    """
    Return the provider's key for `kid` and `algorithm`, or None. The key set
    comes from the cache unless `refetch` is set or the cached set lacks it.
    """
    cache_key = _cache_key("keys", metadata.jwks_uri)
    key_set = None if refetch else _cache_get(cache_key)
    fetched = key_set is None
    if fetched:
        key_set = _fetch_keys(metadata)
        _cache_set(cache_key, key_set, KEYS_SECONDS)
    key = _match(_parse_keys(key_set["document"]), kid, algorithm)
    if key is None and not fetched:
        key_set = _fetch_keys(metadata)
        _cache_set(cache_key, key_set, KEYS_SECONDS)
        key = _match(_parse_keys(key_set["document"]), kid, algorithm)
    return key


def _match(keys, kid, algorithm):
    candidates = keys.get(kid, [])
    if kid is None and not candidates:
        # A token without kid: only a provider with a single key is unambiguous.
        candidates = [pair for pairs in keys.values() for pair in pairs]
    usable = [
        key
        for alg, key in candidates
        if (alg is None or alg == algorithm) and _fits(key, algorithm)
    ]
    return usable[0].key if len(usable) == 1 else None


def _fits(key, algorithm):
    family = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}[algorithm[:2]]
    return key.key_type == family
