import json
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings

from apis.keys import key_ring
from apis.models import API, TokenRecord, TokenRequestFailure
from apis.services import create_api
from tests.conftest import basic_auth

TOKEN_URL = "/oauth/token"
PING = "https://ping.example.com/api"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def reader(make_application):
    return make_application(name="Reader", scopes=["read:messages"])


def post_form(client, data, url=TOKEN_URL, **extra):
    return client.post(url, urlencode(data), content_type=FORM, **extra)


def post_json(client, data, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(TOKEN_URL, body, content_type="application/json", **extra)


def credentials(application, secret):
    return {"client_id": application.client_id, "client_secret": secret}


def assert_error(response, status, error):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    assert body["error_description"].isascii()
    assert response["Cache-Control"] == "no-store"


def decode(access_token):
    header = jwt.get_unverified_header(access_token)
    key = key_ring.verification_key(header["kid"])
    claims = jwt.decode(
        access_token,
        key.key,
        algorithms=["RS256"],
        audience=PING,
        issuer=settings.GATEHOUSE_ISSUER,
    )
    return header, claims


# Success


def test_token_form_post_credentials(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": PING}
        | credentials(application, secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == "read:messages"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_token_basic_credentials(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": PING},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )
    assert response.status_code == 200


def test_token_basic_scheme_case_insensitive(client, reader):
    application, secret = reader
    header = basic_auth(application.client_id, secret).replace("Basic", "bAsIc")
    response = post_form(
        client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 200


def test_token_basic_form_encoded_credentials(client, reader):
    # RFC 6749 section 2.3.1: id and secret are form-encoded before base64.
    application, secret = reader
    encoded_id = "".join(f"%{byte:02X}" for byte in application.client_id.encode())
    response = post_form(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(encoded_id, secret),
    )
    assert response.status_code == 200


def test_token_json_body(client, reader):
    application, secret = reader
    response = post_json(
        client,
        {"grant_type": "client_credentials", "audience": PING}
        | credentials(application, secret),
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "read:messages"


def test_token_trailing_slash_no_redirect(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, secret),
        url=TOKEN_URL + "/",
    )
    assert response.status_code == 200


def test_token_header_and_claims(client, reader):
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    header, claims = decode(response.json()["access_token"])

    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == key_ring.signing_key().kid
    assert claims["iss"] == settings.GATEHOUSE_ISSUER
    assert claims["sub"] == f"{application.client_id}@clients"
    assert claims["aud"] == PING
    assert claims["client_id"] == application.client_id
    assert claims["azp"] == application.client_id
    assert claims["gty"] == "client-credentials"
    assert claims["scope"] == "read:messages"
    assert claims["exp"] - claims["iat"] == 86400
    assert claims["jti"]


def test_token_jti_unique(client, reader):
    application, secret = reader
    data = {"grant_type": "client_credentials"} | credentials(application, secret)
    first = decode(post_form(client, data).json()["access_token"])[1]
    second = decode(post_form(client, data).json()["access_token"])[1]
    assert first["jti"] != second["jti"]


def test_token_auth0_profile_typ(client, reader):
    API.objects.filter(identifier=PING).update(token_profile=API.TokenProfile.AUTH0)
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    header, _ = decode(response.json()["access_token"])
    assert header["typ"] == "JWT"


def test_token_lifetime_from_api(client, reader):
    API.objects.filter(identifier=PING).update(token_lifetime_seconds=120)
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    _, claims = decode(response.json()["access_token"])
    assert response.json()["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


def test_token_resource_parameter(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "resource": PING}
        | credentials(application, secret),
    )
    assert response.status_code == 200


def test_token_repeated_same_resource(client, reader):
    # RFC 8707 section 2 allows resource more than once.
    application, secret = reader
    response = client.post(
        TOKEN_URL,
        f"grant_type=client_credentials&resource={PING}&resource={PING}"
        f"&client_id={application.client_id}&client_secret={secret}",
        content_type=FORM,
    )
    assert response.status_code == 200


def test_token_audience_equal_resource(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": PING, "resource": PING}
        | credentials(application, secret),
    )
    assert response.status_code == 200


def test_token_scope_subset(client, make_application):
    application, secret = make_application(scopes=["read:messages", "create:messages"])
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "create:messages"}
        | credentials(application, secret),
    )
    assert response.json()["scope"] == "create:messages"


def test_token_scope_omitted_grants_all(client, make_application):
    application, secret = make_application(scopes=["read:messages", "create:messages"])
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert response.json()["scope"] == "create:messages read:messages"


def test_token_scope_duplicates_collapsed(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "read:messages  read:messages"}
        | credentials(application, secret),
    )
    assert response.json()["scope"] == "read:messages"


def test_token_no_scopes_leaves_scope_out(client, make_application):
    application, secret = make_application(scopes=[])
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert response.status_code == 200
    assert "scope" not in response.json()
    _, claims = decode(response.json()["access_token"])
    assert "scope" not in claims


def test_token_empty_scope_treated_as_omitted(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": ""}
        | credentials(application, secret),
    )
    assert response.json()["scope"] == "read:messages"


def test_token_unknown_parameters_ignored(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "colour": "blue"}
        | credentials(application, secret),
    )
    assert response.status_code == 200


def test_token_default_audience_setting(client, settings, make_application):
    other = create_api(name="Other", identifier="https://other.example.com/")
    application, secret = make_application(scopes=["read:messages"])
    application.grants.create(api=other)
    settings.GATEHOUSE_DEFAULT_AUDIENCE = PING
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert response.status_code == 200
    assert decode(response.json()["access_token"])[1]["aud"] == PING


def test_token_single_grant_is_default(client, reader):
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert decode(response.json()["access_token"])[1]["aud"] == PING


def test_token_chosen_among_grants(client, make_application):
    other = create_api(
        name="Other", identifier="urn:other", scopes=[("read:other", "")]
    )
    application, secret = make_application(scopes=["read:messages"])
    grant = application.grants.create(api=other)
    grant.scopes.set(other.scopes.all())
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": "urn:other"}
        | credentials(application, secret),
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "urn:other"
    assert response.json()["scope"] == "read:other"


# Client authentication errors


def test_token_wrong_secret(client, reader):
    application, _ = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, "wrong"),
    )
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="gatehouse"'


def test_token_wrong_secret_basic_challenge(client, reader):
    application, _ = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong"),
    )
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="gatehouse"'


def test_token_unknown_client(client, reader):
    response = post_form(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": "nobody",
            "client_secret": "x",
        },
    )
    assert_error(response, 401, "invalid_client")
    assert response.json()["error_description"] == "Client authentication failed."


def test_token_unknown_and_wrong_secret_alike(client, reader):
    application, _ = reader
    data = {"grant_type": "client_credentials", "client_secret": "x"}
    unknown = post_form(client, data | {"client_id": "nobody"})
    wrong = post_form(client, data | {"client_id": application.client_id})
    assert unknown.json() == wrong.json()


def test_token_overlong_client_id(client, reader):
    response = post_form(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": "a" * 5000,
            "client_secret": "x",
        },
    )
    assert_error(response, 401, "invalid_client")


def test_token_inactive_client(client, reader):
    application, secret = reader
    application.active = False
    application.save()
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert_error(response, 401, "invalid_client")
    assert "inactive" in response.json()["error_description"]


def test_token_no_client_authentication(client, reader):
    response = post_form(client, {"grant_type": "client_credentials"})
    assert_error(response, 401, "invalid_client")


def test_token_client_id_without_secret(client, reader):
    application, _ = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "client_id": application.client_id},
    )
    assert_error(response, 401, "invalid_client")
    assert "client_secret" in response.json()["error_description"]


def test_token_secret_without_client_id(client, reader):
    response = post_form(
        client, {"grant_type": "client_credentials", "client_secret": "x"}
    )
    assert_error(response, 401, "invalid_client")
    assert "client_id" in response.json()["error_description"]


def test_token_two_authentication_methods(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, secret),
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )
    assert_error(response, 400, "invalid_request")


def test_token_basic_with_matching_body_client_id(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "client_id": application.client_id},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )
    assert response.status_code == 200


def test_token_basic_with_other_body_client_id(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "client_id": "someone-else"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + "bm8tY29sb24=",  # "no-colon"
        "Basic " + "OnNlY3JldA==",  # ":secret"
        "Basic " + "aWQ6",  # "id:"
        "Basic " + "/w==",  # not UTF-8
        "Basic " + "aWQ6JUZG",  # "id:%FF", a bad percent-encoding
        "Basic " + "aWQAOnNlY3JldA==",  # a NUL in the id
        "Basic zé",
        "Bearer abc",
        "Digest username=x",
    ],
)
def test_token_malformed_authorization(client, reader, header):
    response = post_form(
        client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=header
    )
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="gatehouse"'


def test_token_secret_in_query_string(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "client_id": application.client_id},
        url=f"{TOKEN_URL}?client_secret={secret}",
    )
    assert_error(response, 400, "invalid_request")


# Request errors


def test_token_get_not_allowed(client, db):
    response = client.get(TOKEN_URL)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_token_other_methods_not_allowed(client, db, method):
    response = getattr(client, method)(TOKEN_URL)
    assert response.status_code == 405


def test_token_grant_type_missing(client, reader):
    application, secret = reader
    response = post_form(client, credentials(application, secret))
    assert_error(response, 400, "invalid_request")
    assert "grant_type" in response.json()["error_description"]


def test_token_grant_type_empty(client, reader):
    application, secret = reader
    response = post_form(client, {"grant_type": ""} | credentials(application, secret))
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    ["password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"],
)
def test_token_unsupported_grant_type(client, reader, grant_type):
    application, secret = reader
    response = post_form(
        client, {"grant_type": grant_type} | credentials(application, secret)
    )
    assert_error(response, 400, "unsupported_grant_type")


def test_token_repeated_parameter(client, reader):
    application, secret = reader
    response = client.post(
        TOKEN_URL,
        "grant_type=client_credentials&grant_type=client_credentials"
        f"&client_id={application.client_id}&client_secret={secret}",
        content_type=FORM,
    )
    assert_error(response, 400, "invalid_request")
    assert "grant_type" in response.json()["error_description"]


def test_token_repeated_scope(client, reader):
    application, secret = reader
    response = client.post(
        TOKEN_URL,
        "grant_type=client_credentials&scope=a&scope=b"
        f"&client_id={application.client_id}&client_secret={secret}",
        content_type=FORM,
    )
    assert_error(response, 400, "invalid_request")


def test_token_json_duplicate_key(client, reader):
    application, secret = reader
    body = (
        '{"grant_type": "client_credentials", "grant_type": "password", '
        f'"client_id": "{application.client_id}", "client_secret": "{secret}"}}'
    )
    response = post_json(client, body)
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', "null", b"\xff\xfe", ""])
def test_token_invalid_json(client, db, body):
    response = post_json(client, body)
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("value", [1, True, ["client_credentials"], {"a": 1}])
def test_token_json_non_string_value(client, reader, value):
    application, secret = reader
    response = post_json(
        client, {"grant_type": value} | credentials(application, secret)
    )
    assert_error(response, 400, "invalid_request")


def test_token_json_null_treated_as_omitted(client, reader):
    application, secret = reader
    response = post_json(
        client,
        {"grant_type": "client_credentials", "scope": None}
        | credentials(application, secret),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data; boundary=x", "application/xml"]
)
def test_token_unsupported_content_type(client, db, content_type):
    response = client.post(TOKEN_URL, "grant_type=x", content_type=content_type)
    assert_error(response, 400, "invalid_request")


def test_token_body_too_large(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_form(client, {"grant_type": "client_credentials", "x": "a" * 5000})
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("value", ["a\x00b", "line\nbreak", "\x7f"])
def test_token_control_characters(client, reader, value):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": value}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_request")


def test_token_lone_surrogate_in_json(client, reader):
    application, secret = reader
    body = (
        '{"grant_type": "client_credentials", "audience": "\\ud800", '
        f'"client_id": "{application.client_id}", "client_secret": "{secret}"}}'
    )
    response = post_json(client, body)
    assert_error(response, 400, "invalid_request")


def test_token_nul_in_client_id(client, reader):
    response = post_form(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": "a\x00",
            "client_secret": "x",
        },
    )
    assert_error(response, 400, "invalid_request")


# Audience and scope errors


def test_token_unknown_audience(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": "https://nowhere.example/"}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_target")
    assert "https://nowhere.example/" in response.json()["error_description"]


def test_token_audience_not_granted(client, reader):
    create_api(name="Other", identifier="https://other.example.com/")
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": "https://other.example.com/"}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_target")
    assert "not authorized" in response.json()["error_description"]
    assert "https://other.example.com/" in response.json()["error_description"]


def test_token_audience_description_sanitized(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": 'é"\\' + "x" * 500}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_target")
    description = response.json()["error_description"]
    assert '"' not in description
    assert "\\" not in description
    assert len(description) < 300


def test_token_audience_and_resource_differ(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {
            "grant_type": "client_credentials",
            "audience": PING,
            "resource": "https://other.example.com/",
        }
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "resource", ["relative/path", "https://ping.example.com/api#frag", "//host/x"]
)
def test_token_invalid_resource(client, reader, resource):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "resource": resource}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_target")


def test_token_several_resources(client, reader):
    application, secret = reader
    response = client.post(
        TOKEN_URL,
        "grant_type=client_credentials&resource=urn:a&resource=urn:b"
        f"&client_id={application.client_id}&client_secret={secret}",
        content_type=FORM,
    )
    assert_error(response, 400, "invalid_target")


def test_token_missing_audience_with_two_grants(client, make_application):
    other = create_api(name="Other", identifier="https://other.example.com/")
    application, secret = make_application(scopes=["read:messages"])
    application.grants.create(api=other)
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert_error(response, 400, "invalid_request")
    assert "audience" in response.json()["error_description"]


def test_token_default_audience_not_granted(client, settings, reader):
    create_api(name="Other", identifier="https://other.example.com/")
    settings.GATEHOUSE_DEFAULT_AUDIENCE = "https://other.example.com/"
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert_error(response, 400, "invalid_target")


def test_token_scope_not_granted(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {
            "grant_type": "client_credentials",
            "scope": "read:messages create:messages delete:everything",
        }
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")
    description = response.json()["error_description"]
    assert "create:messages delete:everything" in description
    assert "read:messages" not in description.split("scopes")[1].split("for")[0]


def test_token_scope_case_sensitive(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "READ:messages"}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")


def test_token_scope_malformed(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": 'read:messages "quoted"'}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")


def test_token_scope_of_other_api_not_granted(client, make_application):
    other = create_api(
        name="Other", identifier="urn:other", scopes=[("read:other", "")]
    )
    application, secret = make_application(scopes=["read:messages"])
    grant = application.grants.create(api=other)
    grant.scopes.set(other.scopes.all())
    response = post_form(
        client,
        {"grant_type": "client_credentials", "audience": PING, "scope": "read:other"}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")


def test_token_revoked_grant_scope(client, reader, ping_api):
    application, secret = reader
    ping_api.scopes.get(value="read:messages").delete()
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "read:messages"}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")


def test_token_rotated_secret(client, reader):
    from apis.services import rotate_client_secret

    application, old_secret = reader
    new_secret = rotate_client_secret(application)
    old = post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, old_secret),
    )
    new = post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, new_secret),
    )
    assert old.status_code == 401
    assert new.status_code == 200


def test_token_endpoint_logs_no_secret(client, reader, caplog):
    application, secret = reader
    caplog.set_level("DEBUG")
    post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, secret),
    )
    post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, secret + "x"),
    )
    assert secret not in caplog.text
    assert "eyJ" not in caplog.text


def test_token_deeply_nested_json(client, db):
    body = "[" * 100000 + "]" * 100000
    assert_error(post_json(client, body), 400, "invalid_request")


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "rot13", "base64"])
def test_token_non_utf8_charset(client, reader, charset):
    response = client.generic(
        "POST",
        TOKEN_URL,
        b"grant_type=client_credentials",
        content_type=f"{FORM}; charset={charset}",
    )
    assert_error(response, 400, "invalid_request")


def test_token_invalid_utf8_in_form(client, reader):
    application, secret = reader
    response = client.post(
        TOKEN_URL,
        f"grant_type=client_credentials%FF&client_id={application.client_id}"
        f"&client_secret={secret}",
        content_type=FORM,
    )
    assert_error(response, 400, "invalid_request")


def test_token_too_many_query_parameters(client, db):
    query = "&".join(f"q{index}=1" for index in range(1001))
    response = post_form(
        client, {"grant_type": "client_credentials"}, url=f"{TOKEN_URL}?{query}"
    )
    assert_error(response, 400, "invalid_request")


def test_token_too_many_body_parameters(client, db):
    body = "&".join(f"q{index}=1" for index in range(200))
    response = client.post(TOKEN_URL, body, content_type=FORM)
    assert_error(response, 400, "invalid_request")


def test_token_empty_multipart(client, db):
    response = client.post(TOKEN_URL, "", content_type="multipart/form-data")
    assert_error(response, 400, "invalid_request")


def test_token_unknown_parameter_with_control_character(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "colour": "\x00"}
        | credentials(application, secret),
    )
    assert response.status_code == 200


def test_token_unknown_json_parameter_any_type(client, reader):
    application, secret = reader
    response = post_json(
        client,
        {"grant_type": "client_credentials", "extra": {"nested": [1, 2]}}
        | credentials(application, secret),
    )
    assert response.status_code == 200


def test_token_scope_only_spaces(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "   "}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")


def test_token_huge_scope_description_bounded(client, reader):
    application, secret = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials", "scope": "a" * 200000}
        | credentials(application, secret),
    )
    assert_error(response, 400, "invalid_scope")
    assert len(response.json()["error_description"]) <= 400


def test_token_undecryptable_key_is_server_error(client, reader, settings, caplog):
    application, secret = reader
    key_ring.signing_key()
    key_ring.clear()
    original = settings.GATEHOUSE_KEY_ENCRYPTION_KEY
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY = (
        "b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU"
    )
    settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = [original]
    # The signing key still decrypts under the fallback.
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert response.status_code == 200

    settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = []
    key_ring.clear()
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert_error(response, 500, "server_error")
    assert "cannot be decrypted" in caplog.text


def test_token_browser_script_gets_no_basic_challenge(client, reader):
    application, _ = reader
    response = post_form(
        client,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong"),
        HTTP_SEC_FETCH_MODE="cors",
    )
    assert_error(response, 401, "invalid_client")
    assert "WWW-Authenticate" not in response


def test_token_throttles_failures_per_client(client, reader, settings):
    settings.GATEHOUSE_AUTH_FAILURES_PER_CLIENT = 3
    application, secret = reader
    wrong = {"grant_type": "client_credentials"} | credentials(application, "wrong")
    for _ in range(3):
        assert post_form(client, wrong).status_code == 401
    throttled = post_form(client, wrong)
    assert_error(throttled, 429, "too_many_requests")
    assert 0 < int(throttled["Retry-After"]) <= 60
    # The right secret waits too, or the limit would not slow a guesser.
    right = {"grant_type": "client_credentials"} | credentials(application, secret)
    assert post_form(client, right).status_code == 429


def test_token_throttle_is_per_client(client, make_application, settings):
    settings.GATEHOUSE_AUTH_FAILURES_PER_CLIENT = 2
    attacked, _ = make_application(name="Attacked")
    other, other_secret = make_application(name="Other")
    wrong = {"grant_type": "client_credentials"} | credentials(attacked, "wrong")
    for _ in range(3):
        post_form(client, wrong)
    right = {"grant_type": "client_credentials"} | credentials(other, other_secret)
    assert post_form(client, right).status_code == 200


def test_token_throttles_failures_per_address(client, reader, settings):
    settings.GATEHOUSE_AUTH_FAILURES_PER_ADDRESS = 4
    for index in range(4):
        data = {
            "grant_type": "client_credentials",
            "client_id": f"guess-{index}",
            "client_secret": "x",
        }
        assert post_form(client, data).status_code == 401
    data = {
        "grant_type": "client_credentials",
        "client_id": "new",
        "client_secret": "x",
    }
    assert_error(post_form(client, data), 429, "too_many_requests")
    elsewhere = post_form(client, data, REMOTE_ADDR="192.0.2.7")
    assert elsewhere.status_code == 401


def test_token_throttle_counts_no_successes(client, reader, settings):
    settings.GATEHOUSE_AUTH_FAILURES_PER_CLIENT = 2
    application, secret = reader
    right = {"grant_type": "client_credentials"} | credentials(application, secret)
    for _ in range(5):
        assert post_form(client, right).status_code == 200


def test_token_recorded_without_the_token(client, reader):
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    token = response.json()["access_token"]
    record = TokenRecord.objects.get()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert record.jti == claims["jti"]
    assert record.source == "endpoint"
    assert record.client_id == application.client_id
    assert record.scopes == "read:messages"
    assert record.issued_by is None
    assert token not in str(list(TokenRecord.objects.values()))


def test_token_failure_recorded_without_secret(client, reader):
    application, secret = reader
    post_form(
        client,
        {"grant_type": "client_credentials"} | credentials(application, secret + "x"),
    )
    failure = TokenRequestFailure.objects.get()
    assert failure.error == "invalid_client"
    assert failure.client_id == application.client_id
    assert failure.address == "127.0.0.1"
    assert secret not in str(list(TokenRequestFailure.objects.values()))


def test_token_hourly_quota(client, reader):
    application, secret = reader
    application.max_tokens_per_hour = 2
    application.save()
    data = {"grant_type": "client_credentials"} | credentials(application, secret)
    first = post_form(client, data)
    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    assert post_form(client, data)["X-RateLimit-Remaining"] == "0"
    refused = post_form(client, data)
    assert_error(refused, 429, "too_many_requests")
    assert "2 tokens per hour" in refused.json()["error_description"]
    assert int(refused["Retry-After"]) <= 3600
    assert refused["X-RateLimit-Remaining"] == "0"
    assert TokenRecord.objects.count() == 2
    assert not TokenRequestFailure.objects.exists()


def test_token_daily_quota_tightest_reported(client, reader):
    application, secret = reader
    application.max_tokens_per_hour = 100
    application.max_tokens_per_day = 5
    application.save()
    data = {"grant_type": "client_credentials"} | credentials(application, secret)
    response = post_form(client, data)
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"


def test_token_no_quota_no_headers(client, reader):
    application, secret = reader
    data = {"grant_type": "client_credentials"} | credentials(application, secret)
    assert "X-RateLimit-Limit" not in post_form(client, data)


def test_token_records_can_be_turned_off(client, reader, settings):
    settings.GATEHOUSE_RECORD_TOKENS = False
    application, secret = reader
    response = post_form(
        client, {"grant_type": "client_credentials"} | credentials(application, secret)
    )
    assert response.status_code == 200
    assert not TokenRecord.objects.exists()
