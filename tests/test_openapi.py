import io

import pytest
import yaml
from django.core.management import call_command

from apis.models import Scope


@pytest.fixture
def schema(client, ping_api):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operation(schema, path, method="get"):
    return schema["paths"][path][method]


def test_schema_validates_without_warnings(ping_api, tmp_path):
    output = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(output),
        stderr=io.StringIO(),
    )
    assert yaml.safe_load(output.read_text())["openapi"].startswith("3.0")


def test_schema_public_without_session(client, admin_user, ping_api):
    client.force_login(admin_user)
    assert client.get("/api/schema/").status_code == 200
    client.logout()
    assert client.get("/api/schema/").status_code == 200


def test_bearer_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"


def test_oauth2_scheme_scopes_from_registry(schema):
    flow = schema["components"]["securitySchemes"]["oauth2"]["flows"]
    assert list(flow) == ["clientCredentials"]
    assert flow["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert flow["clientCredentials"]["scopes"] == {
        "create:messages": "Post messages to the ping API.",
        "read:messages": "Read messages from the ping API.",
    }


def test_oauth2_scheme_follows_registry(client, ping_api):
    Scope.objects.create(api=ping_api, value="delete:messages", description="Delete.")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    scopes = schema["components"]["securitySchemes"]["oauth2"]["flows"][
        "clientCredentials"
    ]["scopes"]
    assert scopes["delete:messages"] == "Delete."


@pytest.mark.parametrize(
    ("path", "method", "scopes"),
    [
        ("/api/messages", "get", ["read:messages"]),
        ("/api/messages", "post", ["create:messages"]),
        ("/api/private-scoped", "get", ["read:messages"]),
        ("/api/ping/secure", "get", []),
        ("/api/private", "get", []),
        ("/api/claims", "get", []),
    ],
)
def test_operation_security_from_required_scopes(schema, path, method, scopes):
    security = operation(schema, path, method)["security"]
    assert {"bearerAuth": []} in security
    assert {"oauth2": scopes} in security
    assert {} not in security


@pytest.mark.parametrize("path", ["/api/ping", "/api/public"])
def test_public_operations_say_so(schema, path):
    public = operation(schema, path)
    assert public["security"] == [{}]
    assert "Public: no token needed." in public["description"]
    assert "401" not in public["responses"]


def test_scoped_operation_description(schema):
    description = operation(schema, "/api/messages")["description"]
    assert "Needs an access token with the scopes `read:messages`." in description


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/messages", "get"),
        ("/api/messages", "post"),
        ("/api/private-scoped", "get"),
    ],
)
def test_scoped_operations_document_401_and_403(schema, path, method):
    responses = operation(schema, path, method)["responses"]
    for status in ["401", "403"]:
        assert "WWW-Authenticate" in responses[status]["headers"]
        body = responses[status]["content"]["application/json"]["schema"]
        assert body["required"] == ["detail", "code"]
    forbidden = responses["403"]["content"]["application/json"]["schema"]
    assert "missing_scopes" in forbidden["properties"]


def test_token_only_operations_have_no_403(schema):
    responses = operation(schema, "/api/ping/secure")["responses"]
    assert "401" in responses
    assert "403" not in responses


def test_token_endpoint_documented(schema):
    token = operation(schema, "/oauth/token", "post")
    content = token["requestBody"]["content"]
    assert set(content) == {"application/x-www-form-urlencoded", "application/json"}
    assert {"clientSecretBasic": []} in token["security"]
    assert set(token["responses"]) == {"200", "400", "401", "429", "503"}
    codes = token["responses"]["400"]["content"]["application/json"]["schema"][
        "properties"
    ]["error"]["enum"]
    assert set(codes) == {
        "invalid_request",
        "invalid_scope",
        "invalid_target",
        "unsupported_grant_type",
    }


def test_discovery_documented(schema):
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ]:
        assert operation(schema, path)["security"] == [{}]
