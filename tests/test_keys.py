import base64
import io
import threading
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from apis import keys
from apis.keys import (
    KeyRing,
    KeyStateError,
    SigningKeyUnavailable,
    create_signing_key,
    decrypt_private_key,
    encrypt_private_key,
    ensure_signing_keys,
    key_ring,
    revoke,
    rotate,
)
from apis.models import API, KeyEvent, SigningKey
from tests.conftest import bearer

PING = "https://ping.example.com/api"
SECURE = "/api/ping/secure"
OTHER_KEK = "b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU"


def age_next_keys():
    """Pretend the next keys were published long enough ago to rotate to."""
    SigningKey.objects.filter(state="next").update(
        created_at=timezone.now() - timedelta(hours=1)
    )


def use_algorithm(algorithm):
    API.objects.filter(identifier=PING).update(signing_algorithm=algorithm)


def token_for(client, application, secret):
    response = client.post(
        "/oauth/token",
        f"grant_type=client_credentials&client_id={application.client_id}"
        f"&client_secret={secret}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


# Encryption at rest.


def test_private_key_stored_encrypted(db):
    signing_key = ensure_signing_keys("RS256")
    stored = SigningKey.objects.get(pk=signing_key.pk).encrypted_private_key
    assert stored.startswith("v1.")
    assert "PRIVATE KEY" not in stored


def test_private_key_round_trip(db):
    signing_key = ensure_signing_keys("RS256")
    pem = decrypt_private_key(signing_key.encrypted_private_key, signing_key.kid)
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert private_key.key_size == 2048


def test_encryption_bound_to_kid():
    encrypted = encrypt_private_key(b"pem", "kid-a")
    with pytest.raises(SigningKeyUnavailable):
        decrypt_private_key(encrypted, "kid-b")


def test_encryption_uses_configured_key(settings):
    encrypted = encrypt_private_key(b"pem", "kid")
    original = settings.GATEHOUSE_KEY_ENCRYPTION_KEY
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(SigningKeyUnavailable, match="GATEHOUSE_KEY_ENCRYPTION_KEY"):
        decrypt_private_key(encrypted, "kid")
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = [original]
    assert decrypt_private_key(encrypted, "kid") == b"pem"


def test_development_key_derived_from_secret_key(settings):
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "old-secret-key-" + "x" * 40
    encrypted = encrypt_private_key(b"pem", "kid")
    settings.SECRET_KEY = "new-secret-key-" + "y" * 40
    with pytest.raises(SigningKeyUnavailable):
        decrypt_private_key(encrypted, "kid")
    settings.SECRET_KEY_FALLBACKS = ["old-secret-key-" + "x" * 40]
    assert decrypt_private_key(encrypted, "kid") == b"pem"


def test_reencrypt_command(db, settings):
    ensure_signing_keys("RS256")
    ensure_signing_keys("ES256")
    original = settings.GATEHOUSE_KEY_ENCRYPTION_KEY
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = [original]
    output = io.StringIO()
    call_command("reencrypt_signing_keys", stdout=output)
    assert output.getvalue().strip() == "Re-encrypted 4 keys."

    settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = []
    settings.SECRET_KEY_FALLBACKS = []
    for key in SigningKey.objects.all():
        assert decrypt_private_key(key.encrypted_private_key, key.kid)
    assert KeyEvent.objects.filter(action="reencrypted").count() == 4


def test_reencrypt_command_without_old_key(db, settings):
    ensure_signing_keys("RS256")
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("reencrypt_signing_keys", stdout=io.StringIO())


# Algorithms, end to end.


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "ES256", "EdDSA"])
def test_algorithm_end_to_end(client, make_application, algorithm):
    use_algorithm(algorithm)
    application, secret = make_application()
    token = token_for(client, application, secret)

    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    assert client.get(SECURE, **bearer(token)).status_code == 200
    published = client.get("/.well-known/jwks.json").json()["keys"]
    jwk = next(key for key in published if key["kid"] == header["kid"])
    assert jwk["alg"] == algorithm
    claims = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=[algorithm], audience=PING
    )
    assert claims["client_id"] == application.client_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("algorithm", ["PS256", "ES256", "EdDSA"])
def test_algorithm_verified_by_pyjwkclient(live_server, make_application, algorithm):
    use_algorithm(algorithm)
    application, secret = make_application()
    response = __import__("requests").post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(application.client_id, secret),
        timeout=10,
    )
    token = response.json()["access_token"]
    signing_key = jwt.PyJWKClient(
        f"{live_server.url}/.well-known/jwks.json"
    ).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=[algorithm], audience=PING)
    assert claims["aud"] == PING


def test_hs256_end_to_end(client, make_application, ping_api):
    use_algorithm("HS256")
    ping_api.refresh_from_db()
    _, secret = create_signing_key("HS256", "current", "test", api=ping_api)
    application, client_secret = make_application()
    token = token_for(client, application, client_secret)

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert client.get(SECURE, **bearer(token)).status_code == 200
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=PING)
    assert claims["client_id"] == application.client_id
    assert len(secret) * 8 >= 256


def test_hs256_secret_never_published(client, make_application, ping_api):
    create_signing_key("HS256", "current", "test", api=ping_api)
    published = client.get("/.well-known/jwks.json").json()["keys"]
    assert all(key["kty"] != "oct" for key in published)
    assert all(not key["kid"].startswith("hs256-") for key in published)


def test_hs256_of_another_api_rejected(client, make_application, ping_api):
    other = API.objects.create(name="Other", identifier="urn:other")
    _, secret = create_signing_key("HS256", "current", "test", api=other)
    use_algorithm("HS256")
    create_signing_key("HS256", "current", "test", api=ping_api)
    other_key = SigningKey.objects.get(api=other)
    forged = jwt.encode(
        {
            "iss": "http://127.0.0.1:8000/",
            "sub": "x",
            "aud": PING,
            "iat": 0,
            "exp": 2**31,
        },
        secret,
        algorithm="HS256",
        headers={"kid": other_key.kid, "typ": "at+jwt"},
    )
    # The other API's secret verifies, but only tokens for the other API.
    response = client.get(SECURE, **bearer(forged))
    assert response.status_code == 401


def test_algorithm_change_keeps_old_tokens(client, make_application):
    application, secret = make_application()
    old_token = token_for(client, application, secret)
    use_algorithm("ES256")
    new_token = token_for(client, application, secret)
    assert jwt.get_unverified_header(new_token)["alg"] == "ES256"
    assert client.get(SECURE, **bearer(old_token)).status_code == 200
    assert client.get(SECURE, **bearer(new_token)).status_code == 200


def test_admin_hs256_secret_shown_once(admin_client, ping_api):
    url = f"/admin/apis/api/{ping_api.pk}/change/"
    data = {
        "name": ping_api.name,
        "signing_algorithm": "HS256",
        "token_lifetime_seconds": 86400,
        "token_profile": "rfc9068",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert len(base64.urlsafe_b64decode(secret)) == 32
    again = admin_client.post(url, data)
    assert again.status_code == 302
    assert secret not in admin_client.get(url).content.decode()


# Staged rotation.


def test_first_keys_are_current_and_next(db):
    ensure_signing_keys("RS256")
    states = sorted(SigningKey.objects.values_list("state", flat=True))
    assert states == ["current", "next"]


def test_rotation_promotes_next_key(db):
    current = ensure_signing_keys("RS256")
    next_key = SigningKey.objects.get(state="next")
    age_next_keys()
    rotated = rotate("RS256", actor="test")

    assert rotated.kid == next_key.kid
    assert SigningKey.objects.get(kid=current.kid).state == "previous"
    assert SigningKey.objects.get(state="current").kid == next_key.kid
    assert SigningKey.objects.filter(state="next").count() == 1
    actions = set(KeyEvent.objects.values_list("action", flat=True))
    assert {"created", "activated", "retired"} <= actions


def test_rotation_keeps_old_tokens_valid(client, make_application):
    application, secret = make_application()
    old_token = token_for(client, application, secret)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    age_next_keys()
    rotate("RS256", actor="test")

    new_token = token_for(client, application, secret)
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    assert client.get(SECURE, **bearer(old_token)).status_code == 200
    assert client.get(SECURE, **bearer(new_token)).status_code == 200
    kids = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert old_kid in kids
    assert len(kids) == 3


def test_rotation_refuses_young_next_key(db):
    ensure_signing_keys("RS256")
    with pytest.raises(KeyStateError, match="may cache the JWKS"):
        rotate("RS256", actor="test")
    rotate("RS256", actor="test", force=True)


def test_rotate_command(db):
    ensure_signing_keys("RS256")
    age_next_keys()
    output = io.StringIO()
    call_command("rotate_signing_keys", "--yes", stdout=output)
    current = SigningKey.objects.get(state="current")
    assert output.getvalue().strip() == f"RS256: key {current.kid} now signs."


def test_rotate_command_needs_confirmation(db):
    ensure_signing_keys("RS256")
    with pytest.raises(CommandError, match="--yes"):
        call_command("rotate_signing_keys", stdout=io.StringIO())


def test_rotate_command_young_key(db):
    ensure_signing_keys("RS256")
    errors = io.StringIO()
    with pytest.raises(CommandError, match="Not rotated: RS256"):
        call_command(
            "rotate_signing_keys", "--yes", stdout=io.StringIO(), stderr=errors
        )
    assert "may cache the JWKS" in errors.getvalue()


# Revocation.


def test_revoke_rejects_its_tokens(client, make_application):
    application, secret = make_application()
    old_token = token_for(client, application, secret)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    age_next_keys()
    rotate("RS256", actor="test")
    revoke(old_kid, actor="test")

    response = client.get(SECURE, **bearer(old_token))
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The access token is signed with an unknown key."
    )
    kids = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert old_kid not in kids
    revoked = SigningKey.objects.get(kid=old_kid)
    assert revoked.encrypted_private_key == ""
    assert revoked.revoked_at is not None


def test_revoke_only_previous_keys(db):
    current = ensure_signing_keys("RS256")
    next_key = SigningKey.objects.get(state="next")
    for kid in [current.kid, next_key.kid]:
        with pytest.raises(KeyStateError, match="only a previous key"):
            revoke(kid, actor="test")
    with pytest.raises(KeyStateError, match="No signing key"):
        revoke("no-such-kid", actor="test")


def test_revoked_key_never_returns(db):
    current = ensure_signing_keys("RS256")
    age_next_keys()
    rotate("RS256", actor="test")
    revoke(current.kid, actor="test")
    with pytest.raises(KeyStateError, match="already revoked"):
        revoke(current.kid, actor="test")
    age_next_keys()
    rotate("RS256", actor="test")
    assert SigningKey.objects.get(kid=current.kid).state == "revoked"


def test_revoke_command(db):
    current = ensure_signing_keys("RS256")
    age_next_keys()
    rotate("RS256", actor="test")
    output = io.StringIO()
    call_command("revoke_signing_key", current.kid, "--yes", stdout=output)
    assert output.getvalue().strip() == f"{current.kid} is revoked."
    event = KeyEvent.objects.get(kid=current.kid, action="revoked")
    assert event.actor == "revoke_signing_key"


def test_revoke_command_current_key(db):
    current = ensure_signing_keys("RS256")
    with pytest.raises(CommandError, match="only a previous key"):
        call_command("revoke_signing_key", current.kid, "--yes", stdout=io.StringIO())


# Every worker agrees.


def test_other_worker_sees_revocation(db, monkeypatch):
    monkeypatch.setattr(keys, "VERSION_CHECK_SECONDS", 0)
    worker = KeyRing()
    current = ensure_signing_keys("RS256")
    assert worker.verification_key(current.kid) is not None

    age_next_keys()
    rotate("RS256", actor="test")
    revoke(current.kid, actor="test")
    assert worker.verification_key(current.kid) is None


def test_other_worker_signs_with_rotated_key(db, monkeypatch):
    monkeypatch.setattr(keys, "VERSION_CHECK_SECONDS", 0)
    worker = KeyRing()
    ensure_signing_keys("RS256")
    before = worker.signing_key("RS256").kid
    age_next_keys()
    rotated = rotate("RS256", actor="test")
    assert worker.signing_key("RS256").kid == rotated.kid != before


def test_worker_checks_stamp_at_most_once_a_second(db, django_assert_num_queries):
    worker = KeyRing()
    current = ensure_signing_keys("RS256")
    worker.verification_key(current.kid)
    with django_assert_num_queries(0):
        for _ in range(50):
            worker.verification_key(current.kid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)
def test_concurrent_rotations_leave_one_current_key():
    ensure_signing_keys("RS256")
    age_next_keys()
    start = threading.Barrier(4)
    errors = []

    def rotate_at_once():
        try:
            start.wait()
            rotate("RS256", actor="thread", force=True)
        except Exception as error:  # collected for the assert below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rotate_at_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert SigningKey.objects.filter(state="current").count() == 1
    assert SigningKey.objects.filter(state="next").count() == 1
    assert SigningKey.objects.filter(state="previous").count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections"
)
def test_concurrent_first_keys_leave_one_current_key():
    start = threading.Barrier(4)
    kids = []

    def create_at_once():
        try:
            start.wait()
            kids.append(ensure_signing_keys("ES256", actor="thread").kid)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create_at_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(set(kids)) == 1
    assert SigningKey.objects.filter(state="current", algorithm="ES256").count() == 1


def test_database_refuses_second_current_key(db):
    ensure_signing_keys("RS256")
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        create_signing_key("RS256", "current", "test")


# The key ring of a process.


def test_private_key_parsed_once(db, monkeypatch):
    key_ring.signing_key().private_key  # noqa: B018
    calls = []
    original = serialization.load_pem_private_key

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting)
    for _ in range(3):
        key_ring.signing_key().private_key  # noqa: B018
    key_ring._load()
    key_ring.signing_key().private_key  # noqa: B018
    assert calls == []


def test_unknown_kid_reload_finds_new_key(db):
    key_ring.signing_key()
    newest, _ = create_signing_key("RS256", "previous", "test")
    assert key_ring.verification_key(newest.kid) is not None


# Admin.


def test_admin_rotate(admin_client, admin_user, db):
    ensure_signing_keys("RS256")
    age_next_keys()
    page = admin_client.get("/admin/apis/signingkey/rotate/")
    assert page.status_code == 200
    response = admin_client.post(
        "/admin/apis/signingkey/rotate/", {"algorithm": "RS256"}
    )
    assert response.status_code == 302
    assert SigningKey.objects.filter(state="previous").count() == 1
    event = KeyEvent.objects.get(action="activated")
    assert event.actor == admin_user.username


def test_admin_rotate_young_key_message(admin_client, db):
    ensure_signing_keys("RS256")
    response = admin_client.post(
        "/admin/apis/signingkey/rotate/", {"algorithm": "RS256"}, follow=True
    )
    assert "may cache the JWKS" in response.content.decode()
    assert not SigningKey.objects.filter(state="previous").exists()


def test_admin_revoke(admin_client, db):
    current = ensure_signing_keys("RS256")
    age_next_keys()
    rotate("RS256", actor="test")
    url = f"/admin/apis/signingkey/{current.pk}/revoke/"
    assert admin_client.get(url).status_code == 200
    admin_client.post(url)
    assert SigningKey.objects.get(pk=current.pk).state == "revoked"


@pytest.mark.parametrize("path", ["rotate/", "{pk}/revoke/"])
def test_admin_key_actions_need_permission(client, django_user_model, db, path):
    current = ensure_signing_keys("RS256")
    staff = django_user_model.objects.create_user("viewer", "", "x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_signingkey"))
    client.force_login(staff)
    url = "/admin/apis/signingkey/" + path.format(pk=current.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"algorithm": "RS256"}).status_code == 403


def test_no_key_material_in_admin_or_logs(admin_client, make_application, caplog):
    caplog.set_level("DEBUG")
    use_algorithm("ES256")
    make_application()
    ensure_signing_keys("RS256")
    age_next_keys()
    rotate("RS256", actor="test")
    previous = SigningKey.objects.get(state="previous")
    revoke_material = decrypt_private_key(previous.encrypted_private_key, previous.kid)
    revoke(previous.kid, actor="test")
    admin_client.post(
        f"/admin/apis/api/{API.objects.get().pk}/change/",
        {
            "name": "Ping API",
            "signing_algorithm": "HS256",
            "token_lifetime_seconds": 86400,
            "token_profile": "rfc9068",
        },
    )

    secrets_to_find = [revoke_material.decode()]
    for key in SigningKey.objects.exclude(encrypted_private_key=""):
        material = decrypt_private_key(key.encrypted_private_key, key.kid)
        if key.algorithm == "HS256":
            secrets_to_find.append(base64.urlsafe_b64encode(material).decode())
            continue
        secrets_to_find.append(material.decode())
        private = serialization.load_pem_private_key(material, password=None)
        numbers = (
            private.private_numbers() if hasattr(private, "private_numbers") else None
        )
        if numbers is not None and hasattr(numbers, "d"):
            secrets_to_find.append(str(numbers.d))
        secrets_to_find.append(key.encrypted_private_key)

    pages = ["/admin/apis/signingkey/", "/admin/apis/keyevent/"]
    pages += [
        f"/admin/apis/signingkey/{pk}/change/"
        for pk in SigningKey.objects.values_list("pk", flat=True)
    ]
    pages += ["/.well-known/jwks.json"]
    texts = [admin_client.get(page).content.decode() for page in pages]
    for secret_text in secrets_to_find:
        core = secret_text.replace("-----BEGIN PRIVATE KEY-----", "").strip()[:40]
        for text in texts:
            assert core not in text
        assert core not in caplog.text


def test_hs256_secret_cannot_vouch_for_a_list(client, make_application, ping_api):
    other = API.objects.create(name="Other", identifier="urn:other")
    _, secret = create_signing_key("HS256", "current", "test", api=other)
    other_key = SigningKey.objects.get(api=other)
    forged = jwt.encode(
        {
            "iss": "http://127.0.0.1:8000/",
            "sub": "x",
            "aud": ["urn:other", PING],
            "iat": int(timezone.now().timestamp()),
            "exp": 2**31,
        },
        secret,
        algorithm="HS256",
        headers={"kid": other_key.kid, "typ": "at+jwt"},
    )
    response = client.get(SECURE, **bearer(forged))
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The access token is signed with another API's key."
    )


def test_hs256_secret_rotation_and_revocation(client, make_application, ping_api):
    use_algorithm("HS256")
    ping_api.refresh_from_db()
    first, _ = create_signing_key("HS256", "current", "test", api=ping_api)
    application, secret = make_application()
    old_token = token_for(client, application, secret)

    output = io.StringIO()
    call_command(
        "rotate_signing_keys",
        "--api",
        PING,
        "--yes",
        stdout=output,
        stderr=io.StringIO(),
    )
    new_secret = base64.urlsafe_b64decode(output.getvalue().splitlines()[-1])
    new_token = token_for(client, application, secret)
    assert jwt.decode(new_token, new_secret, algorithms=["HS256"], audience=PING)
    assert client.get(SECURE, **bearer(old_token)).status_code == 200

    revoke(first.kid, actor="test")
    assert client.get(SECURE, **bearer(old_token)).status_code == 401
    assert client.get(SECURE, **bearer(new_token)).status_code == 200


def test_rotate_secret_needs_hs256_api(db, ping_api):
    with pytest.raises(CommandError, match="does not sign with HS256"):
        call_command("rotate_signing_keys", "--api", PING, "--yes")


def test_revoke_current_hs256_explains(db, ping_api):
    key, _ = create_signing_key("HS256", "current", "test", api=ping_api)
    with pytest.raises(KeyStateError, match="rotate the API's HS256 secret first"):
        revoke(key.kid, actor="test")


def test_rotate_command_continues_after_young_key(db):
    ensure_signing_keys("RS256")
    ensure_signing_keys("ES256")
    SigningKey.objects.filter(state="next", algorithm="RS256").update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    errors = io.StringIO()
    with pytest.raises(CommandError, match="Not rotated: ES256"):
        call_command(
            "rotate_signing_keys", "--yes", stdout=io.StringIO(), stderr=errors
        )
    assert SigningKey.objects.filter(algorithm="RS256", state="previous").exists()
    assert "ES256: not rotated" in errors.getvalue()


def test_key_commands_warn_without_shared_cache(db, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    ensure_signing_keys("RS256")
    age_next_keys()
    errors = io.StringIO()
    call_command("rotate_signing_keys", "--yes", stdout=io.StringIO(), stderr=errors)
    assert "the cache is local to this process" in errors.getvalue()


def test_admin_rotate_hs256_secret(admin_client, ping_api):
    use_algorithm("HS256")
    url = f"/admin/apis/api/{ping_api.pk}/rotate-hs256-secret/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url)
    assert response.status_code == 200
    assert len(base64.urlsafe_b64decode(response.context["secret"])) == 32
    assert SigningKey.objects.filter(api=ping_api, state="current").count() == 1


def test_admin_rotate_hs256_secret_needs_hs256(admin_client, ping_api):
    url = f"/admin/apis/api/{ping_api.pk}/rotate-hs256-secret/"
    assert admin_client.get(url).status_code == 404


def test_admin_revoke_page_for_current_key(admin_client, db):
    current = ensure_signing_keys("RS256")
    response = admin_client.get(f"/admin/apis/signingkey/{current.pk}/revoke/")
    content = response.content.decode()
    assert "cannot be revoked" in content
    assert 'value="Revoke the key"' not in content
