"""TokenHasScopes on throwaway views, declared here."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from scopes.permissions import TokenHasScopes, required_scopes_for
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
