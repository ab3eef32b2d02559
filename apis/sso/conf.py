"""The single sign-on settings: checks made at start-up, and the values in use."""

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


def is_acceptable_url(url):
    """HTTPS, or plain HTTP to this machine for development and tests."""
    parts = urlsplit(url)
    if not parts.hostname or parts.fragment:
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
    unknown = set(config["SIGNING_ALGORITHMS"]) - ASYMMETRIC_ALGORITHMS
    if unknown:
        fail(
            f"GATEHOUSE_SSO_SIGNING_ALGORITHMS has {', '.join(sorted(unknown))}; "
            f"use public-key algorithms: {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}."
        )
    if "openid" not in config["SCOPES"].split():
        fail("GATEHOUSE_SSO_SCOPES must include openid.")
    if not (
        config["ALLOWED_DOMAINS"]
        or config["ALLOWED_GROUPS"]
        or config["SUPERUSER_GROUPS"]
    ):
        fail(
            "nobody would be let in. Set GATEHOUSE_SSO_ALLOWED_DOMAINS, "
            "GATEHOUSE_SSO_ALLOWED_GROUPS or both."
        )
    if config["SESSION_SECONDS"] <= 0 or config["TIMEOUT_SECONDS"] <= 0:
        fail(
            "GATEHOUSE_SSO_SESSION_SECONDS and GATEHOUSE_SSO_TIMEOUT_SECONDS must be "
            "positive."
        )
