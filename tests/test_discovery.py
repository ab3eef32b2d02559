import base64
import hashlib
import json

import pytest
from django.conf import settings

from apis.keys import key_ring
from apis.models import SigningKey

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def test_jwks_publishes_current_and_next_keys(client, db):
    signing_key = key_ring.signing_key()
    next_key = SigningKey.objects.get(state="next")
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert {key["kid"] for key in keys} == {signing_key.kid, next_key.kid}
    key = next(key for key in keys if key["kid"] == signing_key.kid)
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert "key_ops" not in key
    assert not PRIVATE_MEMBERS & set(key)


def test_jwks_cache_control(client, db):
    response = client.get("/.well-known/jwks.json")
    assert response["Cache-Control"] == "public, max-age=300"


def test_jwks_kid_is_rfc7638_thumbprint(client, db):
    key_ring.signing_key()
    key = client.get("/.well-known/jwks.json").json()["keys"][0]
    canonical = json.dumps(
        {"e": key["e"], "kty": key["kty"], "n": key["n"]}, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    assert key["kid"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_jwks_key_is_2048_bits(client, db):
    key_ring.signing_key()
    key = client.get("/.well-known/jwks.json").json()["keys"][0]
    modulus = base64.urlsafe_b64decode(key["n"] + "==")
    assert len(modulus) * 8 == 2048


def test_jwks_leaves_out_revoked_keys(client, db):
    key_ring.signing_key()
    SigningKey.objects.filter(state="next").update(state="revoked")
    key_ring.clear()
    kids = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {key_ring.signing_key().kid}


def test_jwks_generates_keys_on_first_use(client, db):
    response = client.get("/.well-known/jwks.json")
    assert len(response.json()["keys"]) == 2


@pytest.mark.parametrize(
    "path",
    ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"],
)
def test_metadata(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    issuer = settings.GATEHOUSE_ISSUER
    assert response.json() == {
        "issuer": issuer,
        "token_endpoint": f"{issuer}oauth/token",
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "response_types_supported": [],
    }


def test_metadata_post_not_allowed(client, db):
    response = client.post("/.well-known/openid-configuration")
    assert response.status_code == 405
