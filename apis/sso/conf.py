"""The single sign-on settings: checks made at start-up, and the values in use."""

import math
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Signatures with the provider's public keys. HMAC with the client secret is
# left out: anyone holding the secret could then forge ID tokens.
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    }
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_SESSION_SECONDS = 365 * 24 * 3600
MAX_TIMEOUT_SECONDS = 60
TOKEN_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


def is_acceptable_url(url):
    """HTTPS, or plain HTTP to this machine for development and tests."""
    # urlsplit() drops tabs and line breaks, so look for them first.
    if not url.isprintable() or " " in url or len(url) > 2000:
        return False
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if port == 0 or not parts.hostname or "#" in url or parts.username is not None:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def discovery_url(config):
    """Return the metadata URL, or None when the endpoints are given."""
    if config["DISCOVERY_URL"]:
        return config["DISCOVERY_URL"]
    if "authorization_endpoint" in config["ENDPOINTS"]:
        return None
    return config["ISSUER"].rstrip("/") + DISCOVERY_PATH


def validate(config):
    """Raise ImproperlyConfigured naming the first setting that is wrong."""

    def fail(message):
        raise ImproperlyConfigured(f"Single sign-on: {message}")

    if not config["CLIENT_SECRET"]:
        fail("GATEHOUSE_SSO_CLIENT_SECRET is missing.")
    if not config["CLIENT_ID"].isprintable():
        fail(
            f"GATEHOUSE_SSO_CLIENT_ID has control characters: {config['CLIENT_ID']!r}."
        )
    endpoints = config["ENDPOINTS"]
    if "authorization_endpoint" in endpoints:
        for name in ("token_endpoint", "jwks_uri"):
            if name not in endpoints:
                fail(
                    f"GATEHOUSE_SSO_{name.upper()} is needed with "
                    "GATEHOUSE_SSO_AUTHORIZATION_ENDPOINT."
                )
        if not config["ISSUER"]:
            fail(
                "GATEHOUSE_SSO_ISSUER is needed with the endpoints, to check the "
                "ID token's iss."
            )
        if config["DISCOVERY_URL"]:
            fail(
                "set GATEHOUSE_SSO_DISCOVERY_URL or the endpoints, not both: "
                "the endpoints would be ignored."
            )
    elif endpoints:
        fail(
            "the provider's endpoints are given without "
            "GATEHOUSE_SSO_AUTHORIZATION_ENDPOINT."
        )
    elif not config["ISSUER"] and not config["DISCOVERY_URL"]:
        fail(
            "set GATEHOUSE_SSO_ISSUER (or GATEHOUSE_SSO_DISCOVERY_URL) to the "
            "provider's address."
        )
    urls = {
        "GATEHOUSE_SSO_ISSUER": config["ISSUER"],
        "GATEHOUSE_SSO_DISCOVERY_URL": config["DISCOVERY_URL"],
        **{f"GATEHOUSE_SSO_{name.upper()}": url for name, url in endpoints.items()},
    }
    for name, url in urls.items():
        if url and not is_acceptable_url(url):
            fail(
                f"{name} must be an https:// URL (http:// only to localhost), "
                f"not {url!r}."
            )
    issuer = config["ISSUER"]
    if issuer and ("?" in issuer or len(issuer) > 255):
        # The issuer is stored with each linked identity, in 255 characters.
        fail(
            "GATEHOUSE_SSO_ISSUER must have no query and at most 255 characters, "
            f"not {issuer!r}."
        )
    discovery = config["DISCOVERY_URL"]
    if discovery and (
        not urlsplit(discovery).path.endswith(DISCOVERY_PATH) or "?" in discovery
    ):
        # OpenID Connect Discovery 1.0, section 4: the metadata of the issuer
        # https://idp.example/tenant is at https://idp.example/tenant/.well-known/...
        fail(
            f"GATEHOUSE_SSO_DISCOVERY_URL must be the issuer followed by "
            f"{DISCOVERY_PATH}, not {discovery!r}."
        )
    if config["TOKEN_AUTH_METHOD"] not in TOKEN_AUTH_METHODS:
        fail(
            "GATEHOUSE_SSO_TOKEN_ENDPOINT_AUTH_METHOD must be client_secret_basic or "
            f"client_secret_post, not {config['TOKEN_AUTH_METHOD']!r}."
        )
    unknown = set(config["SIGNING_ALGORITHMS"]) - ASYMMETRIC_ALGORITHMS
    if unknown:
        fail(
            f"GATEHOUSE_SSO_SIGNING_ALGORITHMS has {', '.join(sorted(unknown))}; "
            f"use public-key algorithms: {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}."
        )
    if "openid" not in config["SCOPES"].split():
        fail("GATEHOUSE_SSO_SCOPES must include openid.")
    for domain in config["ALLOWED_DOMAINS"]:
        if not DOMAIN.fullmatch(domain):
            fail(
                f"GATEHOUSE_SSO_ALLOWED_DOMAINS has {domain!r}, which is not a domain "
                "name; list domains such as example.com, separated by commas."
            )
    if not config["GROUPS_CLAIM"]:
        fail("GATEHOUSE_SSO_GROUPS_CLAIM is empty; leave it unset for groups.")
    if not config["BUTTON_LABEL"]:
        fail("GATEHOUSE_SSO_BUTTON_LABEL is empty; leave it unset for the default.")
    if not (
        config["ALLOWED_DOMAINS"]
        or config["ALLOWED_GROUPS"]
        or config["SUPERUSER_GROUPS"]
    ):
        fail(
            "nobody would be let in. Set GATEHOUSE_SSO_ALLOWED_DOMAINS, "
            "GATEHOUSE_SSO_ALLOWED_GROUPS or both."
        )
    if not 0 < config["SESSION_SECONDS"] <= MAX_SESSION_SECONDS:
        fail(
            f"GATEHOUSE_SSO_SESSION_SECONDS must be from 1 to {MAX_SESSION_SECONDS} "
            f"(a year), not {config['SESSION_SECONDS']}."
        )
    timeout = config["TIMEOUT_SECONDS"]
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_SECONDS):
        fail(
            f"GATEHOUSE_SSO_TIMEOUT_SECONDS must be more than 0 and at most "
            f"{MAX_TIMEOUT_SECONDS}, not {timeout}."
        )
