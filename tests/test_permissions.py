"""TokenHasScopes on throwaway views, declared here."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from scopes.permissions import AnyOf, TokenHasScopes, required_scopes_for
from tests.conftest import bearer


class AllOfView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = ["read:messages", "create:messages"]

    def get(self, request):
        return Response({"scopes": sorted(request.auth.scopes)})


class PerMethodView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = {"GET": ["read:messages"], "PUT": ["create:messages"]}

    def get(self, request):
        return Response({})

    def put(self, request):
        return Response({})

    def post(self, request):
        return Response({})


class NoScopesView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = []

    def get(self, request):
        return Response({})


urlpatterns = [
    path("all-of", AllOfView.as_view()),
    path("per-method", PerMethodView.as_view()),
    path("no-scopes", NoScopesView.as_view()),
]

pytestmark = pytest.mark.urls(__name__)


def test_all_of_allow(client, make_token):
    token = make_token(scopes=["read:messages", "create:messages"])
    response = client.get("/all-of", **bearer(token))
    assert response.status_code == 200
    assert response.json()["scopes"] == ["create:messages", "read:messages"]


def test_all_of_deny_lists_missing(client, make_token):
    token = make_token(scopes=["read:messages"])
    response = client.get("/all-of", **bearer(token))
    assert response.status_code == 403
    assert response.json()["missing_scopes"] == ["create:messages"]
    assert response.json()["required_scopes"] == ["read:messages", "create:messages"]
    assert 'scope="read:messages create:messages"' in response["WWW-Authenticate"]


def test_all_of_deny_both_missing(client, make_token):
    response = client.get("/all-of", **bearer(make_token()))
    assert response.json()["detail"] == (
        "The access token lacks the scopes read:messages create:messages."
    )


def test_per_method_allow(client, make_token):
    token = make_token(scopes=["create:messages"])
    assert client.put("/per-method", **bearer(token)).status_code == 200


def test_per_method_deny(client, make_token):
    token = make_token(scopes=["create:messages"])
    assert client.get("/per-method", **bearer(token)).status_code == 403


def test_per_method_unlisted_method_denied(client, make_token):
    token = make_token(scopes=["read:messages", "create:messages"])
    response = client.post("/per-method", **bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_empty_requirement_needs_valid_token(client, make_token):
    assert client.get("/no-scopes", **bearer(make_token())).status_code == 200
    assert client.get("/no-scopes").status_code == 401


def test_permissions_claim_counts(client, sign):
    token = sign({"scope": None, "permissions": ["read:messages", "create:messages"]})
    assert client.get("/all-of", **bearer(token)).status_code == 200


def test_scope_and_permissions_combined(client, sign):
    token = sign({"scope": "read:messages", "permissions": ["create:messages"]})
    assert client.get("/all-of", **bearer(token)).status_code == 200


def test_scope_claim_names_setting(client, sign, settings):
    settings.GATEHOUSE_SCOPES = {**settings.GATEHOUSE_SCOPES, "SCOPE_CLAIMS": ["scp"]}
    token = sign({"scope": None, "scp": ["read:messages", "create:messages"]})
    assert client.get("/all-of", **bearer(token)).status_code == 200


def test_missing_required_scopes_is_configuration_error():
    class Misconfigured(APIView):
        pass

    with pytest.raises(ImproperlyConfigured):
        required_scopes_for(Misconfigured(), "GET")


def test_string_required_scopes_is_configuration_error():
    class Misconfigured(APIView):
        required_scopes = "read:messages"

    with pytest.raises(ImproperlyConfigured):
        required_scopes_for(Misconfigured(), "GET")


class AnyOfView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = AnyOf("admin", ["read:messages", "create:messages"])

    def get(self, request):
        return Response({})


class AnyOfPerMethodView(APIView):
    permission_classes = [TokenHasScopes]
    required_scopes = {"GET": AnyOf("read:messages", "admin"), "POST": ["admin"]}

    def get(self, request):
        return Response({})

    def post(self, request):
        return Response({})


urlpatterns += [
    path("any-of", AnyOfView.as_view()),
    path("any-of-per-method", AnyOfPerMethodView.as_view()),
]


def test_any_of_first_alternative(client, sign):
    token = sign({"scope": "admin"})
    assert client.get("/any-of", **bearer(token)).status_code == 200


def test_any_of_second_alternative(client, sign):
    token = sign({"scope": "read:messages create:messages"})
    assert client.get("/any-of", **bearer(token)).status_code == 200


def test_any_of_partial_alternative_denied(client, sign):
    token = sign({"scope": "read:messages"})
    response = client.get("/any-of", **bearer(token))
    assert response.status_code == 403
    body = response.json()
    assert body["missing_scopes"] == ["create:messages"]
    assert body["required_scopes"] == ["read:messages", "create:messages"]
    assert body["accepted_scope_sets"] == [
        ["admin"],
        ["read:messages", "create:messages"],
    ]
    assert "Any one of these scope sets is enough" in body["detail"]
    assert 'scope="read:messages create:messages"' in response["WWW-Authenticate"]


def test_any_of_closest_alternative_reported(client, sign):
    token = sign({"scope": "unrelated"})
    response = client.get("/any-of", **bearer(token))
    assert response.json()["missing_scopes"] == ["admin"]
    assert 'scope="admin"' in response["WWW-Authenticate"]


def test_any_of_per_method(client, sign):
    token = sign({"scope": "admin"})
    assert client.get("/any-of-per-method", **bearer(token)).status_code == 200
    assert client.post("/any-of-per-method", **bearer(token)).status_code == 200


def test_any_of_per_method_deny(client, sign):
    token = sign({"scope": "read:messages"})
    assert client.get("/any-of-per-method", **bearer(token)).status_code == 200
    assert client.post("/any-of-per-method", **bearer(token)).status_code == 403


@pytest.mark.parametrize("bad", [(), (1,), ([1, 2],), ({"a": 1},)])
def test_any_of_rejects_bad_alternatives(bad):
    with pytest.raises(ImproperlyConfigured):
        AnyOf(*bad)
