"""Outside clients against the running server, over real HTTP."""

import jwt
import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

PING = "https://ping.example.com/api"


@pytest.fixture(autouse=True)
def allow_loopback_http(monkeypatch):
    # oauthlib insists on https; the live server speaks plain HTTP on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_oauth_client_library_flow(live_server, make_application):
    application, secret = make_application(scopes=["read:messages"])
    session = OAuth2Session(client=BackendApplicationClient(application.client_id))
    token = session.fetch_token(
        token_url=f"{live_server.url}/oauth/token",
        auth=HTTPBasicAuth(application.client_id, secret),
        audience=PING,
    )
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["read:messages"]

    response = session.get(f"{live_server.url}/api/messages")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_oauth_client_library_post_credentials(live_server, make_application):
    application, secret = make_application(scopes=["create:messages"])
    session = OAuth2Session(client=BackendApplicationClient(application.client_id))
    session.fetch_token(
        token_url=f"{live_server.url}/oauth/token",
        client_id=application.client_id,
        client_secret=secret,
        include_client_id=True,
    )
    response = session.post(f"{live_server.url}/api/messages", json={"text": "hi"})
    assert response.status_code == 201
    denied = session.get(f"{live_server.url}/api/messages")
    assert denied.status_code == 403


def test_pyjwkclient_verifies_token(live_server, make_application, settings):
    application, secret = make_application(scopes=["read:messages"])
    response = requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials", "audience": PING},
        auth=(application.client_id, secret),
        timeout=10,
    )
    access_token = response.json()["access_token"]

    jwks_client = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json")
    signing_key = jwks_client.get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["RS256"],
        audience=PING,
        issuer=settings.GATEHOUSE_ISSUER,
    )
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "read:messages"
