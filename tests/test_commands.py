"""The management commands: bootstrap, create_application and mint_token."""

import io
import json
import re

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apis.credentials import generate_client_id
from apis.keys import key_ring
from apis.models import API, Application, ClientGrant, Scope, SigningKey

PING_IDENTIFIER = settings.PING_API_IDENTIFIER


def run_command(*args):
    """Run a management command and return what it wrote to stdout."""
    stdout = io.StringIO()
    call_command(*args, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def granted_values(application):
    grant = ClientGrant.objects.get(application=application)
    return sorted(grant.scopes.values_list("value", flat=True))


def registry_counts():
    return {
        "signing keys": SigningKey.objects.count(),
        "APIs": API.objects.count(),
        "scopes": Scope.objects.count(),
        "applications": Application.objects.count(),
        "grants": ClientGrant.objects.count(),
        "users": get_user_model().objects.count(),
    }


@pytest.fixture
def no_superuser_password(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)


# bootstrap


def test_bootstrap_creates_signing_key(db, no_superuser_password):
    output = run_command("bootstrap")

    signing_key = SigningKey.objects.get(state="current")
    assert signing_key.algorithm == "RS256"
    assert f"Signing key: RS256 {signing_key.kid}" in output
    assert SigningKey.objects.filter(state="next", algorithm="RS256").count() == 1


def test_bootstrap_creates_ping_api(db, no_superuser_password):
    output = run_command("bootstrap")

    api = API.objects.get()
    assert api.identifier == PING_IDENTIFIER
    assert api.name == "Ping API"
    assert f"Ping API: {PING_IDENTIFIER}" in output


def test_bootstrap_creates_ping_scopes(db, no_superuser_password):
    run_command("bootstrap")

    api = API.objects.get(identifier=PING_IDENTIFIER)
    values = sorted(api.scopes.values_list("value", flat=True))
    assert values == ["create:messages", "read:messages"]


def test_bootstrap_creates_test_application(db, no_superuser_password):
    run_command("bootstrap")

    api = API.objects.get(identifier=PING_IDENTIFIER)
    assert api.test_application is not None
    assert api.test_application.name == "Ping API (Test Application)"
    assert granted_values(api.test_application) == [
        "create:messages",
        "read:messages",
    ]


def test_bootstrap_password_from_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-9")

    output = run_command("bootstrap")

    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password("correct-horse-battery-9")
    assert "correct-horse-battery-9" not in output
    assert "DJANGO_SUPERUSER_PASSWORD" in output


def test_bootstrap_prints_generated_password(db, no_superuser_password):
    output = run_command("bootstrap")

    match = re.search(r"Admin account: admin, password (\S+) ", output)
    assert match is not None, output
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.check_password(match.group(1))


def test_bootstrap_prints_admin_url(db, no_superuser_password):
    output = run_command("bootstrap")

    assert f"{settings.GATEHOUSE_ISSUER}admin/" in output


def test_bootstrap_twice_creates_nothing(db, no_superuser_password):
    run_command("bootstrap")
    before = registry_counts()

    run_command("bootstrap")

    after = registry_counts()
    for name, count in before.items():
        assert after[name] == count, name


def test_bootstrap_twice_reports_admin(db, no_superuser_password):
    run_command("bootstrap")

    output = run_command("bootstrap")

    assert "Admin account: already present." in output
    assert "password" not in output


def test_bootstrap_twice_keeps_password(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-9")
    run_command("bootstrap")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another-password-42")

    run_command("bootstrap")

    user = get_user_model().objects.get(username="admin")
    assert user.check_password("correct-horse-battery-9")


def test_bootstrap_restores_missing_scope(db, no_superuser_password):
    run_command("bootstrap")
    Scope.objects.get(value="create:messages").delete()

    run_command("bootstrap")

    api = API.objects.get(identifier=PING_IDENTIFIER)
    assert api.scopes.filter(value="create:messages").exists()
    assert API.objects.count() == 1
    assert Application.objects.count() == 1


# create_application


def create_application_json(*args):
    """Run create_application with --json and return the parsed output."""
    output = run_command("create_application", *args, "--json")
    return json.loads(output)


def test_create_application_prints_one_object(ping_api):
    output = run_command(
        "create_application", "Orders worker", "--api", PING_IDENTIFIER, "--json"
    )

    credentials = json.loads(output)
    assert isinstance(credentials, dict)
    assert set(credentials) == {"client_id", "client_secret"}
    assert output.strip().count("\n") == 0


def test_create_application_secret_matches_hash(ping_api):
    credentials = create_application_json("Orders worker", "--api", PING_IDENTIFIER)

    application = Application.objects.get(client_id=credentials["client_id"])
    assert application.name == "Orders worker"
    assert application.client_secret_hash != credentials["client_secret"]
    assert application.check_client_secret(credentials["client_secret"])


def test_create_application_grants_scopes(ping_api):
    credentials = create_application_json(
        "Orders worker", "--api", PING_IDENTIFIER, "--scope", "read:messages"
    )

    application = Application.objects.get(client_id=credentials["client_id"])
    grant = ClientGrant.objects.get(application=application)
    assert grant.api == ping_api
    assert granted_values(application) == ["read:messages"]


def test_create_application_grants_repeated_scopes(ping_api):
    credentials = create_application_json(
        "Orders worker",
        "--api",
        PING_IDENTIFIER,
        "--scope",
        "read:messages",
        "--scope",
        "create:messages",
    )

    application = Application.objects.get(client_id=credentials["client_id"])
    assert granted_values(application) == ["create:messages", "read:messages"]


def test_create_application_without_scope(ping_api):
    credentials = create_application_json("Orders worker", "--api", PING_IDENTIFIER)

    application = Application.objects.get(client_id=credentials["client_id"])
    assert granted_values(application) == []


def test_create_application_plain_output(ping_api):
    output = run_command(
        "create_application", "Orders worker", "--api", PING_IDENTIFIER
    )

    application = Application.objects.get(name="Orders worker")
    assert f"client_id:     {application.client_id}" in output
    assert "client_secret: " in output


def test_create_application_unknown_api(ping_api):
    before = registry_counts()

    with pytest.raises(CommandError) as raised:
        run_command(
            "create_application", "Orders worker", "--api", "https://nowhere.test/"
        )

    assert str(raised.value) == "No API has the identifier 'https://nowhere.test/'."
    assert registry_counts() == before


def test_create_application_unknown_scope(ping_api):
    before = registry_counts()

    with pytest.raises(CommandError) as raised:
        run_command(
            "create_application",
            "Orders worker",
            "--api",
            PING_IDENTIFIER,
            "--scope",
            "delete:messages",
        )

    message = str(raised.value)
    assert "delete:messages" in message
    assert PING_IDENTIFIER in message
    assert registry_counts() == before


def test_create_application_invalid_name(ping_api):
    before = registry_counts()

    with pytest.raises(CommandError) as raised:
        run_command("create_application", "<b>Orders", "--api", PING_IDENTIFIER)

    assert str(raised.value) == (
        "Invalid application: name: The name may not contain < or >."
    )
    assert registry_counts() == before


# mint_token


def mint(api, client_id, scopes=()):
    """Run mint_token and return the token it printed."""
    # The `--client-id=ID` form keeps argparse from reading a client id that
    # starts with "-" as an option.
    args = ["--api", api, f"--client-id={client_id}"]
    for scope in scopes:
        args += ["--scope", scope]
    return run_command("mint_token", *args).strip()


def decode_token(token):
    """Verify `token` with the key ring's public key and return header and claims."""
    header = jwt.get_unverified_header(token)
    verification_key = key_ring.verification_key(header["kid"])
    assert verification_key is not None, header
    claims = jwt.decode(
        token,
        verification_key.key,
        algorithms=[verification_key.algorithm],
        audience=PING_IDENTIFIER,
        issuer=settings.GATEHOUSE_ISSUER,
    )
    return header, claims


def test_mint_token_prints_valid_jwt(make_application):
    application, _ = make_application(scopes=["read:messages"])

    token = mint(PING_IDENTIFIER, application.client_id, scopes=["read:messages"])

    header, claims = decode_token(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == settings.GATEHOUSE_ISSUER
    assert claims["aud"] == PING_IDENTIFIER
    assert claims["scope"] == "read:messages"
    assert claims["client_id"] == application.client_id
    assert claims["sub"] == f"{application.client_id}@clients"


def test_mint_token_defaults_to_granted_scopes(make_application):
    application, _ = make_application(scopes=["read:messages", "create:messages"])

    token = mint(PING_IDENTIFIER, application.client_id)

    _, claims = decode_token(token)
    assert claims["scope"] == "create:messages read:messages"


def test_mint_token_auth0_profile(make_application, ping_api):
    ping_api.token_profile = API.TokenProfile.AUTH0
    ping_api.save()
    application, _ = make_application(scopes=["read:messages"])

    token = mint(PING_IDENTIFIER, application.client_id)

    header, _ = decode_token(token)
    assert header["typ"] == "JWT"


def test_mint_token_scope_not_granted(make_application):
    application, _ = make_application(scopes=["read:messages"])

    with pytest.raises(CommandError) as raised:
        mint(PING_IDENTIFIER, application.client_id, scopes=["create:messages"])

    message = str(raised.value)
    assert message.startswith("invalid_scope: ")
    assert "create:messages" in message


def test_mint_token_unknown_client_id(ping_api):
    with pytest.raises(CommandError) as raised:
        mint(PING_IDENTIFIER, "no-such-client")

    assert str(raised.value) == "No application has the client_id 'no-such-client'."


def test_mint_token_unknown_api(make_application):
    application, _ = make_application(scopes=["read:messages"])

    with pytest.raises(CommandError) as raised:
        mint("https://nowhere.test/", application.client_id)

    message = str(raised.value)
    assert message.startswith("invalid_target: ")
    assert "https://nowhere.test/" in message


def test_mint_token_inactive_application(make_application):
    application, _ = make_application(scopes=["read:messages"])
    application.active = False
    application.save()

    with pytest.raises(CommandError) as raised:
        mint(PING_IDENTIFIER, application.client_id)

    assert str(raised.value) == "invalid_client: The application is inactive."


def test_generated_client_ids_start_without_dash():
    client_ids = [generate_client_id() for _ in range(2000)]

    assert [client_id for client_id in client_ids if client_id.startswith("-")] == []


def test_mint_token_dash_client_id(ping_api):
    application = Application(name="Dash client", client_id="-" + "a" * 31)
    application.set_client_secret()
    application.save()
    ClientGrant.objects.create(application=application, api=ping_api)

    token = mint(PING_IDENTIFIER, application.client_id)

    _, claims = decode_token(token)
    assert claims["client_id"] == application.client_id


def test_bootstrap_invalid_ping_identifier(settings, db):
    settings.PING_API_IDENTIFIER = "has a space"
    with pytest.raises(CommandError, match="PING_API_IDENTIFIER"):
        call_command("bootstrap", stdout=io.StringIO())
    assert not API.objects.exists()


def test_create_application_undecodable_name(ping_api):
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command(
            "create_application",
            "bad \udcff name",
            "--api",
            ping_api.identifier,
            stdout=io.StringIO(),
        )


def test_mint_token_undecodable_client_id(ping_api):
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command(
            "mint_token",
            "--api",
            ping_api.identifier,
            "--client-id=\udcff",
            stdout=io.StringIO(),
        )


def test_mint_token_undecryptable_key(make_application, settings):
    application, _ = make_application()
    key_ring.signing_key()
    key_ring.clear()
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = (
        "b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU"
    )
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command(
            "mint_token",
            "--api",
            "https://ping.example.com/api",
            f"--client-id={application.client_id}",
            stdout=io.StringIO(),
        )


def test_bootstrap_prints_test_application_credentials(db):
    output = io.StringIO()
    call_command("bootstrap", stdout=output)
    match = re.search(
        r"client_id (\w+), client_secret (\S+) \(shown only now\)", output.getvalue()
    )
    assert match is not None
    application = Application.objects.get(client_id=match.group(1))
    assert application.check_client_secret(match.group(2))
    assert application.name == "Ping API (Test Application)"


def test_bootstrap_twice_prints_no_secret(db):
    call_command("bootstrap", stdout=io.StringIO())
    output = io.StringIO()
    call_command("bootstrap", stdout=output)
    assert "client_secret" not in output.getvalue()
