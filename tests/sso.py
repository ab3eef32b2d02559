"""
A real OpenID provider for the single sign-on tests, and ways to sign in at it.

The provider is node-oidc-provider, run by `tests/oidc_provider/server.mjs` on
a loopback port for the whole test session.
"""

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
CLIENT_SECRET = "test-client-secret-with:odd/characters+0123456789"
ACCOUNTS = {
    # Admitted by the email domain example.com, and mapped to two groups.
    "alice": {
        "email": "alice@example.com",
        "email_verified": True,
        "given_name": "Alice",
        "family_name": "Admin",
        "groups": ["gatehouse-admins", "key-managers"],
    },
    # Known to the provider, outside the domain and the groups: refused.
    "bob": {"email": "bob@other.test", "email_verified": True, "groups": ["sales"]},
    # In the domain, but the provider has not verified the address: refused.
    "carol": {"email": "carol@example.com", "email_verified": False},
    # Outside the domain, admitted by the group gatehouse-admins.
    "dave": {
        "email": "dave@contractor.test",
        "email_verified": True,
        "groups": ["gatehouse-admins"],
    },
    # Made superuser by the group platform-root.
    "erin": {
        "email": "erin@example.com",
        "email_verified": True,
        "groups": ["platform-root"],
    },
}
TEST_SERVER = "http://testserver"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    def __init__(self, port, spare_origin):
        self.issuer = f"http://127.0.0.1:{port}"
        # Registered too, for a Gatehouse server that a test starts itself.
        self.spare_origin = spare_origin

    def hits(self, path):
        return requests.get(f"{self.issuer}/__hits", timeout=5).json().get(path, 0)

    def set_account(self, login, claims):
        response = requests.put(
            f"{self.issuer}/__accounts/{login}", data=json.dumps(claims), timeout=5
        )
        response.raise_for_status()


def client(client_id, origins, alg="RS256", auth_method="client_secret_basic"):
    return {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{origin}/admin/sso/callback/" for origin in origins],
        "post_logout_redirect_uris": [f"{origin}/admin/login/" for origin in origins],
        "token_endpoint_auth_method": auth_method,
        "id_token_signed_response_alg": alg,
    }


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules").exists():
        pytest.fail(
            "The test OpenID provider needs Node.js and `npm ci --prefix "
            "tests/oidc_provider`, which `make test` runs."
        )

    port = free_port()
    spare_origin = f"http://127.0.0.1:{free_port()}"
    origins = [TEST_SERVER, live_server.url, spare_origin]
    config = {
        "port": port,
        "clients": [
            client("gatehouse", origins),
            client("gatehouse-es", origins, alg="ES256"),
            client("other-app", origins),
            client("gatehouse-post", origins, auth_method="client_secret_post"),
        ],
        "accounts": ACCOUNTS,
    }

    folder = tmp_path_factory.mktemp("oidc_provider")
    (folder / "config.json").write_text(json.dumps(config))
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        [node, str(PROVIDER_DIR / "server.mjs"), str(folder / "config.json")],
        cwd=PROVIDER_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    provider = Provider(port, spare_origin)
    for _ in range(100):
        try:
            requests.get(f"{provider.issuer}/jwks", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    else:
        process.kill()
        process.wait(10)
    if process.poll() is not None:
        pytest.fail(f"The test OpenID provider did not start; see {log.name}.")
    yield provider
    process.terminate()
    process.wait(10)
    log.close()


def sso_config(issuer, **overrides):
    return {
        "CLIENT_ID": "gatehouse",
        "CLIENT_SECRET": CLIENT_SECRET,
        "ISSUER": issuer,
        "DISCOVERY_URL": "",
        "ENDPOINTS": {},
        "SIGNING_ALGORITHMS": ["RS256"],
        "TOKEN_AUTH_METHOD": "client_secret_basic",
        "SCOPES": "openid email profile groups",
        "ALLOWED_DOMAINS": ["example.com"],
        "REQUIRE_VERIFIED_EMAIL": True,
        "GROUPS_CLAIM": "groups",
        "ALLOWED_GROUPS": ["gatehouse-admins"],
        "GROUP_MAP": {
            "key-managers": ["Key managers"],
            "gatehouse-admins": ["Token testers"],
        },
        "SUPERUSER_GROUPS": ["platform-root"],
        "BUTTON_LABEL": "Log in with SSO",
        "SESSION_SECONDS": 3600,
        "TIMEOUT_SECONDS": 5,
        **overrides,
    }


@pytest.fixture
def sso(settings, oidc_provider):
    """Single sign-on on, against the test provider, as the settings set it."""
    settings.GATEHOUSE_SSO = sso_config(oidc_provider.issuer)
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "apis.sso.backend.SingleSignOnBackend",
    ]
    settings.ROOT_URLCONF = "tests.sso_urls"
    return settings.GATEHOUSE_SSO


def at_provider(url, login, origin=TEST_SERVER):
    """
    Do what a browser does at the provider: follow its redirects and sign in
    as `login`. Return the URL the provider sends the browser back to.
    """
    session = requests.Session()
    response = session.get(url, allow_redirects=False, timeout=5)
    for _ in range(10):
        if response.status_code in (302, 303):
            url = urljoin(response.url, response.headers["Location"])
            if url.startswith(origin):
                return url
            response = session.get(url, allow_redirects=False, timeout=5)
        elif response.status_code == 200 and 'name="login"' in response.text:
            response = session.post(
                response.url, data={"login": login}, allow_redirects=False, timeout=5
            )
        else:
            raise AssertionError(
                f"The provider answered {response.status_code}: {response.text[:300]}"
            )
    raise AssertionError("The provider never sent the browser back.")


def start(client, next_url=None):
    """Press "Log in with SSO"; return the provider's authorization URL."""
    path = "/admin/sso/login/"
    response = client.get(path, {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content
    return response["Location"]


def sign_in(client, login, next_url=None):
    """Sign in; return Gatehouse's response to the callback, and its URL."""
    callback = at_provider(start(client, next_url), login)
    return client.get(local(callback)), callback


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def query(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
