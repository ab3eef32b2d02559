"""
Tokens of outside identity providers, verified against a JWK Set that a real
HTTP server on loopback serves.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ImproperlyConfigured

from scopes.conf import scopes_settings
from tests.conftest import bearer

OUTSIDE_ISSUER = "https://idp.example.com/"
PING = "https://ping.example.com/api"
SECURE = "/api/ping/secure"


class JWKSServer:
    """A JWK Set server whose responses each test controls."""

    def __init__(self):
        self.document = {"keys": []}
        self.status = 200
        self.delay = 0
        self.redirect_to = None
        self.raw_body = None
        self.paths = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.paths.append(self.path)
                time.sleep(server.delay)
                if server.redirect_to and self.path == "/jwks":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.end_headers()
                    return
                body = server.raw_body or json.dumps(server.document).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/jwks"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), daemon=True
        )
        self.thread.start()

    @property
    def fetches(self):
        return self.paths.count("/jwks")

    def publish(self, *keys):
        self.document = {"keys": [key.jwk for key in keys]}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class OutsideKey:
    """A key pair of the outside issuer, with its public JWK."""

    def __init__(self, kid, algorithm="RS256", declare_alg=True):
        self.kid = kid
        self.algorithm = algorithm
        if algorithm.startswith(("RS", "PS")):
            self.private_key = rsa.generate_private_key(
                public_exponent=65537, key_size=2048
            )
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(
                self.private_key.public_key(), as_dict=True
            )
        elif algorithm == "ES256":
            self.private_key = ec.generate_private_key(ec.SECP256R1())
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(
                self.private_key.public_key(), as_dict=True
            )
        else:
            self.private_key = ed25519.Ed25519PrivateKey.generate()
            jwk = jwt.algorithms.OKPAlgorithm.to_jwk(
                self.private_key.public_key(), as_dict=True
            )
        self.jwk = {**jwk, "kid": kid, "use": "sig"}
        if declare_alg:
            self.jwk["alg"] = algorithm

    def token(self, claims=None, headers=None, algorithm=None):
        now = int(time.time())
        payload = {
            "iss": OUTSIDE_ISSUER,
            "sub": "user|42",
            "aud": PING,
            "iat": now,
            "exp": now + 600,
            "jti": f"outside-{time.monotonic_ns()}",
        }
        payload.update(claims or {})
        header = {"kid": self.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(
            payload,
            self.private_key,
            algorithm=algorithm or self.algorithm,
            headers=header,
        )


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def trust(settings, jwks_server):
    """Trust the outside issuer, with the given overrides of its settings."""

    def trust(**overrides):
        entry = {
            "ISSUER": OUTSIDE_ISSUER,
            "JWKS_URI": jwks_server.url,
            "AUDIENCES": [PING],
            "ALGORITHMS": ["RS256", "ES256", "EdDSA"],
        }
        entry.update(overrides.pop("entry", {}))
        settings.GATEHOUSE_SCOPES = {
            **settings.GATEHOUSE_SCOPES,
            "TRUSTED_ISSUERS": [entry],
            "JWKS_TIMEOUT_SECONDS": 1,
            **overrides,
        }
        return scopes_settings.issuers[OUTSIDE_ISSUER]

    return trust


@pytest.fixture
def key_a():
    return OutsideKey("key-a")


def test_outside_token_accepted(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_outside_other_algorithms(client, db, jwks_server, trust, algorithm):
    key = OutsideKey("key-x", algorithm)
    jwks_server.publish(key)
    trust()
    assert client.get(SECURE, **bearer(key.token())).status_code == 200


def test_outside_jwk_without_alg(client, db, jwks_server, trust):
    key = OutsideKey("key-n", declare_alg=False)
    jwks_server.publish(key)
    trust()
    assert client.get(SECURE, **bearer(key.token())).status_code == 200


def test_outside_algorithm_not_allowed(client, db, jwks_server, trust):
    key = OutsideKey("key-n", declare_alg=False)
    jwks_server.publish(key)
    trust()
    response = client.get(SECURE, **bearer(key.token(algorithm="RS384")))
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token algorithm is not accepted."


def test_outside_scp_claim(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    token = key_a.token({"scp": ["read:messages"]})
    assert client.get("/api/messages", **bearer(token)).status_code == 200


def test_outside_permissions_claim(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    token = key_a.token({"permissions": ["create:messages"]})
    response = client.post(
        "/api/messages",
        {"text": "hi"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201


def test_outside_wrong_audience(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    token = key_a.token({"aud": "https://elsewhere.example.com/"})
    response = client.get(SECURE, **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token is not meant for this API."


def test_outside_audiences_list(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust(entry={"AUDIENCES": ["urn:first", PING]})
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200


def test_outside_key_cannot_sign_local_tokens(client, ping_api, jwks_server, trust):
    # A key of the outside issuer, under Gatehouse's iss: checked against
    # Gatehouse's keys only, where its kid is unknown.
    key = OutsideKey("key-a")
    jwks_server.publish(key)
    trust()
    from django.conf import settings as django_settings

    token = key.token({"iss": django_settings.GATEHOUSE_ISSUER})
    response = client.get(SECURE, **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The access token is signed with an unknown key."
    )


def test_local_key_cannot_sign_outside_tokens(client, sign, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    token = sign({"iss": OUTSIDE_ISSUER})
    response = client.get(SECURE, **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The access token is signed with an unknown key."
    )


def test_local_tokens_need_no_fetch(client, make_token, jwks_server, trust):
    trust()
    assert client.get(SECURE, **bearer(make_token())).status_code == 200
    assert jwks_server.fetches == 0


def test_keys_cached_between_requests(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust()
    for _ in range(5):
        assert client.get(SECURE, **bearer(key_a.token())).status_code == 200
    assert jwks_server.fetches == 1


def test_rotation_at_issuer(client, db, jwks_server, trust, key_a):
    key_b = OutsideKey("key-b")
    jwks_server.publish(key_a)
    trust(JWKS_REFETCH_COOLDOWN_SECONDS=0)
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200

    jwks_server.publish(key_a, key_b)
    assert client.get(SECURE, **bearer(key_b.token())).status_code == 200
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200
    assert jwks_server.fetches == 2


def test_unknown_kid_storm_fetches_once(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust(JWKS_REFETCH_COOLDOWN_SECONDS=60)
    client.get(SECURE, **bearer(key_a.token()))
    for index in range(30):
        forged = OutsideKey(f"made-up-{index}")
        response = client.get(SECURE, **bearer(forged.token()))
        assert response.status_code == 401
    # The first fetch opened the cooldown, so no kid could start another.
    assert jwks_server.fetches == 1


def test_issuer_down_keeps_last_keys(client, db, jwks_server, trust, key_a, caplog):
    jwks_server.publish(key_a)
    trust(JWKS_CACHE_SECONDS=0, JWKS_REFETCH_COOLDOWN_SECONDS=0)
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200

    jwks_server.status = 500
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200
    assert jwks_server.fetches == 2
    assert "keeping the last good keys" in caplog.text


def test_issuer_unreachable_keeps_last_keys(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust(JWKS_CACHE_SECONDS=0, JWKS_REFETCH_COOLDOWN_SECONDS=0)
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200

    jwks_server.close()
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200


def test_issuer_never_reachable(client, db, jwks_server, trust, key_a):
    jwks_server.status = 503
    trust()
    response = client.get(SECURE, **bearer(key_a.token()))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_slow_issuer_times_out(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    jwks_server.delay = 3
    trust(JWKS_TIMEOUT_SECONDS=0.5)
    response = client.get(SECURE, **bearer(key_a.token()))
    assert response.status_code == 401
    assert jwks_server.fetches == 1


def test_redirect_not_followed(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    jwks_server.redirect_to = jwks_server.url.replace("/jwks", "/elsewhere")
    trust()
    response = client.get(SECURE, **bearer(key_a.token()))
    assert response.status_code == 401
    assert "/elsewhere" not in jwks_server.paths


def test_oversized_jwks_rejected(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust(JWKS_MAX_BYTES=100)
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 401


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"keys": "none"}', b'{"keys": [1, "x", null]}']
)
def test_broken_jwks_document(client, db, jwks_server, trust, key_a, body):
    jwks_server.raw_body = body
    trust()
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 401


def test_symmetric_jwk_ignored(client, db, jwks_server, trust):
    secret = b"s" * 32
    jwks_server.document = {
        "keys": [
            {
                "kty": "oct",
                "kid": "shared",
                "k": "c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M",
            }
        ]
    }
    trust(entry={"ALGORITHMS": ["RS256"]})
    now = int(time.time())
    token = jwt.encode(
        {"iss": OUTSIDE_ISSUER, "sub": "x", "aud": PING, "iat": now, "exp": now + 60},
        secret,
        algorithm="HS256",
        headers={"kid": "shared", "typ": "at+jwt"},
    )
    assert client.get(SECURE, **bearer(token)).status_code == 401


def test_duplicate_kids_ignored(client, db, jwks_server, trust, key_a):
    twin = OutsideKey("key-a")
    jwks_server.publish(key_a, twin)
    trust()
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 401


def test_encryption_jwk_ignored(client, db, jwks_server, trust, key_a):
    key_a.jwk["use"] = "enc"
    jwks_server.publish(key_a)
    trust()
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 401


def test_per_issuer_token_types(client, db, jwks_server, trust, key_a):
    jwks_server.publish(key_a)
    trust(entry={"ACCEPTED_TOKEN_TYPES": ["at+jwt"]})
    token = key_a.token(headers={"typ": "JWT"})
    assert client.get(SECURE, **bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"JWKS_URI": "http://idp.example.com/jwks"}, "https"),
        ({"JWKS_URI": "file:///etc/passwd"}, "https"),
        ({"JWKS_URI": None}, "https"),
        ({"AUDIENCES": []}, "AUDIENCES"),
        ({"AUDIENCES": PING}, "AUDIENCES"),
        ({"ALGORITHMS": ["HS256"]}, "ALGORITHMS"),
        ({"ALGORITHMS": ["none"]}, "ALGORITHMS"),
        ({"ISSUER": ""}, "ISSUER"),
    ],
)
def test_trusted_issuer_misconfigured(trust, entry, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        trust(entry=entry)


def test_no_issuer_misconfigured(settings):
    settings.GATEHOUSE_SCOPES = {"REALM": "x"}
    with pytest.raises(ImproperlyConfigured, match="trusts no issuer"):
        scopes_settings.issuers  # noqa: B018


def test_only_outside_issuer(client, settings, jwks_server, key_a, db):
    jwks_server.publish(key_a)
    settings.GATEHOUSE_SCOPES = {
        "TRUSTED_ISSUERS": [
            {"ISSUER": OUTSIDE_ISSUER, "JWKS_URI": jwks_server.url, "AUDIENCES": [PING]}
        ]
    }
    assert client.get(SECURE, **bearer(key_a.token())).status_code == 200
