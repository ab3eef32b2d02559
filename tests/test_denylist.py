import jwt
import pytest

from scopes import denylist
from tests.conftest import bearer

SECURE = "/api/ping/secure"


@pytest.fixture
def with_denylist(settings):
    settings.GATEHOUSE_SCOPES = {
        **settings.GATEHOUSE_SCOPES,
        "DENYLIST_CACHE": "default",
    }


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_revoked_token_rejected(client, make_token, with_denylist):
    token = make_token()
    claims = claims_of(token)
    denylist.revoke(claims["jti"], claims["exp"])
    response = client.get(SECURE, **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token was revoked."
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_other_tokens_still_accepted(client, make_token, with_denylist):
    revoked = make_token()
    claims = claims_of(revoked)
    denylist.revoke(claims["jti"], claims["exp"])
    assert client.get(SECURE, **bearer(make_token())).status_code == 200


def test_denylist_off_by_default(client, make_token):
    assert not denylist.enabled()
    with pytest.raises(RuntimeError, match="DENYLIST_CACHE"):
        denylist.revoke("jti", 0)


def test_denylist_entry_expires_with_token(with_denylist, settings):
    denylist.revoke("old-jti", 0)
    assert denylist.is_revoked("old-jti")  # kept for at least one second


def test_denylist_hostile_jti(with_denylist):
    jti = "x" * 5000 + " \n\x00é"
    denylist.revoke(jti, 2**31)
    assert denylist.is_revoked(jti)
    assert not denylist.is_revoked("another")
