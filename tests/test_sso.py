"""
Single sign-on for the admin, against a real OpenID provider on loopback.

The Django test client plays Gatehouse's side and `requests` plays the
browser at the provider, so every check of the sign-in runs on real tokens.
"""

import base64
import hashlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from urllib.parse import quote, urlencode

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from apis.models import SingleSignOnIdentity
from apis.sso import admission, conf, provider
from apis.sso.backend import SignInFailed, SingleSignOnBackend
from tests.sso import (
    ACCOUNTS,
    CLIENT_SECRET,
    TEST_SERVER,
    at_provider,
    free_port,
    local,
    query,
    sign_in,
    sso_config,
    start,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def groups(db):
    return {
        name: Group.objects.create(name=name)
        for name in ("Key managers", "Token testers", "Auditors")
    }


def assert_failure(response, status, text):
    assert response.status_code == status, response.content
    assert "admin/sso_failed.html" in [t.name for t in response.templates]
    assert text in response.content.decode()


# Admission and rights.


def test_admitted_person_lands_in_admin_with_mapped_groups(client, sso, groups):
    response, _ = sign_in(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    user = User.objects.get(email="alice@example.com")
    assert user.is_staff and not user.is_superuser
    assert not user.has_usable_password()
    assert (user.first_name, user.last_name) == ("Alice", "Admin")
    assert {g.name for g in user.groups.all()} == {"Key managers", "Token testers"}
    identity = SingleSignOnIdentity.objects.get(user=user)
    assert identity.issuer == sso["ISSUER"]
    assert identity.subject == "alice"
    assert client.get("/admin/").status_code == 200
    assert 3590 <= client.session.get_expiry_age() <= sso["SESSION_SECONDS"]


def test_session_end_is_fixed(client, sso):
    sign_in(client, "alice")
    end = client.session.get_expiry_date()

    # Starting another sign-in saves the session, and must not extend it.
    client.get("/admin/sso/login/")
    client.get("/admin/")

    assert client.session.get_expiry_date() == end


def test_pending_sign_in_session_is_short(client, sso):
    start(client)

    assert client.session.get_expiry_age() <= 600


def test_admitted_by_group_outside_the_domain(client, sso, groups):
    response, _ = sign_in(client, "dave")

    assert response.status_code == 302
    user = User.objects.get(email="dave@contractor.test")
    assert [g.name for g in user.groups.all()] == ["Token testers"]


def test_superuser_group_makes_a_superuser(client, sso):
    sign_in(client, "erin")

    assert User.objects.get(email="erin@example.com").is_superuser


def test_next_url_is_kept_and_checked(client, sso):
    response, _ = sign_in(client, "alice", next_url="/admin/apis/api/")
    assert response["Location"] == "/admin/apis/api/"

    client.logout()
    response, _ = sign_in(client, "alice", next_url="https://evil.test/")
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("login", "text"),
    [
        ("bob", "bob@other.test is not allowed into this admin"),
        ("carol", "has not verified the email address carol@example.com"),
    ],
)
def test_rejection_logged_without_account(client, sso, caplog, login, text):
    users_before = User.objects.count()
    with caplog.at_level(logging.WARNING, logger="apis.sso"):
        response, _ = sign_in(client, login)

    assert_failure(response, 403, text)
    assert User.objects.count() == users_before
    assert not SingleSignOnIdentity.objects.exists()
    assert "_auth_user_id" not in client.session
    assert "oidc_id_token" not in client.session
    assert any(
        "Single sign-on rejected" in record.getMessage()
        and login in record.getMessage()
        for record in caplog.records
    )


def test_unverified_email_admitted_when_the_setting_allows(client, sso, settings):
    settings.GATEHOUSE_SSO = {**sso, "REQUIRE_VERIFIED_EMAIL": False}

    response, _ = sign_in(client, "carol")

    assert response.status_code == 302
    # Without verification, the address names neither the account nor its email.
    user = SingleSignOnIdentity.objects.get(subject="carol").user
    assert user.username.startswith("sso-")
    assert user.email == ""


def test_groups_follow_the_provider_at_each_sign_in(client, sso, groups, oidc_provider):
    sign_in(client, "alice")
    user = User.objects.get(email="alice@example.com")
    user.groups.add(groups["Auditors"])  # Given by hand, outside the map.
    client.logout()
    claims = {**sso_claims("alice"), "groups": ["gatehouse-admins"]}
    oidc_provider.set_account("alice", claims)
    try:
        sign_in(client, "alice")
    finally:
        oidc_provider.set_account("alice", sso_claims("alice"))

    assert {g.name for g in user.groups.all()} == {"Token testers", "Auditors"}
    assert User.objects.filter(email="alice@example.com").count() == 1


def test_person_who_loses_access_is_rejected_next_time(client, sso, oidc_provider):
    sign_in(client, "dave")
    client.logout()
    oidc_provider.set_account("dave", {**sso_claims("dave"), "groups": []})
    try:
        response, _ = sign_in(client, "dave")
    finally:
        oidc_provider.set_account("dave", sso_claims("dave"))

    assert_failure(response, 403, "is not allowed into this admin")


def test_deactivated_account_is_rejected(client, sso):
    sign_in(client, "alice")
    client.logout()
    User.objects.filter(email="alice@example.com").update(is_active=False)

    response, _ = sign_in(client, "alice")

    assert_failure(response, 403, "deactivated")


def test_existing_password_account_is_linked_by_verified_email(client, sso):
    existing = User.objects.create_user("alice", "Alice@Example.com", "password-1")

    sign_in(client, "alice")

    assert User.objects.count() == 1
    assert SingleSignOnIdentity.objects.get().user == existing
    existing.refresh_from_db()
    assert existing.is_staff
    assert existing.check_password("password-1")


def test_two_accounts_with_the_email_are_rejected(client, sso):
    User.objects.create_user("alice1", "alice@example.com")
    User.objects.create_user("alice2", "alice@example.com")

    response, _ = sign_in(client, "alice")

    assert_failure(response, 403, "Several accounts")
    assert not SingleSignOnIdentity.objects.exists()


def test_username_taken_by_someone_else(client, sso):
    User.objects.create_user("alice@example.com", "someone@else.test")

    sign_in(client, "alice")

    identity = SingleSignOnIdentity.objects.get()
    assert identity.user.username.startswith("sso-")
    assert identity.user.email == "alice@example.com"


def test_es256_id_tokens(client, sso, settings):
    settings.GATEHOUSE_SSO = {**sso, "CLIENT_ID": "gatehouse-es"}

    response, _ = sign_in(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def sso_claims(login):
    return ACCOUNTS[login]


# The authorization request.


def test_authorization_request_uses_pkce_nonce_and_state(client, sso, oidc_provider):
    url = start(client)
    params = query(url)

    assert url.startswith(f"{oidc_provider.issuer}/auth?")
    assert params["response_type"] == "code"
    assert params["client_id"] == "gatehouse"
    assert params["scope"] == "openid email profile groups"
    assert params["redirect_uri"] == f"{TEST_SERVER}/admin/sso/callback/"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    pending = client.session["oidc_states"][params["state"]]
    verifier = pending["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert params["code_challenge"] == challenge.decode().rstrip("=")
    assert pending["nonce"] == params["nonce"]


def test_metadata_and_keys_are_fetched_once(client, sso, oidc_provider):
    discovery = "/.well-known/openid-configuration"
    before = oidc_provider.hits(discovery), oidc_provider.hits("/jwks")

    for _ in range(3):
        sign_in(client, "alice")
        client.logout()

    after = oidc_provider.hits(discovery), oidc_provider.hits("/jwks")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_endpoints_given_without_discovery(client, sso, settings, oidc_provider):
    issuer = oidc_provider.issuer
    settings.GATEHOUSE_SSO = {
        **sso,
        "ENDPOINTS": {
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/me",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/session/end",
        },
    }
    before = oidc_provider.hits("/.well-known/openid-configuration")

    response, _ = sign_in(client, "alice")

    assert response["Location"] == "/admin/"
    assert oidc_provider.hits("/.well-known/openid-configuration") == before


def test_discovery_url_setting(client, sso, settings, oidc_provider):
    settings.GATEHOUSE_SSO = {
        **sso,
        "ISSUER": "",
        "DISCOVERY_URL": f"{oidc_provider.issuer}/.well-known/openid-configuration",
    }

    response, _ = sign_in(client, "alice")

    assert response["Location"] == "/admin/"


# Callbacks that must be rejected.


def test_replayed_callback_is_rejected(client, sso):
    response, callback = sign_in(client, "alice")
    assert response.status_code == 302
    client.logout()

    replay = client.get(local(callback))

    assert_failure(replay, 400, "already used")
    assert "_auth_user_id" not in client.session


def test_tampered_state_rejected(client, sso):
    callback = at_provider(start(client), "alice")
    params = query(callback)
    last = "y" if params["state"].endswith("x") else "x"
    tampered = {**params, "state": params["state"][:-1] + last}

    response = client.get("/admin/sso/callback/", tampered)

    assert_failure(response, 400, "altered")
    assert "_auth_user_id" not in client.session
    assert client.get(local(callback)).status_code == 302


def test_callback_in_another_browser_is_rejected(client, sso, django_user_model):
    callback = at_provider(start(client), "alice")

    response = Client().get(local(callback))

    assert_failure(response, 400, "another browser")
    assert not django_user_model.objects.exists()


def test_callback_without_parameters(client, sso):
    assert_failure(client.get("/admin/sso/callback/"), 400, "Start again")


@pytest.mark.parametrize("issuer", ["https://mix-up.example", "http://\u00fcber", ""])
def test_callback_from_another_issuer_is_rejected(client, sso, issuer):
    callback = at_provider(start(client), "alice")
    params = {**query(callback), "iss": issuer}

    response = client.get("/admin/sso/callback/", params)

    assert_failure(response, 400, "expected identity provider")
    # The state is spent, so the genuine callback cannot be used afterwards.
    assert client.get(local(callback)).status_code == 400


def test_provider_error_ends_the_sign_in(client, sso):
    state = query(start(client))["state"]

    response = client.get(
        "/admin/sso/callback/",
        {"state": state, "error": "access_denied", "iss": sso["ISSUER"]},
    )

    assert_failure(response, 400, "access_denied")
    assert state not in client.session["oidc_states"]


def basic(client_id):
    # RFC 6749, section 2.3.1: the secret is form-encoded inside Basic.
    return (client_id, quote(CLIENT_SECRET, safe=""))


def redeem(oidc_provider, callback, verifier=None):
    data = {
        "grant_type": "authorization_code",
        "code": query(callback)["code"],
        "redirect_uri": f"{TEST_SERVER}/admin/sso/callback/",
    }
    if verifier:
        data["code_verifier"] = verifier
    return requests.post(
        f"{oidc_provider.issuer}/token",
        data=data,
        auth=basic("gatehouse"),
        timeout=5,
    )


def test_intercepted_code_is_useless_without_the_verifier(client, sso, oidc_provider):
    callback = at_provider(start(client), "alice")

    stolen = redeem(oidc_provider, callback)

    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    assert client.get(local(callback)).status_code == 302


def test_code_redeemed_twice_is_rejected(client, sso, oidc_provider):
    callback = at_provider(start(client), "alice")
    state = query(callback)["state"]
    verifier = client.session["oidc_states"][state]["code_verifier"]
    assert redeem(oidc_provider, callback, verifier).status_code == 200

    response = client.get(local(callback))

    assert_failure(response, 400, "rejected the sign-in code (invalid_grant)")
    assert not User.objects.exists()


def test_wrong_client_secret_is_rejected(client, sso, settings):
    settings.GATEHOUSE_SSO = {**sso, "CLIENT_SECRET": "not-the-secret"}

    response, _ = sign_in(client, "alice")

    assert_failure(response, 400, "rejected the sign-in code (invalid_client)")


# The ID token itself: genuine tokens from the provider, checked against
# expectations they do not meet.


def id_token_for(client_id, nonce):
    """A genuine ID token from the test provider for `client_id`."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "response_type": "code",
        "client_id": client_id,
        "scope": "openid email",
        "redirect_uri": f"{TEST_SERVER}/admin/sso/callback/",
        "state": secrets.token_urlsafe(16),
        "nonce": nonce,
    }
    issuer = provider.config()["ISSUER"]
    callback = at_provider(f"{issuer}/auth?{urlencode(params)}", "alice")
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": query(callback)["code"],
            "redirect_uri": params["redirect_uri"],
            "code_verifier": verifier,
        },
        auth=basic(client_id),
        timeout=5,
    )
    return response.json()["id_token"]


def with_header(token, header):
    """Return `token` with its header replaced, and its signature left as it was."""
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    return encoded.decode() + token[token.index(".") :]


@pytest.fixture
def backend(sso):
    backend = SingleSignOnBackend()
    backend.metadata = provider.get_metadata()
    backend.OIDC_RP_CLIENT_ID = sso["CLIENT_ID"]
    return backend


def test_genuine_id_token_passes(backend):
    claims = backend.verify_token(id_token_for("gatehouse", "n-1"), nonce="n-1")

    assert claims["sub"] == "alice"


def test_id_token_for_another_client_is_rejected(backend):
    token = id_token_for("other-app", "n-1")

    with pytest.raises(SignInFailed, match="Audience"):
        backend.verify_token(token, nonce="n-1")


def test_id_token_with_another_nonce_is_rejected(backend):
    token = id_token_for("gatehouse", "n-1")

    with pytest.raises(SignInFailed, match="nonce"):
        backend.verify_token(token, nonce="n-2")


def test_id_token_against_a_non_ascii_nonce(backend):
    token = id_token_for("gatehouse", "n-1")

    with pytest.raises(SignInFailed, match="nonce"):
        backend.verify_token(token, nonce="n-\u00f1")


def test_id_token_non_string_kid(backend):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = with_header(
        jwt.encode({"sub": "a"}, key, algorithm="RS256"), {"alg": "RS256", "kid": ["x"]}
    )

    # PyJWT rejects the header before any key is looked up.
    with pytest.raises(SignInFailed, match="malformed"):
        backend.verify_token(token, nonce="n-1")


def test_id_token_from_another_issuer_is_rejected(backend):
    token = id_token_for("gatehouse", "n-1")
    backend.metadata = replace(backend.metadata, issuer="https://other.example")

    with pytest.raises(SignInFailed, match="issuer"):
        backend.verify_token(token, nonce="n-1")


def test_id_token_with_altered_claims_is_rejected(backend):
    header, payload, signature = id_token_for("gatehouse", "n-1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")

    with pytest.raises(SignInFailed, match="not valid"):
        backend.verify_token(f"{header}.{forged.decode()}.{signature}", nonce="n-1")


@pytest.mark.parametrize(
    ("algorithm", "key", "kid", "message"),
    [
        # HMAC with the client secret: not published, and never accepted.
        ("HS256", CLIENT_SECRET, "RS256-key", "does not publish"),
        ("PS256", "rsa", "RS256-key", "does not publish"),
        ("RS256", "rsa", "someone-else", "unknown key"),
        ("RS256", "rsa", None, "Signature verification failed"),
        ("RS256", "rsa", "RS256-key", "Signature verification failed"),
        ("ES256", "rsa", "RS256-key", "unknown key"),
    ],
)
def test_id_token_foreign_signature(backend, algorithm, key, kid, message):
    if key == "rsa" and algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "iss": backend.metadata.issuer,
        "sub": "alice",
        "aud": "gatehouse",
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
        "nonce": "n-1",
    }
    headers = {"kid": kid} if kid else {}
    token = jwt.encode(claims, key, algorithm=algorithm, headers=headers)
    if not kid:
        token = with_header(token, {"alg": algorithm, "typ": "JWT"})

    with pytest.raises(SignInFailed, match=message):
        backend.verify_token(token, nonce="n-1")


def test_unsigned_id_token_is_rejected(backend):
    token = jwt.encode({"sub": "alice"}, None, algorithm="none")

    with pytest.raises(SignInFailed, match="does not publish"):
        backend.verify_token(token, nonce=None)


def test_backend_ignores_password_logins(sso, rf):
    backend = SingleSignOnBackend()
    request = rf.get("/admin/login/", {"code": "x", "state": "y"})

    assert backend.authenticate(request, username="a", password="b") is None
    assert backend.authenticate(request) is None


# The provider unreachable or misbehaving: a page, never a 500.


def test_unreachable_provider(client, sso, settings):
    settings.GATEHOUSE_SSO = {**sso, "ISSUER": f"http://127.0.0.1:{free_port()}"}

    response = client.get("/admin/sso/login/")

    assert_failure(response, 502, "could not reach your identity provider")


def test_metadata_for_another_issuer_is_rejected(client, sso, settings, caplog):
    port = sso["ISSUER"].rsplit(":", 1)[1]
    settings.GATEHOUSE_SSO = {
        **sso,
        "ISSUER": "",
        "DISCOVERY_URL": f"http://localhost:{port}/.well-known/openid-configuration",
    }

    with caplog.at_level(logging.ERROR, logger="apis.sso"):
        response = client.get("/admin/sso/login/")

    assert_failure(response, 502, "identity provider")
    assert "does not match its address" in caplog.text


def test_provider_down_during_the_callback(client, sso, settings):
    callback = at_provider(start(client), "alice")
    dead = f"http://127.0.0.1:{free_port()}"
    settings.GATEHOUSE_SSO = {
        **sso,
        "ENDPOINTS": {
            "authorization_endpoint": f"{dead}/auth",
            "token_endpoint": f"{dead}/token",
            "jwks_uri": f"{dead}/jwks",
        },
    }

    response = client.get(local(callback))

    assert_failure(response, 502, "could not reach")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({}, "no issuer"),
        ({"issuer": "https://idp.example/other"}, "does not match its address"),
        (
            {"issuer": "https://idp.example", "authorization_endpoint": "http://x"},
            "authorization_endpoint",
        ),
        (
            {
                "issuer": "https://idp.example",
                "authorization_endpoint": "https://idp.example/a",
                "token_endpoint": "https://idp.example/t",
                "jwks_uri": "https://idp.example/k",
                "id_token_signing_alg_values_supported": ["HS256", "none"],
            },
            "no public-key algorithm",
        ),
        (
            {
                "issuer": "https://idp.example",
                "authorization_endpoint": "https://idp.example/a",
                "token_endpoint": "https://idp.example/t",
                "jwks_uri": "https://idp.example/k",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            },
            "takes no client secret",
        ),
    ],
)
def test_unusable_metadata(document, reason):
    url = "https://idp.example/.well-known/openid-configuration"

    with pytest.raises(provider.ProviderUnavailable, match=reason):
        provider.parse_metadata(document, url)


def test_metadata_defaults():
    metadata = provider.parse_metadata(
        {
            "issuer": "https://idp.example/",
            "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t",
            "jwks_uri": "https://idp.example/k",
            "id_token_signing_alg_values_supported": ["none", "HS256", "ES256"],
        },
        "https://idp.example/.well-known/openid-configuration",
        "https://idp.example",
    )

    assert metadata.signing_algorithms == ("ES256",)
    assert metadata.token_auth_method == "client_secret_basic"
    assert not metadata.iss_parameter_supported


# Logout.


def test_logout_ends_both_sessions(client, sso, oidc_provider):
    sign_in(client, "alice")
    id_token = client.session["oidc_id_token"]

    response = client.post("/admin/logout/")

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{oidc_provider.issuer}/session/end?")
    assert query(location) == {
        "client_id": "gatehouse",
        "post_logout_redirect_uri": f"{TEST_SERVER}/admin/login/",
        "id_token_hint": id_token,
    }
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_logout_needs_post(client, sso):
    sign_in(client, "alice")

    assert client.get("/admin/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_password_session_logs_out_as_before(client, sso, admin_user):
    client.force_login(admin_user, "django.contrib.auth.backends.ModelBackend")

    response = client.post("/admin/logout/")

    assert response.status_code == 200
    assert "Logged out" in response.content.decode()


# The login page, password login, and what must never be redirected.


def test_login_page_offers_both(client, sso):
    page = client.get("/admin/login/?next=/admin/apis/").content.decode()

    assert 'href="/admin/sso/login/?next=/admin/apis/"' in page
    assert "Log in with SSO" in page
    assert 'name="password"' in page


def test_password_login_switched_off(client, sso, settings, admin_user):
    settings.GATEHOUSE_PASSWORD_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = ["apis.sso.backend.SingleSignOnBackend"]

    page = client.get("/admin/login/").content.decode()
    posted = client.post("/admin/login/", {"username": "admin", "password": "password"})

    assert "Log in with SSO" in page
    assert 'name="password"' not in page
    assert posted.status_code == 405
    assert not client.login(username="admin", password="password")


def test_permissions_still_work_without_password_login(client, sso, settings):
    settings.AUTHENTICATION_BACKENDS = ["apis.sso.backend.SingleSignOnBackend"]
    sign_in(client, "alice")
    user = User.objects.get(email="alice@example.com")
    group = Group.objects.create(name="Viewers")
    group.permissions.add(Permission.objects.get(codename="view_api"))
    user.groups.add(group)

    assert user.has_perm("apis.view_api")
    assert client.get("/admin/apis/api/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/docs/",
        "/api/schema/",
        "/api/ping",
        "/api/ping/secure",
        "/api/messages",
        "/.well-known/jwks.json",
    ],
)
def test_api_requests_are_never_sent_to_the_provider(client, sso, ping_api, path):
    response = client.get(path)

    assert response.status_code in (200, 401)
    assert "Location" not in response


def test_script_calls_go_to_login_page(client, sso, ping_api):
    response = client.post(
        f"/admin/apis/api/{ping_api.pk}/test/",
        HTTP_SEC_FETCH_MODE="cors",
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Switched off, and the settings that switch it on.


def test_off_by_default_nothing_is_loaded():
    code = (
        "import sys, django; django.setup(); import project.urls; "
        "from django.conf import settings; "
        "print('mozilla_django_oidc' in sys.modules, 'apis.sso' in sys.modules, "
        "settings.AUTHENTICATION_BACKENDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        check=True,
    )

    assert result.stdout.strip() == (
        "False False ['django.contrib.auth.backends.ModelBackend']"
    )


def test_off_the_login_page_has_no_button(client):
    page = client.get("/admin/login/").content.decode()

    assert "Log in with SSO" not in page
    assert 'id="sso-login"' not in page
    assert client.get("/admin/sso/login/").status_code in (302, 404)


def valid_config(**overrides):
    return sso_config("https://idp.example", **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CLIENT_SECRET": ""}, "CLIENT_SECRET is missing"),
        ({"ISSUER": ""}, "set GATEHOUSE_SSO_ISSUER"),
        ({"ISSUER": "http://idp.example"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp.example/#x"}, "must be an https:// URL"),
        (
            {"ENDPOINTS": {"authorization_endpoint": "https://idp.example/a"}},
            "GATEHOUSE_SSO_TOKEN_ENDPOINT is needed",
        ),
        (
            {"ENDPOINTS": {"token_endpoint": "https://idp.example/t"}},
            "without GATEHOUSE_SSO_AUTHORIZATION_ENDPOINT",
        ),
        ({"SIGNING_ALGORITHMS": ["HS256"]}, "HS256"),
        ({"SIGNING_ALGORITHMS": ["none"]}, "none"),
        ({"SCOPES": "email profile"}, "must include openid"),
        (
            {"ALLOWED_DOMAINS": [], "ALLOWED_GROUPS": [], "SUPERUSER_GROUPS": []},
            "nobody would be let in",
        ),
        ({"SESSION_SECONDS": 0}, "SESSION_SECONDS must be from 1 to"),
        ({"SESSION_SECONDS": 10**12}, "SESSION_SECONDS must be from 1 to"),
        ({"TIMEOUT_SECONDS": 1e10}, "TIMEOUT_SECONDS must be more than 0"),
        ({"ISSUER": "https://idp.example/x?y=1"}, "must have no query"),
        ({"ISSUER": "https://idp.example/" + "x" * 250}, "at most 255"),
        ({"ISSUER": "https://user:pw@idp.example"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp.example:99999"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp example"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp.example/a\nb"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp.example?"}, "must have no query"),
        ({"ISSUER": "https://idp.example#"}, "must be an https:// URL"),
        ({"ISSUER": "https://idp.example:0"}, "must be an https:// URL"),
        ({"CLIENT_ID": "gate\nhouse"}, "CLIENT_ID has control characters"),
        ({"TIMEOUT_SECONDS": float("nan")}, "TIMEOUT_SECONDS must be more than 0"),
        ({"TIMEOUT_SECONDS": float("inf")}, "TIMEOUT_SECONDS must be more than 0"),
        ({"ALLOWED_DOMAINS": ["@example.com"]}, "'@example.com', which is not"),
        ({"ALLOWED_DOMAINS": ["*.example.com"]}, "which is not a domain"),
        ({"ALLOWED_DOMAINS": ["example.com other.test"]}, "which is not a domain"),
        ({"GROUPS_CLAIM": ""}, "GROUPS_CLAIM is empty"),
        ({"BUTTON_LABEL": ""}, "BUTTON_LABEL is empty"),
        ({"TOKEN_AUTH_METHOD": "private_key_jwt"}, "must be client_secret_basic"),
        (
            {"DISCOVERY_URL": "https://idp.example/metadata"},
            "must be the issuer followed by",
        ),
        (
            {
                "DISCOVERY_URL": (
                    "https://idp.example/.well-known/openid-configuration?tenant=x"
                )
            },
            "must be the issuer followed by",
        ),
        (
            {
                "DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration",
                "ENDPOINTS": {
                    "authorization_endpoint": "https://idp.example/a",
                    "token_endpoint": "https://idp.example/t",
                    "jwks_uri": "https://idp.example/k",
                },
            },
            "not both",
        ),
    ],
)
def test_settings_are_checked(overrides, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.validate(valid_config(**overrides))


def test_loopback_http_is_accepted():
    conf.validate(valid_config(ISSUER="http://127.0.0.1:9000"))
    conf.validate(valid_config(ISSUER="http://localhost:9000/realms/x"))


SETTINGS_REPORT = (
    "import json, project.settings as s; "
    "print(json.dumps([s.GATEHOUSE_SSO, s.AUTHENTICATION_BACKENDS]))"
)


def load_settings(**environment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_SSO")}
    env.pop("GATEHOUSE_PASSWORD_LOGIN", None)
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_REPORT],
        env=env,
        capture_output=True,
        text=True,
    )


def test_environment_switches_it_on():
    result = load_settings(
        GATEHOUSE_SSO_CLIENT_ID="gatehouse",
        GATEHOUSE_SSO_CLIENT_SECRET="secret",
        GATEHOUSE_SSO_ISSUER="https://idp.example/realms/staff",
        GATEHOUSE_SSO_ALLOWED_DOMAINS="Example.com, example.org",
        GATEHOUSE_SSO_GROUP_MAP='{"ops": "Key managers", "qa": ["A", "B"]}',
        GATEHOUSE_PASSWORD_LOGIN="0",
    )

    assert result.returncode == 0, result.stderr
    config, backends = json.loads(result.stdout)
    assert config["ALLOWED_DOMAINS"] == ["example.com", "example.org"]
    assert config["GROUP_MAP"] == {"ops": ["Key managers"], "qa": ["A", "B"]}
    assert config["SCOPES"] == "openid email profile"
    assert backends == ["apis.sso.backend.SingleSignOnBackend"]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"GATEHOUSE_PASSWORD_LOGIN": "0"}, "GATEHOUSE_PASSWORD_LOGIN=0 needs"),
        (
            {
                "GATEHOUSE_SSO_CLIENT_ID": "g",
                "GATEHOUSE_SSO_CLIENT_SECRET": "s",
                "GATEHOUSE_SSO_ISSUER": "https://idp.example",
                "GATEHOUSE_SSO_ALLOWED_GROUPS": "ops",
                "GATEHOUSE_SSO_GROUP_MAP": "[1, 2]",
            },
            "must be a JSON object",
        ),
        (
            {
                "GATEHOUSE_SSO_CLIENT_ID": "g",
                "GATEHOUSE_SSO_CLIENT_SECRET": "s",
                "GATEHOUSE_SSO_ISSUER": "https://idp.example",
            },
            "nobody would be let in",
        ),
        (
            {
                "GATEHOUSE_SSO_CLIENT_ID": "g",
                "GATEHOUSE_SSO_CLIENT_SECRET": "s",
                "GATEHOUSE_SSO_ISSUER": "https://idp.example",
                "GATEHOUSE_SSO_ALLOWED_GROUPS": "ops",
                "GATEHOUSE_SSO_SESSION_SECONDS": "8h",
            },
            "GATEHOUSE_SSO_SESSION_SECONDS must be a number, not '8h'",
        ),
    ],
)
def test_environment_mistakes_stop_start_up(environment, message):
    result = load_settings(**environment)

    assert result.returncode != 0
    assert message in result.stderr


# The decision alone.


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"groups": ["a", 1, None, "b"]}, ["a", "b"]),
        ({"groups": "a"}, ["a"]),
        ({"groups": {"a": 1}}, []),
        ({}, []),
    ],
)
def test_group_claim_shapes(claims, expected):
    assert admission.provider_groups(claims, "groups") == expected


def test_dotted_and_namespaced_group_claims():
    keycloak = {"realm_access": {"roles": ["ops"]}}
    auth0 = {"https://gatehouse.example/groups": ["ops"]}

    assert admission.provider_groups(keycloak, "realm_access.roles") == ["ops"]
    assert admission.provider_groups(auth0, "https://gatehouse.example/groups") == [
        "ops"
    ]
    assert admission.provider_groups({"realm_access": "x"}, "realm_access.roles") == []


@pytest.mark.parametrize(
    "email",
    [
        "mallory@example.com.evil.test",
        "mallory@sub.example.com",
        "@example.com",
        "example.com",
        "mallory@evil.test@example.org",
        None,
        ["alice@example.com"],
    ],
)
def test_lookalike_emails_are_rejected(email):
    claims = {"sub": "m", "email": email, "email_verified": True}

    with pytest.raises(admission.SignInRejected):
        admission.decide(claims, valid_config())


def test_domain_match_ignores_case_and_accepts_string_true():
    claims = {"sub": "a", "email": "A@EXAMPLE.COM", "email_verified": "true"}

    assert admission.decide(claims, valid_config()).reason == "email domain example.com"


def test_superuser_flag_left_alone_without_superuser_groups():
    claims = {"sub": "a", "email": "a@example.com", "email_verified": True}

    decision = admission.decide(claims, valid_config(SUPERUSER_GROUPS=[]))

    assert decision.superuser is None


# The identities in the admin.


def test_identity_admin_lists_and_unlinks(client, sso, admin_user):
    sign_in(client, "alice")
    identity = SingleSignOnIdentity.objects.get()
    client.force_login(admin_user, "django.contrib.auth.backends.ModelBackend")
    changelist = "/admin/apis/singlesignonidentity/"

    listed = client.get(changelist)
    change_page = client.get(f"{changelist}{identity.pk}/change/")
    deleted = client.post(f"{changelist}{identity.pk}/delete/", {"post": "yes"})

    assert "alice@example.com" in listed.content.decode()
    assert change_page.status_code == 200
    assert 'name="subject"' not in change_page.content.decode()
    assert deleted.status_code == 302
    assert not SingleSignOnIdentity.objects.exists()
    user = User.objects.get(email="alice@example.com")
    assert not user.is_staff
    assert not user.groups.exists()


def test_identity_changelist_queries_do_not_grow(
    admin_client, django_assert_max_num_queries
):
    def add_identities(count):
        start = SingleSignOnIdentity.objects.count()
        for number in range(start, start + count):
            user = User.objects.create(username=f"person{number}")
            SingleSignOnIdentity.objects.create(
                user=user, issuer="https://idp.example", subject=f"s{number}"
            )

    add_identities(2)
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/apis/singlesignonidentity/")
    add_identities(30)

    with django_assert_max_num_queries(len(few)):
        response = admin_client.get("/admin/apis/singlesignonidentity/")
    assert response.status_code == 200


# Claims and provider data that must not lead to a wrong account or a 500.


@pytest.fixture
def odd_account(oidc_provider):
    """Give the account `zed` the claims a test needs, for that test only."""
    login = "zed"

    def set_claims(**claims):
        oidc_provider.set_account(login, {"groups": ["gatehouse-admins"], **claims})
        return login

    yield set_claims
    oidc_provider.set_account(login, {})


@pytest.mark.parametrize("email", ["", "  ", "not-an-address", "a" * 250 + "@x.io"])
def test_unusable_email_links_no_account(client, sso, odd_account, email):
    admin = User.objects.create_superuser("admin", "", "password")

    response, _ = sign_in(client, odd_account(email=email, email_verified=True))

    assert response.status_code == 302
    user = SingleSignOnIdentity.objects.get().user
    assert user != admin
    assert user.username.startswith("sso-")
    assert user.email == ""
    assert not user.is_superuser


def test_unverified_email_names_no_account(client, sso, odd_account):
    login = odd_account(email="ceo@example.com", email_verified=False)

    response, _ = sign_in(client, login)

    assert response.status_code == 302
    user = SingleSignOnIdentity.objects.get().user
    assert user.username.startswith("sso-")
    assert user.email == ""
    assert SingleSignOnIdentity.objects.get().email == "ceo@example.com"


def test_names_lose_control_characters(client, sso, odd_account):
    login = odd_account(given_name="Ze\x00d", family_name="Z" * 300)

    sign_in(client, login)

    user = SingleSignOnIdentity.objects.get().user
    assert user.first_name == "Zed"
    assert user.last_name == "Z" * 150


def test_overlong_subject_is_rejected(client, sso, oidc_provider):
    login = "s" * 256
    oidc_provider.set_account(login, {"groups": ["gatehouse-admins"]})

    response, _ = sign_in(client, login)

    assert_failure(response, 400, "subject is not 1 to 255")
    assert not User.objects.exists()


def test_provider_error_is_logged_escaped(client, sso, caplog):
    state = query(start(client))["state"]
    forged = "x\n2026-01-01 INFO apis.sso.backend Single sign-on admitted eve"

    with caplog.at_level(logging.WARNING, logger="apis.sso"):
        client.get(
            "/admin/sso/callback/",
            {"state": state, "error": forged, "iss": sso["ISSUER"]},
        )

    assert "\n" not in caplog.records[-1].getMessage()


@pytest.mark.parametrize("name", ["state", "code", "iss"])
def test_repeated_callback_parameter_is_rejected(client, sso, name):
    callback = at_provider(start(client), "alice")
    repeated = f"{local(callback)}&{name}=other"

    response = client.get(repeated)

    assert_failure(response, 400, "altered")
    assert "_auth_user_id" not in client.session


def test_replaced_key_refetched(client, sso, oidc_provider):
    sign_in(client, "alice")
    client.logout()
    # The cache now contains another key under the provider's kid, as after
    # the provider replaced its key and kept the kid.
    stale = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(stale.public_key()))
    cache_key = provider._cache_key("keys", f"{oidc_provider.issuer}/jwks")
    cache.set(cache_key, {"document": {"keys": [{**jwk, "kid": "RS256-key"}]}})

    response, _ = sign_in(client, "alice")

    assert response["Location"] == "/admin/"


def test_redirecting_provider_is_not_followed(client, sso, settings, oidc_provider):
    settings.GATEHOUSE_SSO = {
        **sso,
        "ISSUER": "",
        "DISCOVERY_URL": (
            f"{oidc_provider.issuer}/__redirect/.well-known/openid-configuration"
        ),
    }

    with pytest.raises(provider.ProviderUnavailable, match="redirects to"):
        provider.get_metadata()
    assert_failure(client.get("/admin/sso/login/"), 502, "identity provider")


def test_endpoints_with_client_secret_post(client, sso, settings, oidc_provider):
    issuer = oidc_provider.issuer
    settings.GATEHOUSE_SSO = {
        **sso,
        "CLIENT_ID": "gatehouse-post",
        "TOKEN_AUTH_METHOD": "client_secret_post",
        "ENDPOINTS": {
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/me",
            "jwks_uri": f"{issuer}/jwks",
        },
    }

    response, _ = sign_in(client, "alice")

    assert response["Location"] == "/admin/"


def test_malformed_key_set_entries_are_skipped():
    good = json.loads(
        jwt.algorithms.RSAAlgorithm.to_jwk(
            rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        )
    )
    document = {
        "keys": [
            {**good, "kid": ["list"]},
            {**good, "kid": {"a": 1}},
            {"kty": "nonsense", "kid": "x"},
            "not a key",
            {**good, "kid": "good", "use": "enc"},
            {**good, "kid": "good"},
        ]
    }

    keys = provider._parse_keys(document)

    assert list(keys) == ["good"]


def test_metadata_with_odd_algorithm_entries():
    metadata = provider.parse_metadata(
        {
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t",
            "jwks_uri": "https://idp.example/k",
            "id_token_signing_alg_values_supported": [["RS256"], {"a": 1}, "ES256"],
        },
        "https://idp.example/.well-known/openid-configuration",
    )

    assert metadata.signing_algorithms == ("ES256",)


def test_deeply_nested_json_is_not_an_object():
    response = requests.Response()
    response._content = b"[" * 100_000 + b"]" * 100_000
    response.status_code = 200

    assert provider.json_object(response) is None


def test_unlinked_person_without_verified_email_signs_in_again(
    client, sso, odd_account
):
    login = odd_account(email="zed@example.com", email_verified=False)
    sign_in(client, login)
    first = SingleSignOnIdentity.objects.get().user
    SingleSignOnIdentity.objects.all().delete()
    client.logout()

    response, _ = sign_in(client, login)

    assert response.status_code == 302
    second = SingleSignOnIdentity.objects.get().user
    assert second != first
    assert second.username == f"{first.username}-2"


def test_rejected_person_loses_staff_rights(client, sso, groups, odd_account):
    login = odd_account(
        email="zed@contractor.test", email_verified=True, groups=["platform-root"]
    )
    sign_in(client, login)
    user = SingleSignOnIdentity.objects.get().user
    assert user.is_superuser
    user.groups.add(groups["Token testers"], groups["Auditors"])
    client.logout()

    response, _ = sign_in(client, odd_account(groups=[]))

    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.is_staff
    assert not user.is_superuser
    assert [g.name for g in user.groups.all()] == ["Auditors"]


def test_names_lose_lone_surrogates(client, sso, odd_account):
    login = odd_account(given_name="Ze\udcffd")

    response, _ = sign_in(client, login)

    assert response.status_code == 302
    assert SingleSignOnIdentity.objects.get().user.first_name == "Zed"


def test_key_on_the_wrong_curve_is_rejected(backend, oidc_provider):
    p521 = ec.generate_private_key(ec.SECP521R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(p521.public_key()))
    cache_key = provider._cache_key("keys", f"{oidc_provider.issuer}/jwks")
    cache.set(cache_key, {"document": {"keys": [{**jwk, "kid": "p521"}]}})
    claims = {"sub": "alice", "nonce": "n-1"}
    token = with_header(
        jwt.encode(claims, p521, algorithm="ES512"), {"alg": "ES256", "kid": "p521"}
    )

    with pytest.raises(SignInFailed):
        backend.verify_token(token, nonce="n-1")


def test_debug_page_hides_sensitive_variables(settings, rf):
    settings.DEBUG = True

    @sensitive_variables()
    def redeem():
        # Built at run time, so that the page's source excerpt cannot show it.
        client_secret = "-".join(["do", "not", "show"])
        raise ValueError(len(client_secret))

    try:
        redeem()
    except ValueError:
        reporter = ExceptionReporter(rf.get("/"), *sys.exc_info())
    page = reporter.get_traceback_html()
    hidden = "-".join(["do", "not", "show"])

    assert hidden not in page
    assert "client_secret" in page


def test_password_login_keeps_usual_lifetime(client, sso, settings, admin_user):
    start(client)
    assert client.session.get_expiry_age() <= 600

    client.post("/admin/login/", {"username": "admin", "password": "password"})

    assert "_auth_user_id" in client.session
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_each_tab_returns_to_its_own_page(client, sso):
    first = at_provider(start(client, "/admin/apis/api/"), "alice")
    second = at_provider(start(client, "/admin/auth/user/"), "alice")

    assert client.get(local(first))["Location"] == "/admin/apis/api/"
    client.logout()
    third = at_provider(start(client, "/admin/apis/"), "alice")
    assert client.get(local(third))["Location"] == "/admin/apis/"
    assert second


def test_failed_metadata_fetch_is_not_retried_at_once(sso, settings):
    settings.GATEHOUSE_SSO = {**sso, "ISSUER": f"http://127.0.0.1:{free_port()}"}

    with pytest.raises(provider.ProviderUnavailable, match="could not be reached"):
        provider.get_metadata()
    with pytest.raises(provider.ProviderUnavailable, match="earlier attempt"):
        provider.get_metadata()


def test_metadata_urls_with_line_breaks_are_unusable():
    assert not conf.is_acceptable_url("http://127.0.0.1:1/jw\nks")
    assert not conf.is_acceptable_url("https://idp.example/\tx")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a database that takes concurrent writes",
)
def test_simultaneous_first_sign_ins_make_one_account(sso):
    metadata = provider.get_metadata()
    claims = {"sub": "racer", "email": "racer@example.com", "email_verified": True}
    admitted = admission.decide(claims, sso)
    barrier = threading.Barrier(4)
    users, errors = [], []

    def sign_in_once():
        backend = SingleSignOnBackend()
        backend.metadata = metadata
        barrier.wait()
        try:
            users.append(backend.save_user(claims, "racer@example.com", admitted).pk)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(users)) == 1
    assert SingleSignOnIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("email", "groups", "status"),
    [
        ("x@\udcffx.com", [], 403),
        ("x@\udcffx.com", ["gatehouse-admins"], 302),
        ('"a\u0001<b>x"@example.com', ["gatehouse-admins"], 302),
    ],
)
def test_unstorable_email_is_ignored(client, sso, odd_account, email, groups, status):
    login = odd_account(email=email, email_verified=True, groups=groups)

    response, _ = sign_in(client, login)

    assert response.status_code == status
    for user in User.objects.all():
        assert user.username.startswith("sso-")
        assert user.email == ""


def silent_server(drip=False):
    """
    Start a server on loopback that accepts connections and never finishes a
    response. It stays silent, or sends one byte of body at a time when `drip`.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        connections_ = []
        while not stop.is_set():
            try:
                connection_, _ = listener.accept()
            except TimeoutError:
                continue
            connections_.append(connection_)
            if drip:
                connection_.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n"
                )
                threading.Thread(target=trickle, args=(connection_,)).start()
        for connection_ in connections_:
            connection_.close()
        listener.close()

    def trickle(connection_):
        while not stop.is_set():
            try:
                connection_.sendall(b" ")
            except OSError:
                return
            time.sleep(0.2)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", stop


@pytest.mark.parametrize("drip", [False, True])
def test_hanging_provider_fails_fast_afterwards(sso, settings, drip):
    settings.GATEHOUSE_SSO = {**sso, "TIMEOUT_SECONDS": 1}
    url, stop = silent_server(drip=drip)
    try:
        with pytest.raises(provider.ProviderUnavailable, match="could not be reached"):
            provider.send("POST", f"{url}/token")
        with pytest.raises(provider.ProviderUnavailable, match="earlier attempt"):
            provider.send("POST", f"{url}/token")
    finally:
        stop.set()
