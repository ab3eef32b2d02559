import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from apis.keys import create_signing_key, key_ring
from apis.models import SigningKey
from tests.conftest import bearer

SECURE = "/api/ping/secure"


def b64(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_invalid_token(response, description=None):
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_token"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="gatehouse", error="invalid_token"')
    if description is not None:
        assert response.json()["detail"] == description
        assert f'error_description="{description}"' in challenge


def test_valid_token_accepted(client, make_token):
    response = client.get(SECURE, **bearer(make_token()))
    assert response.status_code == 200


def test_bearer_scheme_case_insensitive(client, make_token):
    response = client.get(SECURE, HTTP_AUTHORIZATION=f"bEaReR {make_token()}")
    assert response.status_code == 200


def test_several_spaces_after_scheme(client, make_token):
    # RFC 6750 section 2.1: "Bearer" 1*SP b64token.
    response = client.get(SECURE, HTTP_AUTHORIZATION=f"Bearer   {make_token()}")
    assert response.status_code == 200


def test_no_token_challenge_without_error(client, db):
    response = client.get(SECURE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="gatehouse"'
    assert response.json()["code"] == "not_authenticated"


def test_other_scheme_is_no_token(client, db):
    response = client.get(SECURE, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="gatehouse"'


def test_session_cookie_never_authenticates(client, admin_user):
    client.force_login(admin_user)
    response = client.get(SECURE)
    assert response.status_code == 401


def test_token_in_query_string_ignored(client, make_token):
    response = client.get(SECURE, {"access_token": make_token()})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="gatehouse"'


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer a b", "Bearer a,Bearer b", "Bearer a, b"],
)
def test_malformed_header_invalid_request(client, db, header):
    response = client.get(SECURE, HTTP_AUTHORIZATION=header)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert 'error="invalid_request"' in response["WWW-Authenticate"]


def test_expired_token(client, sign):
    now = int(time.time())
    token = sign({"iat": now - 7200, "exp": now - 3600})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token expired."
    )


def test_expiry_within_leeway_accepted(client, sign):
    now = int(time.time())
    token = sign({"iat": now - 600, "exp": now - 30})
    assert client.get(SECURE, **bearer(token)).status_code == 200


def test_leeway_setting(client, sign, settings):
    settings.GATEHOUSE_SCOPES = {**settings.GATEHOUSE_SCOPES, "LEEWAY_SECONDS": 0}
    now = int(time.time())
    token = sign({"iat": now - 600, "exp": now - 30})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_not_before_in_future(client, sign):
    token = sign({"nbf": int(time.time()) + 3600})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token is not valid yet."
    )


def test_issued_far_in_future(client, sign):
    now = int(time.time())
    token = sign({"iat": now + 3600, "exp": now + 7200})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_wrong_audience(client, sign):
    token = sign({"aud": "https://other.example.com/"})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)),
        "The access token is not meant for this API.",
    )


def test_audience_list_containing_ours(client, sign):
    token = sign({"aud": ["https://other.example.com/", settings.PING_API_IDENTIFIER]})
    assert client.get(SECURE, **bearer(token)).status_code == 200


def test_audience_list_without_ours(client, sign):
    token = sign({"aud": ["https://other.example.com/"]})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


@pytest.mark.parametrize(
    "issuer",
    [
        "https://evil.example.com/",
        settings.GATEHOUSE_ISSUER + "evil",
        settings.GATEHOUSE_ISSUER.rstrip("/"),
        "prefix" + settings.GATEHOUSE_ISSUER,
    ],
)
def test_wrong_issuer(client, sign, issuer):
    token = sign({"iss": issuer})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)),
        "The access token comes from an untrusted issuer.",
    )


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_missing_required_claim(client, sign, claim):
    token = sign({claim: None})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), f"The access token has no {claim} claim."
    )


@pytest.mark.parametrize("exp", ["tomorrow", None, [1], 1e400])
def test_exp_not_a_number(client, sign, exp):
    token = sign({"exp": exp} if exp is not None else {"exp": "null"})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_bad_signature(client, make_token):
    token = make_token()
    head, payload, signature = token.split(".")
    tampered = b64(
        {**json.loads(base64.urlsafe_b64decode(payload + "==")), "scope": "admin"}
    )
    response = client.get(SECURE, **bearer(f"{head}.{tampered}.{signature}"))
    assert_invalid_token(response, "The access token signature is invalid.")


def test_signature_from_foreign_key(client, sign):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign(key=foreign)
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token signature is invalid."
    )


def test_alg_none_unsigned(client, sign):
    _, payload, _ = sign().split(".")
    header = {"alg": "none", "typ": "at+jwt", "kid": key_ring.signing_key().kid}
    for unsigned in [f"{b64(header)}.{payload}.", f"{b64(header)}.{payload}.AAAA"]:
        assert_invalid_token(client.get(SECURE, **bearer(unsigned)))


def test_hs256_keyed_with_public_key(client, sign):
    signing_key = key_ring.signing_key()
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signing_key.kid}
    token = sign()
    _, payload, _ = token.split(".")
    signing_input = f"{b64(header)}.{payload}".encode()
    mac = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    forged = f"{signing_input.decode()}.{b64(mac)}"
    assert_invalid_token(
        client.get(SECURE, **bearer(forged)),
        "The access token algorithm does not match its key.",
    )


def test_unknown_kid(client, sign):
    token = sign(headers={"kid": "no-such-key"})
    assert_invalid_token(
        client.get(SECURE, **bearer(token)),
        "The access token is signed with an unknown key.",
    )


@pytest.mark.parametrize("kid", ["../../etc/passwd", "' OR 1=1 --", ""])
def test_hostile_kid(client, sign, kid):
    token = sign(headers={"kid": kid})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


@pytest.mark.parametrize("kid", [7, None, ["a"]])
def test_kid_not_a_string(client, sign, kid):
    _, payload, _ = sign().split(".")
    header = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    signing_input = f"{b64(header)}.{payload}".encode()
    signature = key_ring.signing_key().private_key.sign(
        signing_input, padding.PKCS1v15(), hashes.SHA256()
    )
    token = f"{signing_input.decode()}.{b64(signature)}"
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_wrong_registered_kid(client, sign):
    signing_key = key_ring.signing_key()
    other, _ = create_signing_key("RS256", SigningKey.State.PREVIOUS, "test")
    key_ring.clear()
    token = sign(headers={"kid": other.kid}, key=signing_key.private_key)
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token signature is invalid."
    )


def test_crit_header_rejected(client, sign):
    token = sign(headers={"crit": ["exp"]})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


@pytest.mark.parametrize("typ", [None, "JOSE", "id_token", "jwt+id"])
def test_typ_not_access_token(client, sign, typ):
    token = sign(headers={"typ": typ})
    if typ is None:
        head, payload, signature = token.split(".")
        header = json.loads(base64.urlsafe_b64decode(head + "=="))
        header.pop("typ", None)
        token = f"{b64(header)}.{payload}.{signature}"
    assert_invalid_token(client.get(SECURE, **bearer(token)))


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "AT+JWT", "application/at+jwt"])
def test_typ_accepted(client, sign, typ):
    token = sign(headers={"typ": typ})
    assert client.get(SECURE, **bearer(token)).status_code == 200


def test_embedded_jwk_and_jku_ignored(client, sign):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(foreign.public_key(), as_dict=True)
    token = sign(
        headers={"jwk": jwk, "jku": "http://127.0.0.1:9/keys", "x5u": "http://x"},
        key=foreign,
    )
    assert_invalid_token(client.get(SECURE, **bearer(token)))


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "!!!.???.###",
        "%%%.%%%.%%%",
    ],
)
def test_malformed_tokens(client, db, token):
    response = client.get(SECURE, **bearer(token))
    assert response.status_code in {400, 401}
    assert response.json()["code"] in {"invalid_token", "invalid_request"}


def test_payload_not_json(client, sign):
    head, _, _ = sign().split(".")
    assert_invalid_token(client.get(SECURE, **bearer(f"{head}.{b64(b'not json')}.AA")))


def test_payload_not_object(client, sign):
    head, _, _ = sign().split(".")
    assert_invalid_token(client.get(SECURE, **bearer(f"{head}.{b64([1, 2])}.AA")))


def test_header_not_object(client, sign):
    _, payload, signature = sign().split(".")
    token = f"{b64('string')}.{payload}.{signature}"
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_token_over_size_limit(client, db):
    token = "a" * 8193
    assert_invalid_token(
        client.get(SECURE, **bearer(token)),
        "The access token is longer than 8192 characters.",
    )


def test_non_ascii_token(client, db):
    response = client.get(SECURE, HTTP_AUTHORIZATION="Bearer tökén")
    assert_invalid_token(response)


def test_control_character_token(client, db):
    response = client.get(SECURE, HTTP_AUTHORIZATION="Bearer abc\x01def")
    assert_invalid_token(response)


@pytest.mark.parametrize("scope", [42, {"a": 1}, [1, 2]])
def test_scope_claim_wrong_type(client, sign, scope):
    token = sign({"scope": scope})
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_validation_makes_no_query(client, make_token, django_assert_num_queries):
    token = make_token()
    client.get(SECURE, **bearer(token))  # loads the key ring
    with django_assert_num_queries(0):
        response = client.get(SECURE, **bearer(token))
    assert response.status_code == 200


def test_unknown_kid_storm_bounded(client, sign, django_assert_max_num_queries):
    client.get(SECURE, **bearer(sign()))
    with django_assert_max_num_queries(1):
        for index in range(20):
            client.get(SECURE, **bearer(sign(headers={"kid": f"made-up-{index}"})))


def test_principal_exposes_claims(client, make_token):
    token = make_token(scopes=["read:messages"])
    claims = client.get("/api/claims", **bearer(token)).json()
    assert claims["scope"] == "read:messages"
    assert claims["gty"] == "client-credentials"
    assert claims["sub"] == f"{claims['client_id']}@clients"


def test_rejection_logs_no_token(client, sign, caplog):
    caplog.set_level("DEBUG")
    token = sign({"aud": "https://other.example.com/"})
    client.get(SECURE, **bearer(token))
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["1796400000", True, 10**400, -5])
def test_numeric_date_types(client, sign, claim, value):
    now = int(time.time())
    claims = {"iat": now, "exp": now + 600, "nbf": now}
    claims[claim] = value
    token = sign(claims)
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_fractional_numeric_dates_accepted(client, sign):
    now = time.time()
    token = sign({"iat": now, "exp": now + 600.5})
    assert client.get(SECURE, **bearer(token)).status_code == 200


def test_jwe_rejected(client, db):
    header = b64({"alg": "RSA-OAEP", "enc": "A256GCM", "typ": "at+jwt"})
    jwe = f"{header}.{b64(b'key')}.{b64(b'iv')}.{b64(b'ciphertext')}.{b64(b'tag')}"
    assert_invalid_token(
        client.get(SECURE, **bearer(jwe)), "The access token is malformed."
    )


def test_embedded_x5c_ignored(client, sign):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign(headers={"x5c": ["MIIBfake"]}, key=foreign)
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token signature is invalid."
    )


def test_verified_token_cache_skips_verification(client, make_token, monkeypatch):
    from scopes.authentication import BearerTokenAuthentication

    calls = []
    original = BearerTokenAuthentication.verify

    def counting(self, token):
        calls.append(token)
        return original(self, token)

    monkeypatch.setattr(BearerTokenAuthentication, "verify", counting)
    token = make_token()
    for _ in range(3):
        assert client.get(SECURE, **bearer(token)).status_code == 200
    assert len(calls) == 1


def test_cached_token_still_expires(client, sign, settings):
    settings.GATEHOUSE_SCOPES = {**settings.GATEHOUSE_SCOPES, "LEEWAY_SECONDS": 0}
    now = int(time.time())
    token = sign({"iat": now, "exp": now + 5})
    assert client.get(SECURE, **bearer(token)).status_code == 200
    time.sleep(max(0, now + 5 - time.time()) + 1)  # until the token has expired
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_cached_token_rejected_after_key_revocation(client, make_token):
    from apis.keys import ensure_signing_keys, revoke, rotate

    token = make_token()
    assert client.get(SECURE, **bearer(token)).status_code == 200
    kid = jwt.get_unverified_header(token)["kid"]
    SigningKey.objects.filter(state="next").update(created_at="2000-01-01T00:00Z")
    rotate("RS256", actor="test")
    revoke(kid, actor="test")
    assert ensure_signing_keys("RS256").kid != kid
    assert_invalid_token(client.get(SECURE, **bearer(token)))


def test_cached_token_rejected_after_denylisting(client, make_token, settings):
    from scopes import denylist

    settings.GATEHOUSE_SCOPES = {
        **settings.GATEHOUSE_SCOPES,
        "DENYLIST_CACHE": "default",
    }
    token = make_token()
    assert client.get(SECURE, **bearer(token)).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    denylist.revoke(claims["jti"], claims["exp"])
    assert_invalid_token(
        client.get(SECURE, **bearer(token)), "The access token was revoked."
    )
