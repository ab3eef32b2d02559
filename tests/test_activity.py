import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apis.models import TokenRecord, TokenRequestFailure
from apis.services import create_api, create_application
from tests.conftest import basic_auth


def issue(client, application, secret):
    return client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )


def count_queries(function):
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


def test_activity_page(admin_client, make_application):
    application, secret = make_application(scopes=["read:messages"])
    for _ in range(3):
        issue(admin_client, application, secret)
    issue(admin_client, application, "wrong")

    response = admin_client.get("/admin/apis/tokenrecord/activity/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "3 tokens issued in the last 14 days." in content
    assert "https://ping.example.com/api" in content
    assert application.client_id in content
    assert "invalid_client" in content


def test_activity_page_fixed_queries(admin_client, make_application):
    application, secret = make_application()
    issue(admin_client, application, secret)
    few = count_queries(lambda: admin_client.get("/admin/apis/tokenrecord/activity/"))
    for index in range(12):
        other, other_secret = make_application(name=f"Client {index}")
        issue(admin_client, other, other_secret)
        issue(admin_client, other, "wrong")
    many = count_queries(lambda: admin_client.get("/admin/apis/tokenrecord/activity/"))
    assert many == few


def test_activity_page_needs_permission(client, django_user_model, db):
    staff = django_user_model.objects.create_user("staff", "", "x", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/apis/tokenrecord/activity/").status_code == 403


def test_prune_activity(db):
    old = timezone.now() - timedelta(days=40)
    TokenRecord.objects.create(
        jti="old",
        client_id="c",
        audience="a",
        source="endpoint",
        issued_at=old,
        expires_at=old,
    )
    TokenRecord.objects.create(
        jti="new",
        client_id="c",
        audience="a",
        source="endpoint",
        issued_at=timezone.now(),
        expires_at=timezone.now(),
    )
    failure = TokenRequestFailure.objects.create(
        error="invalid_client", description="x"
    )
    TokenRequestFailure.objects.filter(pk=failure.pk).update(created_at=old)

    output = io.StringIO()
    call_command("prune_activity", stdout=output)
    assert list(TokenRecord.objects.values_list("jti", flat=True)) == ["new"]
    assert not TokenRequestFailure.objects.exists()
    assert "Deleted 1 token records and 1 refused requests" in output.getvalue()


def test_prune_activity_rejects_zero_days(db):
    with pytest.raises(CommandError, match="1 or more"):
        call_command("prune_activity", "--days", "0")


def test_token_endpoint_fixed_queries(client, make_application):
    application, secret = make_application(scopes=["read:messages"])
    issue(client, application, secret)  # creates the signing keys
    few = count_queries(lambda: issue(client, application, secret))
    for index in range(20):
        api = create_api(name=f"API {index}", identifier=f"urn:api:{index}")
        create_application(name=f"App {index}", api=api)
        application.grants.create(api=api)
    many = count_queries(
        lambda: client.post(
            "/oauth/token",
            "grant_type=client_credentials&audience=https://ping.example.com/api",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
        )
    )
    assert many == few


@pytest.mark.parametrize(
    "url",
    [
        "/admin/apis/api/",
        "/admin/apis/application/",
        "/admin/apis/clientgrant/",
        "/admin/apis/scope/",
        "/admin/apis/tokenrecord/",
        "/admin/apis/signingkey/",
    ],
)
def test_admin_lists_fixed_queries(admin_client, make_application, url):
    application, secret = make_application()
    issue(admin_client, application, secret)
    few = count_queries(lambda: admin_client.get(url))
    for index in range(10):
        api = create_api(
            name=f"API {index}", identifier=f"urn:api:{index}", scopes=[("s", "")]
        )
        other, other_secret = create_application(
            name=f"App {index}", api=api, scope_values=["s"]
        )
        issue(admin_client, other, other_secret)
    many = count_queries(lambda: admin_client.get(url))
    assert many == few
