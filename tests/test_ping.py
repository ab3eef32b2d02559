import pytest

from ping.models import Message
from tests.conftest import bearer

PROTECTED = ["/api/ping/secure", "/api/messages", "/api/claims", "/api/private"]


@pytest.mark.parametrize("path", ["/api/ping", "/api/public"])
def test_public_without_token(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["message"]


@pytest.mark.parametrize("path", ["/api/ping", "/api/public"])
def test_public_ignores_garbage_token(client, db, path):
    response = client.get(path, HTTP_AUTHORIZATION="Bearer garbage!!")
    assert response.status_code == 200


@pytest.mark.parametrize("path", [*PROTECTED, "/api/private-scoped"])
def test_protected_without_token(client, db, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="gatehouse"'


@pytest.mark.parametrize("path", [*PROTECTED, "/api/private-scoped"])
def test_protected_with_bad_token(client, db, path):
    response = client.get(path, HTTP_AUTHORIZATION="Bearer abc.def.ghi")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_secure_ping_with_token(client, make_token):
    response = client.get("/api/ping/secure", **bearer(make_token()))
    assert response.status_code == 200
    assert response.json()["client_id"]


def test_private_with_token_without_scope(client, make_token):
    assert client.get("/api/private", **bearer(make_token())).status_code == 200


def test_private_scoped_allow(client, make_token):
    token = make_token(scopes=["read:messages"])
    assert client.get("/api/private-scoped", **bearer(token)).status_code == 200


def test_private_scoped_deny(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.get("/api/private-scoped", **bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_messages_list_allow(client, make_token):
    Message.objects.create(text="hello", client_id="someone")
    token = make_token(scopes=["read:messages"])
    response = client.get("/api/messages", **bearer(token))
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"][0]["text"] == "hello"


def test_messages_list_deny(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.get("/api/messages", **bearer(token))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "The access token lacks the scope read:messages.",
        "code": "insufficient_scope",
        "required_scopes": ["read:messages"],
        "missing_scopes": ["read:messages"],
    }
    assert response["WWW-Authenticate"] == (
        'Bearer realm="gatehouse", error="insufficient_scope", '
        'error_description="The access token lacks the scope read:messages.", '
        'scope="read:messages"'
    )


def test_messages_list_deny_without_scopes(client, make_token):
    response = client.get("/api/messages", **bearer(make_token()))
    assert response.status_code == 403


def test_messages_create_allow(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages",
        {"text": "  hi  "},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201
    message = Message.objects.get()
    assert message.text == "hi"
    assert response.json()["client_id"] == message.client_id
    assert message.client_id


def test_messages_create_deny(client, make_token):
    token = make_token(scopes=["read:messages"])
    response = client.post(
        "/api/messages",
        {"text": "hi"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 403
    assert 'scope="create:messages"' in response["WWW-Authenticate"]
    assert not Message.objects.exists()


def test_messages_create_without_token(client, db):
    response = client.post(
        "/api/messages", {"text": "hi"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": None}, "text"),
        ({"text": ["a"]}, "text"),
    ],
)
def test_messages_create_invalid_body(client, make_token, body, field):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages", body, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Message.objects.exists()


def test_messages_create_malformed_json(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages", "{oops", content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_messages_create_unsupported_media(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages", "text=hi", content_type="text/plain", **bearer(token)
    )
    assert response.status_code == 415


def test_messages_unmapped_method(client, make_token):
    token = make_token(scopes=["read:messages", "create:messages"])
    response = client.delete("/api/messages", **bearer(token))
    assert response.status_code == 405


def test_messages_head_uses_get_scopes(client, make_token):
    allowed = make_token(scopes=["read:messages"])
    denied = make_token(scopes=["create:messages"])
    assert client.head("/api/messages", **bearer(allowed)).status_code == 200
    assert client.head("/api/messages", **bearer(denied)).status_code == 403


def test_messages_pagination_limit(client, make_token):
    Message.objects.bulk_create(Message(text=str(i), client_id="c") for i in range(5))
    token = make_token(scopes=["read:messages"])
    response = client.get("/api/messages?limit=2&offset=1", **bearer(token))
    assert len(response.json()["results"]) == 2


def test_messages_bad_pagination(client, make_token):
    token = make_token(scopes=["read:messages"])
    response = client.get("/api/messages?limit=abc&offset=-5", **bearer(token))
    assert response.status_code == 200


def test_unknown_api_path_json_404(client, db, settings):
    settings.DEBUG = False
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "text", [5, 1.5e300, True, "bell \x07", "escape \x1b[31m", "rtl \u202e", "zw\u200b"]
)
def test_messages_create_rejects_non_text(client, make_token, text):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages",
        {"text": text},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 400
    assert "text" in response.json()
    assert not Message.objects.exists()


def test_messages_create_keeps_line_breaks(client, make_token):
    token = make_token(scopes=["create:messages"])
    response = client.post(
        "/api/messages",
        {"text": "line one\nline two\ttab"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201
    assert Message.objects.get().text == "line one\nline two\ttab"


def test_messages_create_deeply_nested_json(client, make_token):
    token = make_token(scopes=["create:messages"])
    body = '{"text": ' + "[" * 100000 + "]" * 100000 + "}"
    response = client.post(
        "/api/messages", body, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_messages_options_needs_no_scope(client, make_token):
    response = client.options("/api/messages", **bearer(make_token()))
    assert response.status_code == 200


def test_bad_request_json_400(client, db, settings):
    settings.DEBUG = False
    response = client.get("/api/ping", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
