import base64
import os
import time

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from playwright.sync_api import sync_playwright

# The project's URLs load now, with single sign-on off as the test settings
# have it; the tests that turn it on route through tests.sso_urls instead.
import project.urls  # noqa: F401
from apis.keys import key_ring
from apis.management.commands.bootstrap import PING_API_NAME, PING_API_SCOPES
from apis.models import TokenRecord
from apis.services import create_api, create_application
from apis.tokens import issue_token
from scopes.token_cache import verified_tokens
from tests.sso import oidc_provider, sso  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def fresh_key_ring():
    """Clear the key ring and the cache, so tests share no keys or counters."""
    cache.clear()
    key_ring.clear()
    verified_tokens.clear()
    yield
    key_ring.clear()
    verified_tokens.clear()


@pytest.fixture
def ping_api(db):
    return create_api(
        name=PING_API_NAME,
        identifier=settings.PING_API_IDENTIFIER,
        scopes=PING_API_SCOPES,
    )


@pytest.fixture
def make_application(ping_api):
    """Create an application granted `scopes` of `api`; return it and its secret."""

    def make(name="Client", scopes=(), api=None):
        return create_application(
            name=name, api=api or ping_api, scope_values=list(scopes)
        )

    return make


@pytest.fixture
def make_token(make_application):
    """Mint a token for a new application granted `scopes` of the ping API."""

    def make(scopes=(), **kwargs):
        application, _ = make_application(scopes=scopes)
        requested = list(scopes) if scopes else None
        kwargs.setdefault("source", TokenRecord.Source.CONSOLE)
        return issue_token(application, scopes=requested, **kwargs).access_token

    return make


@pytest.fixture
def sign(ping_api):
    """
    Sign arbitrary claims and headers with Gatehouse's current key, to build
    tokens that the token endpoint would never issue.
    """

    def sign(claims=None, headers=None, **overrides):
        signing_key = key_ring.signing_key()
        now = int(time.time())
        payload = {
            "iss": settings.GATEHOUSE_ISSUER,
            "sub": "client@clients",
            "aud": settings.PING_API_IDENTIFIER,
            "iat": now,
            "exp": now + 600,
            "jti": "test",
            "client_id": "client",
            "scope": "read:messages",
        }
        payload.update(claims or {})
        for name in [name for name, value in payload.items() if value is None]:
            del payload[name]
        header = {"kid": signing_key.kid, "typ": "at+jwt"}
        header.update(headers or {})
        return jwt.encode(
            payload,
            overrides.get("key", signing_key.private_key),
            algorithm=overrides.get("algorithm", "RS256"),
            headers=header,
        )

    return sign


def basic_auth(client_id, secret):
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


CHROMIUM = "/usr/bin/chromium"
# Flags for headless Chromium as root on a machine with no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright; never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package.")
    # Playwright's sync API runs an event loop in this thread, and Django
    # rejects ORM calls next to one unless this variable allows them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
