"""
The console tabs of an API's admin page: Quick Start, Settings, Permissions,
Machine to Machine Applications and Test, with the code snippets it shows.
"""

import ast
import html
import json
import os
import re
import shutil
import subprocess
import sys
import warnings

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from apis.console.snippets import SECRET_PLACEHOLDER, token_request_snippets
from apis.keys import key_ring
from apis.models import Application, ClientGrant, Scope, TokenRecord
from apis.services import create_api

TABS = ["quickstart", "change", "permissions", "applications", "test"]
CONSOLE_TABS = ["quickstart", "permissions", "applications", "test"]
TABS_WITHOUT_TEST = ["quickstart", "change", "permissions", "applications"]
PING_TEST_APPLICATION = "Ping API (Test Application)"
SNIPPET_LANGUAGES = [
    "cURL",
    "Python (requests)",
    "JavaScript (fetch)",
    "C# (HttpClient)",
    "Go (net/http)",
    "Java (HttpClient)",
    "PHP",
    "Ruby",
]
# An identifier that breaks naive quoting in shells and string literals.
ODD_AUDIENCE = 'https://odd.example.com/it\'s/"quoted"/back\\slash/$HOME/`true`'
INVALID_SCOPE_MESSAGE = (
    "A scope may contain only printable ASCII characters without spaces, "
    'double quotes (") or backslashes (\\).'
)
DUPLICATE_SCOPE_MESSAGE = "Please correct the duplicate data for value."


def tab_url(name, api):
    return reverse(f"admin:apis_api_{name}", args=[api.pk])


def tab_link(name, api):
    return f'href="{tab_url(name, api)}"'


def create_staff_user(django_user_model, username, codenames):
    """Create a staff user with only the `codenames` permissions of apis."""
    user = django_user_model.objects.create_user(
        username, password=f"{username}-password-1", is_staff=True
    )
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="apis", codename=codename)
        )
    return user


def login_staff(django_user_model, username, codenames):
    client = Client()
    client.force_login(create_staff_user(django_user_model, username, codenames))
    return client


def message_texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def decode_token(access_token, audience):
    """Verify `access_token` with Gatehouse's key ring and return its claims."""
    kid = jwt.get_unverified_header(access_token)["kid"]
    return jwt.decode(
        access_token,
        key_ring.verification_key(kid).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=settings.GATEHOUSE_ISSUER,
    )


def granted_values(application, api):
    grant = ClientGrant.objects.get(application=application, api=api)
    return sorted(grant.scopes.values_list("value", flat=True))


def api_scope_values(api):
    return sorted(api.scopes.values_list("value", flat=True))


@pytest.fixture
def billing_api(db):
    return create_api(
        name="Billing API",
        identifier="https://billing.example.com/",
        scopes=[("read:invoices", "Read invoices.")],
    )


@pytest.fixture
def api_viewer_client(django_user_model):
    """A staff user with only `apis.view_api`."""
    return login_staff(django_user_model, "api-viewer", ["view_api"])


@pytest.fixture
def read_only_client(django_user_model):
    """A staff user who may view APIs, scopes, applications and grants."""
    codenames = ["view_api", "view_scope", "view_application", "view_clientgrant"]
    return login_staff(django_user_model, "read-only", codenames)


@pytest.fixture
def minter(django_user_model):
    """A staff user who may view APIs and mint test tokens, and nothing else."""
    return create_staff_user(
        django_user_model, "minter", ["view_api", "mint_test_token"]
    )


# Tabs


@pytest.mark.parametrize("tab", TABS)
def test_tabs_superuser_sees_all_links(admin_client, ping_api, tab):
    response = admin_client.get(tab_url(tab, ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    for name in TABS:
        assert tab_link(name, ping_api) in content, name
        assert f'id="tab-{name}"' in content, name


@pytest.mark.parametrize("tab", TABS)
def test_tabs_mark_active_tab(admin_client, ping_api, tab):
    response = admin_client.get(tab_url(tab, ping_api))

    assert response.status_code == 200
    current = f'{tab_link(tab, ping_api)} aria-current="page" id="tab-{tab}"'
    assert current in response.content.decode()


@pytest.mark.parametrize("tab", TABS_WITHOUT_TEST)
def test_tabs_viewer_lacks_test_link(read_only_client, ping_api, tab):
    response = read_only_client.get(tab_url(tab, ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    for name in TABS_WITHOUT_TEST:
        assert tab_link(name, ping_api) in content, name
    assert tab_link("test", ping_api) not in content
    assert 'id="tab-test"' not in content


def test_applications_tab_needs_application_view(api_viewer_client, ping_api):
    response = api_viewer_client.get(tab_url("applications", ping_api))

    assert response.status_code == 403


def test_test_tab_viewer_get_forbidden(api_viewer_client, ping_api):
    response = api_viewer_client.get(tab_url("test", ping_api))

    assert response.status_code == 403


def test_test_tab_viewer_post_forbidden(api_viewer_client, ping_api):
    data = {"application": ping_api.test_application_id, "scopes": ["read:messages"]}

    response = api_viewer_client.post(tab_url("test", ping_api), data)

    assert response.status_code == 403
    assert TokenRecord.objects.count() == 0


@pytest.mark.parametrize("tab", TABS)
def test_tabs_anonymous_redirected_to_login(client, ping_api, tab):
    url = tab_url(tab, ping_api)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={url}"


@pytest.mark.parametrize("tab", ["permissions", "applications", "test"])
def test_tabs_anonymous_post_redirected(client, ping_api, tab):
    url = tab_url(tab, ping_api)
    test_application = ping_api.test_application
    # If a view processed this data, it would remove the grant or mint a token.
    data = {"application": [test_application.pk]}

    response = client.post(url, data)

    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={url}"
    assert ClientGrant.objects.filter(application=test_application).exists()
    assert TokenRecord.objects.count() == 0


@pytest.mark.parametrize("tab", CONSOLE_TABS)
@pytest.mark.parametrize(
    "pk", ["999999", "abc", "1.5", "9" * 20], ids=["unknown", "text", "dot", "huge"]
)
def test_tabs_unknown_pk_not_found(admin_client, ping_api, tab, pk):
    response = admin_client.get(f"/admin/apis/api/{pk}/{tab}/")

    assert response.status_code == 404


@pytest.mark.parametrize("pk", ["999999", "abc"], ids=["unknown", "text"])
def test_settings_tab_unknown_pk_redirects(admin_client, ping_api, pk):
    # The Settings tab is Django's change view, which redirects to the admin
    # index with a warning instead of returning 404.
    response = admin_client.get(f"/admin/apis/api/{pk}/change/")

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert message_texts(response) == [
        f"API with ID “{pk}” doesn’t exist. Perhaps it was deleted?"  # noqa: RUF001
    ]


def test_tabs_minter_sees_test_link(client, minter, ping_api):
    client.force_login(minter)

    response = client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    assert tab_link("test", ping_api) in response.content.decode()


# Quick Start


def test_quickstart_shows_issuer(admin_client, ping_api):
    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"<code>{settings.GATEHOUSE_ISSUER}</code>" in content
    assert f'"ISSUER": "{settings.GATEHOUSE_ISSUER}"' in html.unescape(content)


def test_quickstart_shows_audience(admin_client, ping_api):
    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"<code>{ping_api.identifier}</code>" in content
    assert f'"AUDIENCES": ["{ping_api.identifier}"]' in html.unescape(content)


def test_quickstart_shows_jwks_address(admin_client, ping_api):
    jwks_uri = f"{settings.GATEHOUSE_ISSUER}.well-known/jwks.json"

    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"<code>{jwks_uri}</code>" in content
    assert f'"JWKS_URI": "{jwks_uri}"' in html.unescape(content)


def test_quickstart_shows_algorithm(admin_client, ping_api):
    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    assert "<code>RS256</code>" in content
    assert '"ALGORITHMS": ["RS256"]' in html.unescape(content)


def test_quickstart_example_uses_api_scope(admin_client, ping_api):
    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    match = re.search(r'required_scopes = \{"GET": \["([^"]+)"\]\}', content)
    assert match is not None
    assert match.group(1) in api_scope_values(ping_api)


def test_quickstart_example_without_scopes(admin_client, db):
    api = create_api(name="Bare API", identifier="https://bare.example.com/")

    response = admin_client.get(tab_url("quickstart", api))

    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert 'required_scopes = {"GET": ["read:items"]}' in content


def quickstart_code_blocks(response):
    content = response.content.decode()
    blocks = re.findall(r"<pre><code>(.*?)</code></pre>", content, re.DOTALL)
    return [html.unescape(block) for block in blocks]


def test_quickstart_code_compiles(admin_client, ping_api):
    response = admin_client.get(tab_url("quickstart", ping_api))

    assert response.status_code == 200
    blocks = quickstart_code_blocks(response)
    assert len(blocks) == 2
    for block in blocks:
        compile(block, "<quickstart>", "exec")


def test_quickstart_code_quotes_identifier(admin_client, db):
    api = create_api(name="Odd API", identifier=ODD_AUDIENCE)

    response = admin_client.get(tab_url("quickstart", api))

    assert response.status_code == 200
    settings_block = quickstart_code_blocks(response)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = ast.parse(settings_block)
    namespace = {}
    exec(compile(tree, "<quickstart>", "exec"), namespace)
    issuer = namespace["GATEHOUSE_SCOPES"]["TRUSTED_ISSUERS"][0]
    assert issuer["AUDIENCES"] == [ODD_AUDIENCE]


# Permissions


def scope_formset_data(response):
    """
    Build the POST data that resubmits the Permissions tab unchanged, with the
    management form and each existing scope but without the empty extra form.
    """
    formset = response.context["formset"]
    management = formset.management_form
    data = {
        management.add_prefix(name): management[name].value()
        for name in management.fields
    }
    data[management.add_prefix("TOTAL_FORMS")] = formset.initial_form_count()
    for form in formset.initial_forms:
        for name in ["id", "value", "description"]:
            value = form[name].value()
            data[form[name].html_name] = "" if value is None else value
    return data


def add_scope_form(data, value, description=""):
    index = int(data["scopes-TOTAL_FORMS"])
    data[f"scopes-{index}-value"] = value
    data[f"scopes-{index}-description"] = description
    data["scopes-TOTAL_FORMS"] = index + 1


def scope_form_prefix(response, value):
    """Return the form prefix of the existing scope `value` on the page."""
    for form in response.context["formset"].initial_forms:
        if form.instance.value == value:
            return form.prefix
    raise AssertionError(f"The page has no form for the scope {value}.")


def test_permissions_lists_scope_forms(admin_client, ping_api):
    response = admin_client.get(tab_url("permissions", ping_api))

    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.prefix == "scopes"
    values = [form.instance.value for form in formset.initial_forms]
    assert values == ["create:messages", "read:messages"]
    assert formset.total_form_count() == 3
    assert 'value="Save scopes"' in response.content.decode()


def test_permissions_adds_scope(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, "delete:messages", "Delete messages.")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert response.url == url
    assert message_texts(response) == ["The scopes were saved."]
    scope = Scope.objects.get(api=ping_api, value="delete:messages")
    assert scope.description == "Delete messages."
    assert ping_api.scopes.count() == 3


def test_permissions_edits_description(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    prefix = scope_form_prefix(page, "read:messages")
    data[f"{prefix}-description"] = "Read every message."

    response = admin_client.post(url, data)

    assert response.status_code == 302
    scope = Scope.objects.get(api=ping_api, value="read:messages")
    assert scope.description == "Read every message."


def test_permissions_deletes_scope(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    data[f"{scope_form_prefix(page, 'read:messages')}-DELETE"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert api_scope_values(ping_api) == ["create:messages"]


def test_permissions_delete_removes_from_grants(
    admin_client, ping_api, make_application
):
    application, _ = make_application(scopes=["read:messages", "create:messages"])
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    data[f"{scope_form_prefix(page, 'read:messages')}-DELETE"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert granted_values(application, ping_api) == ["create:messages"]
    test_application = ping_api.test_application
    assert granted_values(test_application, ping_api) == ["create:messages"]


def test_permissions_rejects_duplicate_new_scopes(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, "delete:messages", "Delete messages.")
    add_scope_form(data, "delete:messages", "Again.")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["formset"].non_form_errors() == [DUPLICATE_SCOPE_MESSAGE]
    assert DUPLICATE_SCOPE_MESSAGE in response.content.decode()
    assert api_scope_values(ping_api) == ["create:messages", "read:messages"]


def test_permissions_rejects_existing_value(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, "read:messages", "A second one.")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["formset"].non_form_errors() == [DUPLICATE_SCOPE_MESSAGE]
    assert DUPLICATE_SCOPE_MESSAGE in response.content.decode()
    assert ping_api.scopes.count() == 2
    scope = Scope.objects.get(api=ping_api, value="read:messages")
    assert scope.description == "Read messages from the ping API."


def test_permissions_rejects_renamed_duplicate(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    data[f"{scope_form_prefix(page, 'create:messages')}-value"] = "read:messages"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["formset"].non_form_errors() == [DUPLICATE_SCOPE_MESSAGE]
    assert api_scope_values(ping_api) == ["create:messages", "read:messages"]


def test_permissions_swap_rejected(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    create_prefix = scope_form_prefix(page, "create:messages")
    read_prefix = scope_form_prefix(page, "read:messages")
    data[f"{create_prefix}-value"] = "read:messages"
    data[f"{read_prefix}-value"] = "create:messages"

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert "cannot trade values in one save" in response.content.decode()
    scope = Scope.objects.get(api=ping_api, value="read:messages")
    assert scope.description == "Read messages from the ping API."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("read messages", INVALID_SCOPE_MESSAGE),
        ('read"messages', INVALID_SCOPE_MESSAGE),
        ("read\\messages", INVALID_SCOPE_MESSAGE),
        (
            "openid",
            "openid is reserved by OpenID Connect; choose another name, such as "
            "read:openid.",
        ),
    ],
    ids=["space", "double-quote", "backslash", "reserved"],
)
def test_permissions_rejects_invalid_value(admin_client, ping_api, value, message):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, value)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["formset"].errors
    assert errors[-1] == {"value": [message]}
    assert html.escape(message) in response.content.decode()
    assert api_scope_values(ping_api) == ["create:messages", "read:messages"]


def test_permissions_rejects_invalid_edit(admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    page = admin_client.get(url)
    data = scope_formset_data(page)
    data[f"{scope_form_prefix(page, 'read:messages')}-value"] = "read all"
    add_scope_form(data, "delete:messages")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert html.escape(INVALID_SCOPE_MESSAGE) in response.content.decode()
    assert api_scope_values(ping_api) == ["create:messages", "read:messages"]


def test_permissions_accepts_other_api_value(admin_client, ping_api, billing_api):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, "read:invoices")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert Scope.objects.filter(value="read:invoices").count() == 2


def test_permissions_viewer_sees_read_only_table(read_only_client, ping_api):
    response = read_only_client.get(tab_url("permissions", ping_api))

    assert response.status_code == 200
    assert response.context["editable"] is False
    content = response.content.decode()
    assert '<form method="post"' not in content
    assert 'name="scopes-TOTAL_FORMS"' not in content
    assert "Save scopes" not in content
    assert "<code>read:messages</code>" in content
    assert "<code>create:messages</code>" in content


def test_permissions_viewer_post_forbidden(read_only_client, admin_client, ping_api):
    url = tab_url("permissions", ping_api)
    data = scope_formset_data(admin_client.get(url))
    add_scope_form(data, "delete:messages")

    response = read_only_client.post(url, data)

    assert response.status_code == 403
    assert api_scope_values(ping_api) == ["create:messages", "read:messages"]


# Machine to Machine Applications


def application_row(response, application):
    """Return the HTML of the table row for `application`."""
    content = response.content.decode()
    start = content.index(f'<tr id="application-{application.pk}">')
    return content[start : content.index("</tr>", start)]


def listed_names(response):
    return [row["application"].name for row in response.context["rows"]]


def test_applications_lists_every_application(
    admin_client, ping_api, billing_api, make_application
):
    make_application(name="Granted", scopes=["read:messages"])
    make_application(name="Elsewhere", api=billing_api)
    Application.objects.create(name="Ungranted")

    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    assert listed_names(response) == [
        "Billing API (Test Application)",
        "Elsewhere",
        "Granted",
        PING_TEST_APPLICATION,
        "Ungranted",
    ]
    content = response.content.decode()
    for application in Application.objects.all():
        assert f'<tr id="application-{application.pk}">' in content
        assert application.client_id in content


def test_applications_marks_authorized_rows(
    admin_client, ping_api, billing_api, make_application
):
    make_application(name="Granted")
    make_application(name="Elsewhere", api=billing_api)
    Application.objects.create(name="Ungranted")

    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    authorized = {
        row["application"].name: row["authorized"] for row in response.context["rows"]
    }
    assert authorized == {
        "Billing API (Test Application)": False,
        "Elsewhere": False,
        "Granted": True,
        PING_TEST_APPLICATION: True,
        "Ungranted": False,
    }


def test_applications_marks_granted_boxes(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])

    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    row = application_row(response, application)
    assert f'name="authorized-{application.pk}" role="switch" checked' in row
    read = f'name="scopes-{application.pk}" value="read:messages" checked'
    assert read in row
    create = f'name="scopes-{application.pk}" value="create:messages" checked'
    assert create not in row


def test_applications_marks_test_application(admin_client, ping_api):
    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    row = application_row(response, ping_api.test_application)
    assert "<small>Test Application</small>" in row


@pytest.mark.parametrize(
    ("scopes", "flag"),
    [(["read:messages"], "1 scope not granted"), ([], "2 scopes not granted")],
    ids=["one", "two"],
)
def test_applications_flags_missing_scopes(
    admin_client, ping_api, make_application, scopes, flag
):
    application, _ = make_application(scopes=scopes)

    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    row = application_row(response, application)
    assert f'<p class="flag">{flag}</p>' in row
    assert f'name="grant_all" value="{application.pk}"' in row


def test_applications_no_flag_when_all_granted(admin_client, ping_api):
    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    row = application_row(response, ping_api.test_application)
    assert "not granted" not in row
    assert 'name="grant_all"' not in row


def test_applications_no_flag_when_unauthorized(admin_client, ping_api):
    application = Application.objects.create(name="Ungranted")

    response = admin_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    row = application_row(response, application)
    assert "not granted" not in row
    assert 'name="grant_all"' not in row


def test_applications_grant_all_grants_scopes(admin_client, ping_api, make_application):
    application, _ = make_application(name="Partial", scopes=["read:messages"])
    url = tab_url("applications", ping_api)

    response = admin_client.post(url, {"grant_all": application.pk})

    assert response.status_code == 302
    assert response.url == url
    assert message_texts(response) == ["Partial is granted every scope."]
    assert granted_values(application, ping_api) == api_scope_values(ping_api)


def test_applications_grant_all_clears_flag(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])
    url = tab_url("applications", ping_api)

    admin_client.post(url, {"grant_all": application.pk})
    response = admin_client.get(url)

    assert response.status_code == 200
    row = application_row(response, application)
    assert "not granted" not in row
    assert 'name="grant_all"' not in row


def test_applications_grant_all_creates_grant(admin_client, ping_api):
    application = Application.objects.create(name="Ungranted")
    url = tab_url("applications", ping_api)

    response = admin_client.post(url, {"grant_all": application.pk})

    assert response.status_code == 302
    assert granted_values(application, ping_api) == api_scope_values(ping_api)


def test_applications_grant_all_unknown_pk(admin_client, ping_api):
    response = admin_client.post(
        tab_url("applications", ping_api), {"grant_all": "999999"}
    )

    assert response.status_code == 404
    assert ClientGrant.objects.count() == 1


@pytest.mark.parametrize("value", ["abc", "²"], ids=["text", "superscript"])
def test_applications_grant_all_non_numeric(admin_client, ping_api, value):
    response = admin_client.post(
        tab_url("applications", ping_api), {"grant_all": value}
    )

    assert response.status_code == 404


def test_applications_creates_grant(admin_client, ping_api):
    application = Application.objects.create(name="Ungranted")
    pk = application.pk
    data = {
        "application": [pk],
        f"authorized-{pk}": "on",
        f"scopes-{pk}": ["read:messages"],
    }

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert message_texts(response) == ["The authorized applications were saved."]
    assert granted_values(application, ping_api) == ["read:messages"]


def test_applications_creates_grant_without_scopes(admin_client, ping_api):
    application = Application.objects.create(name="Ungranted")
    data = {"application": [application.pk], f"authorized-{application.pk}": "on"}

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert granted_values(application, ping_api) == []


def test_applications_updates_grant_scopes(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])
    pk = application.pk
    data = {
        "application": [pk],
        f"authorized-{pk}": "on",
        f"scopes-{pk}": ["create:messages"],
    }

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert granted_values(application, ping_api) == ["create:messages"]
    assert ClientGrant.objects.filter(application=application).count() == 1


def test_applications_removes_grant(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])
    # Ticked scopes do not keep a grant whose Authorized box is unticked.
    data = {
        "application": [application.pk],
        f"scopes-{application.pk}": ["read:messages"],
    }

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert not ClientGrant.objects.filter(application=application).exists()


def test_applications_keeps_other_api_grant(
    admin_client, ping_api, billing_api, make_application
):
    application, _ = make_application(api=billing_api, scopes=["read:invoices"])
    ClientGrant.objects.create(application=application, api=ping_api)

    response = admin_client.post(
        tab_url("applications", ping_api), {"application": [application.pk]}
    )

    assert response.status_code == 302
    assert not ClientGrant.objects.filter(
        application=application, api=ping_api
    ).exists()
    assert granted_values(application, billing_api) == ["read:invoices"]


def test_applications_leaves_unposted_rows(admin_client, ping_api, make_application):
    posted, _ = make_application(name="Posted")
    unposted, _ = make_application(name="Unposted", scopes=["read:messages"])
    data = {"application": [posted.pk], f"authorized-{posted.pk}": "on"}

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert granted_values(unposted, ping_api) == ["read:messages"]


def test_applications_ignores_foreign_scopes(admin_client, ping_api, billing_api):
    application = Application.objects.create(name="Ungranted")
    pk = application.pk
    data = {
        "application": [pk],
        f"authorized-{pk}": "on",
        f"scopes-{pk}": ["read:invoices", "delete:everything", "read:messages"],
    }

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert granted_values(application, ping_api) == ["read:messages"]


@pytest.mark.parametrize("value", ["abc", "", "-1", "1.0"])
def test_applications_ignores_non_numeric_id(admin_client, ping_api, value):
    test_application = ping_api.test_application
    data = {"application": [value], f"authorized-{test_application.pk}": "on"}

    response = admin_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 302
    assert ClientGrant.objects.count() == 1
    assert granted_values(test_application, ping_api) == api_scope_values(ping_api)


@pytest.mark.parametrize("value", ["²", "9" * 20], ids=["superscript", "huge"])
def test_applications_ignores_digit_like_id(admin_client, ping_api, value):
    response = admin_client.post(
        tab_url("applications", ping_api), {"application": [value]}
    )

    assert response.status_code == 302
    assert ClientGrant.objects.count() == 1


def test_applications_post_keeps_query(admin_client, ping_api):
    url = tab_url("applications", ping_api) + "?q=Ping&page=1"

    response = admin_client.post(url, {"application": []})

    assert response.status_code == 302
    assert response.url == url


def test_applications_search_by_name(admin_client, ping_api, make_application):
    make_application(name="Orders worker")
    make_application(name="Invoice worker")

    response = admin_client.get(tab_url("applications", ping_api), {"q": "ORDERS"})

    assert response.status_code == 200
    assert listed_names(response) == ["Orders worker"]
    assert 'value="ORDERS"' in response.content.decode()


def test_applications_search_by_client_id(admin_client, ping_api, make_application):
    orders, _ = make_application(name="Orders worker")
    make_application(name="Invoice worker")

    response = admin_client.get(
        tab_url("applications", ping_api), {"q": orders.client_id}
    )

    assert response.status_code == 200
    assert listed_names(response) == ["Orders worker"]


def test_applications_search_needs_whole_client_id(
    admin_client, ping_api, make_application
):
    orders, _ = make_application(name="Orders worker")

    response = admin_client.get(
        tab_url("applications", ping_api), {"q": orders.client_id[:-1]}
    )

    assert response.status_code == 200
    assert listed_names(response) == []
    assert "No applications match" in response.content.decode()


def test_applications_paginates(admin_client, ping_api):
    Application.objects.bulk_create(
        Application(name=f"Client {number:02d}") for number in range(51)
    )
    url = tab_url("applications", ping_api)

    first = admin_client.get(url)
    second = admin_client.get(url, {"page": "2"})

    assert first.status_code == 200
    assert len(first.context["rows"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?q=&amp;page=2"' in first.content.decode()
    assert second.status_code == 200
    assert listed_names(second) == ["Client 50", PING_TEST_APPLICATION]
    assert "Page 2 of 2" in second.content.decode()


def test_applications_invalid_page_shows_first(admin_client, ping_api):
    response = admin_client.get(tab_url("applications", ping_api), {"page": "abc"})

    assert response.status_code == 200
    assert listed_names(response) == [PING_TEST_APPLICATION]


def test_applications_viewer_post_forbidden(read_only_client, ping_api):
    test_application = ping_api.test_application
    data = {"application": [test_application.pk], "grant_all": ""}

    response = read_only_client.post(tab_url("applications", ping_api), data)

    assert response.status_code == 403
    assert granted_values(test_application, ping_api) == api_scope_values(ping_api)


def test_applications_viewer_grant_all_forbidden(
    read_only_client, ping_api, make_application
):
    application, _ = make_application(scopes=["read:messages"])

    response = read_only_client.post(
        tab_url("applications", ping_api), {"grant_all": application.pk}
    )

    assert response.status_code == 403
    assert granted_values(application, ping_api) == ["read:messages"]


def test_applications_viewer_sees_disabled_boxes(
    read_only_client, ping_api, make_application
):
    application, _ = make_application(scopes=["read:messages"])

    response = read_only_client.get(tab_url("applications", ping_api))

    assert response.status_code == 200
    content = response.content.decode()
    checkboxes = re.findall(r'<input type="checkbox"[^>]*>', content)
    assert len(checkboxes) == 6
    for checkbox in checkboxes:
        assert " disabled" in checkbox, checkbox
    assert "1 scope not granted" in application_row(response, application)
    assert 'name="grant_all"' not in content
    assert 'value="Save"' not in content


# Test: the mint form


def mint(client, api, application, scopes=()):
    data = {"application": application.pk, "scopes": list(scopes)}
    return client.post(tab_url("test", api), data)


def test_test_tab_lists_authorized_applications(
    admin_client, ping_api, billing_api, make_application
):
    make_application(name="Zulu worker")
    make_application(name="Alpha worker")
    make_application(name="Billing worker", api=billing_api)

    response = admin_client.get(tab_url("test", ping_api))

    assert response.status_code == 200
    choices = response.context["form"].fields["application"].choices
    assert [label for _, label in choices] == [
        PING_TEST_APPLICATION,
        "Alpha worker",
        "Zulu worker",
    ]
    content = response.content.decode()
    assert "Billing worker" not in content
    assert "Billing API (Test Application)" not in content
    first_option = f'<option value="{ping_api.test_application_id}" selected>'
    assert first_option in content


def test_test_tab_labels_inactive_application(admin_client, ping_api, make_application):
    application, _ = make_application(name="Retired worker")
    application.active = False
    application.save()

    response = admin_client.get(tab_url("test", ping_api))

    assert response.status_code == 200
    assert "Retired worker (inactive)</option>" in response.content.decode()


def test_test_tab_without_authorized_applications(admin_client, db):
    api = create_api(name="Bare API", identifier="https://bare.example.com/")
    ClientGrant.objects.filter(api=api).delete()

    response = admin_client.get(tab_url("test", api))

    assert response.status_code == 200
    content = response.content.decode()
    assert "No application is authorized for this API yet." in content
    assert 'id="mint-button"' not in content


def test_test_tab_scope_map(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])

    response = admin_client.get(tab_url("test", ping_api))

    assert response.status_code == 200
    assert response.context["scope_map"] == {
        str(ping_api.test_application_id): ["create:messages", "read:messages"],
        str(application.pk): ["read:messages"],
    }


def test_test_tab_mints_chosen_scopes(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages", "create:messages"])

    response = mint(admin_client, ping_api, application, ["read:messages"])

    assert response.status_code == 200
    assert response.context["form"].errors == {}
    access_token = response.context["result"]["token"].access_token
    assert access_token in response.content.decode()
    claims = decode_token(access_token, ping_api.identifier)
    assert claims["scope"] == "read:messages"
    assert claims["aud"] == ping_api.identifier
    assert claims["client_id"] == application.client_id
    assert claims["sub"] == f"{application.client_id}@clients"


def test_test_tab_mints_every_chosen_scope(admin_client, ping_api):
    test_application = ping_api.test_application
    scopes = ["create:messages", "read:messages"]

    response = mint(admin_client, ping_api, test_application, scopes)

    assert response.status_code == 200
    access_token = response.context["result"]["token"].access_token
    claims = decode_token(access_token, ping_api.identifier)
    assert sorted(claims["scope"].split(" ")) == scopes
    assert claims["client_id"] == test_application.client_id


def test_test_tab_mints_without_scopes(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])

    response = mint(admin_client, ping_api, application)

    assert response.status_code == 200
    access_token = response.context["result"]["token"].access_token
    claims = decode_token(access_token, ping_api.identifier)
    assert "scope" not in claims
    assert claims["client_id"] == application.client_id


def test_test_tab_shows_header_and_claims(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    result = response.context["result"]
    header_names = [name for name, _, _ in result["header_rows"]]
    assert header_names == ["alg", "kid", "typ"]
    claims = dict((name, value) for name, value, _ in result["claim_rows"])
    assert claims["aud"] == ping_api.identifier
    assert claims["iss"] == settings.GATEHOUSE_ISSUER
    assert claims["exp"].endswith(" UTC)")


def test_test_tab_rejects_ungranted_scope(admin_client, ping_api, make_application):
    application, _ = make_application(name="Reader", scopes=["read:messages"])
    message = (
        "Reader is not granted create:messages. "
        "Grant them on the Applications tab first."
    )

    response = mint(
        admin_client, ping_api, application, ["read:messages", "create:messages"]
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"scopes": [message]}
    assert message in response.content.decode()
    assert response.context["result"] is None
    assert 'id="minted"' not in response.content.decode()
    assert TokenRecord.objects.count() == 0


def test_test_tab_rejects_foreign_scope(admin_client, ping_api, billing_api):
    response = mint(
        admin_client, ping_api, ping_api.test_application, ["read:invoices"]
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "scopes": [
            "Select a valid choice. read:invoices is not one of the available choices."
        ]
    }
    assert response.context["result"] is None
    assert TokenRecord.objects.count() == 0


def test_test_tab_rejects_unauthorized_application(
    admin_client, ping_api, billing_api, make_application
):
    application, _ = make_application(name="Billing worker", api=billing_api)

    response = mint(admin_client, ping_api, application)

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "application": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }
    assert response.context["result"] is None
    assert TokenRecord.objects.count() == 0


@pytest.mark.parametrize("value", ["abc", "999999", ""])
def test_test_tab_rejects_invalid_application(admin_client, ping_api, value):
    response = admin_client.post(tab_url("test", ping_api), {"application": value})

    assert response.status_code == 200
    assert "application" in response.context["form"].errors
    assert response.context["result"] is None
    assert TokenRecord.objects.count() == 0


def test_test_tab_rejects_inactive_application(
    admin_client, ping_api, make_application
):
    application, _ = make_application(scopes=["read:messages"])
    application.active = False
    application.save()

    response = mint(admin_client, ping_api, application, ["read:messages"])

    assert response.status_code == 200
    form = response.context["form"]
    assert form.non_field_errors() == ["The application is inactive."]
    assert form.errors.keys() == {"__all__"}
    assert '<div class="errornote" role="alert">The application is inactive.' in (
        response.content.decode()
    )
    assert response.context["result"] is None
    assert TokenRecord.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_test_tab_sets_no_store(admin_client, ping_api, method):
    data = {"application": ping_api.test_application_id}

    response = getattr(admin_client, method)(tab_url("test", ping_api), data)

    assert response.status_code == 200
    directives = {
        directive.strip() for directive in response["Cache-Control"].split(",")
    }
    assert "no-store" in directives


def test_test_tab_requires_csrf_token(admin_user, ping_api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = tab_url("test", ping_api)
    data = {"application": ping_api.test_application_id}

    page = client.get(url)
    response = client.post(url, data)

    assert page.status_code == 200
    assert response.status_code == 403
    assert TokenRecord.objects.count() == 0


def test_test_tab_accepts_csrf_token(admin_user, ping_api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = tab_url("test", ping_api)

    client.get(url)
    response = client.post(
        url,
        {
            "application": ping_api.test_application_id,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )

    assert response.status_code == 200
    assert response.context["result"] is not None
    assert TokenRecord.objects.count() == 1


@pytest.mark.parametrize("tab", ["permissions", "applications"])
def test_console_post_requires_csrf_token(admin_user, ping_api, tab):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    application = ping_api.test_application

    response = client.post(tab_url(tab, ping_api), {"application": [application.pk]})

    assert response.status_code == 403
    assert ClientGrant.objects.filter(application=application).exists()


def test_test_tab_minter_mints_token(client, minter, ping_api):
    client.force_login(minter)

    response = mint(client, ping_api, ping_api.test_application, ["read:messages"])

    assert response.status_code == 200
    assert response.context["result"] is not None
    record = TokenRecord.objects.get()
    assert record.issued_by == minter


# Test: token records


def test_mint_records_token(admin_client, admin_user, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages", "create:messages"])

    response = mint(
        admin_client, ping_api, application, ["read:messages", "create:messages"]
    )

    assert response.status_code == 200
    claims = response.context["result"]["token"].claims
    record = TokenRecord.objects.get()
    assert record.jti == claims["jti"]
    assert record.application == application
    assert record.client_id == application.client_id
    assert record.api == ping_api
    assert record.audience == ping_api.identifier
    assert record.scopes == "read:messages create:messages"
    assert record.source == "console"
    assert record.issued_by == admin_user
    assert record.issued_at.timestamp() == claims["iat"]
    assert record.expires_at.timestamp() == claims["exp"]


def test_mint_records_token_without_scopes(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    record = TokenRecord.objects.get()
    assert record.scopes == ""


def test_mint_records_one_per_token(admin_client, ping_api):
    first = mint(admin_client, ping_api, ping_api.test_application)
    second = mint(admin_client, ping_api, ping_api.test_application)

    assert first.status_code == 200
    assert second.status_code == 200
    first_jti = first.context["result"]["token"].claims["jti"]
    second_jti = second.context["result"]["token"].claims["jti"]
    assert first_jti != second_jti
    jtis = set(TokenRecord.objects.values_list("jti", flat=True))
    assert jtis == {first_jti, second_jti}


@pytest.fixture
def minted(admin_client, ping_api):
    """Mint a token in the console and return its access token and its record."""
    response = mint(admin_client, ping_api, ping_api.test_application)
    access_token = response.context["result"]["token"].access_token
    return access_token, TokenRecord.objects.get()


def test_token_record_list_hides_token(admin_client, minted):
    access_token, record = minted

    response = admin_client.get(reverse("admin:apis_tokenrecord_changelist"))

    assert response.status_code == 200
    content = response.content.decode()
    assert record.jti in content
    assert access_token not in content
    assert access_token.split(".")[2] not in content


def test_token_record_change_hides_token(admin_client, minted):
    access_token, record = minted

    response = admin_client.get(
        reverse("admin:apis_tokenrecord_change", args=[record.pk])
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert record.jti in content
    assert access_token not in content
    assert access_token.split(".")[2] not in content
    assert 'name="_save"' not in content


def test_token_record_add_forbidden(admin_client, db):
    response = admin_client.get(reverse("admin:apis_tokenrecord_add"))

    assert response.status_code == 403


def test_token_record_change_post_forbidden(admin_client, minted):
    _, record = minted
    url = reverse("admin:apis_tokenrecord_change", args=[record.pk])

    response = admin_client.post(url, {"jti": "changed", "client_id": "changed"})

    assert response.status_code == 403
    record.refresh_from_db()
    assert record.jti != "changed"


def test_token_record_delete_forbidden(admin_client, minted):
    _, record = minted
    url = reverse("admin:apis_tokenrecord_delete", args=[record.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 403
    assert TokenRecord.objects.filter(pk=record.pk).exists()


def test_token_record_list_offers_no_actions(admin_client, minted):
    response = admin_client.get(reverse("admin:apis_tokenrecord_changelist"))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="action"' not in content
    assert reverse("admin:apis_tokenrecord_add") not in content


def test_token_record_bulk_delete_ignored(admin_client, minted):
    _, record = minted
    data = {"action": "delete_selected", "_selected_action": [record.pk]}

    response = admin_client.post(reverse("admin:apis_tokenrecord_changelist"), data)

    assert response.status_code == 200
    assert TokenRecord.objects.filter(pk=record.pk).exists()


# Test: the minted token's page


def test_test_tab_shows_snippet_languages(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    content = response.content.decode()
    for language in SNIPPET_LANGUAGES:
        assert f"<summary>{html.escape(language)}</summary>" in content, language


def test_test_tab_shows_secret_placeholder(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count(SECRET_PLACEHOLDER) >= len(SNIPPET_LANGUAGES)


def test_test_tab_shows_client_id(admin_client, ping_api, make_application):
    application, _ = make_application(scopes=["read:messages"])

    response = mint(admin_client, ping_api, application)

    assert response.status_code == 200
    content = response.content.decode()
    assert f"client id <code>{application.client_id}</code>" in content
    assert content.count(application.client_id) > len(SNIPPET_LANGUAGES)


def test_test_tab_links_rotate_secret(admin_client, ping_api, make_application):
    application, _ = make_application()
    rotate_url = reverse("admin:apis_application_rotate_secret", args=[application.pk])

    response = mint(admin_client, ping_api, application)

    assert response.status_code == 200
    assert f'<a href="{rotate_url}">rotate the client secret</a>' in (
        response.content.decode()
    )


def test_test_tab_links_swagger_ui(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    access_token = response.context["result"]["token"].access_token
    link = f'href="{reverse("docs")}#access_token={access_token}"'
    assert reverse("docs") == "/api/docs/"
    assert link in response.content.decode()
    assert "Open in Swagger UI" in response.content.decode()


def test_test_tab_shows_try_it(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    access_token = response.context["result"]["token"].access_token
    content = response.content.decode()
    assert '<section id="try-it"' in content
    assert f'data-token="{access_token}"' in content
    assert 'data-path="/api/ping/secure"' in content


def test_test_tab_call_snippet_ping(admin_client, ping_api):
    response = mint(admin_client, ping_api, ping_api.test_application)

    assert response.status_code == 200
    access_token = response.context["result"]["token"].access_token
    assert response.context["result"]["call_snippet"] == (
        f"curl --url '{settings.GATEHOUSE_ISSUER}api/ping/secure' \\\n"
        f"  --header 'Authorization: Bearer {access_token}'"
    )


def test_test_tab_other_api_lacks_swagger(admin_client, billing_api):
    response = mint(admin_client, billing_api, billing_api.test_application)

    assert response.status_code == 200
    assert response.context["result"] is not None
    content = response.content.decode()
    assert 'id="minted"' in content
    assert "Open in Swagger UI" not in content
    assert "#access_token=" not in content
    assert 'id="try-it"' not in content


def test_test_tab_other_api_call_snippet(admin_client, billing_api):
    response = mint(admin_client, billing_api, billing_api.test_application)

    assert response.status_code == 200
    call_snippet = response.context["result"]["call_snippet"]
    assert call_snippet.startswith(f"curl --url '{billing_api.identifier}' ")


def test_test_tab_non_url_api_call_snippet(admin_client, db):
    api = create_api(name="Named API", identifier="urn:named-api")

    response = mint(admin_client, api, api.test_application)

    assert response.status_code == 200
    call_snippet = response.context["result"]["call_snippet"]
    assert call_snippet.startswith("curl --url 'https://YOUR_API/endpoint' ")


# Snippets against the live server


def snippet_code(token_url, client_id, audience, language):
    snippets = dict(token_request_snippets(token_url, client_id, audience))
    return snippets[language]


def run_program(arguments, cwd=None):
    """Run `arguments`, fail the test on a non-zero exit, and return the result."""
    # Keep every request on loopback, even when the shell sets a proxy.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.lower().endswith("_proxy")
    }
    result = subprocess.run(
        arguments,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=cwd,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_curl(code, tmp_path):
    """Run the cURL snippet with bash and return the HTTP status and access token."""
    command = code + " \\\n  --silent --show-error --write-out '\\n%{http_code}'"
    result = run_program(["bash", "-c", command])
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body).get("access_token")


def run_python(code, tmp_path):
    script = code + "\nprint(response.status_code)\nprint(access_token)\n"
    result = run_program([sys.executable, "-c", script])
    status, access_token = result.stdout.split()
    return int(status), access_token


def run_javascript(code, tmp_path):
    script = code + "\nconsole.log(response.status);\nconsole.log(access_token);\n"
    result = run_program(["node", "--input-type=module", "--eval", script])
    status, access_token = result.stdout.split()
    return int(status), access_token


def run_java(code, tmp_path):
    """Wrap the Java statements in a main method and run them as a source file."""
    lines = code.splitlines()
    imports = [line for line in lines if line.startswith("import ")]
    statements = [line for line in lines if line and not line.startswith("import ")]
    source = "\n".join(
        [
            *imports,
            "",
            "public class TokenRequest {",
            "    public static void main(String[] args) throws Exception {",
            *statements,
            "        System.out.println(response.statusCode());",
            "    }",
            "}",
        ]
    )
    path = tmp_path / "TokenRequest.java"
    path.write_text(source)
    result = run_program(["java", str(path)], cwd=tmp_path)
    body, status = result.stdout.splitlines()
    return int(status), json.loads(body).get("access_token")


# Each language maps to the program it needs and to its runner. A runner takes
# the code and a scratch folder, and returns the HTTP status and the access
# token, or None when the response contains none.
SNIPPET_RUNNERS = {
    "cURL": ("curl", run_curl),
    "Python (requests)": (sys.executable, run_python),
    "JavaScript (fetch)": ("node", run_javascript),
    "Java (HttpClient)": ("java", run_java),
}


def snippet_runner(language):
    program, run = SNIPPET_RUNNERS[language]
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed.")
    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", SNIPPET_RUNNERS)
def test_snippet_gets_token(live_server, make_application, tmp_path, language):
    run = snippet_runner(language)
    application, secret = make_application(scopes=["read:messages"])
    code = snippet_code(
        f"{live_server.url}/oauth/token",
        application.client_id,
        settings.PING_API_IDENTIFIER,
        language,
    )
    assert code.count(SECRET_PLACEHOLDER) == 1

    status, access_token = run(code.replace(SECRET_PLACEHOLDER, secret), tmp_path)

    assert status == 200
    claims = decode_token(access_token, settings.PING_API_IDENTIFIER)
    assert claims["client_id"] == application.client_id
    assert claims["scope"] == "read:messages"


@pytest.mark.django_db(transaction=True)
def test_curl_snippet_placeholder_rejected(live_server, make_application, tmp_path):
    run = snippet_runner("cURL")
    application, _ = make_application(scopes=["read:messages"])
    code = snippet_code(
        f"{live_server.url}/oauth/token",
        application.client_id,
        settings.PING_API_IDENTIFIER,
        "cURL",
    )

    status, access_token = run(code, tmp_path)

    assert status == 401
    assert access_token is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", SNIPPET_RUNNERS)
def test_snippet_sends_odd_audience(live_server, make_application, tmp_path, language):
    run = snippet_runner(language)
    odd_api = create_api(
        name="Odd API", identifier=ODD_AUDIENCE, scopes=[("read:odd", "Read.")]
    )
    application, secret = make_application(api=odd_api, scopes=["read:odd"])
    code = snippet_code(
        f"{live_server.url}/oauth/token", application.client_id, ODD_AUDIENCE, language
    )

    status, access_token = run(code.replace(SECRET_PLACEHOLDER, secret), tmp_path)

    assert status == 200
    claims = decode_token(access_token, ODD_AUDIENCE)
    assert claims["aud"] == ODD_AUDIENCE
    assert claims["scope"] == "read:odd"


def test_python_snippet_compiles_odd_audience():
    code = snippet_code(
        "https://auth.example.com/oauth/token",
        "client",
        ODD_AUDIENCE,
        "Python (requests)",
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = ast.parse(code)
    compile(tree, "<snippet>", "exec")
    form = next(node for node in ast.walk(tree) if isinstance(node, ast.Dict))
    fields = {
        ast.literal_eval(key): ast.literal_eval(value)
        for key, value in zip(form.keys, form.values, strict=True)
    }
    assert fields["audience"] == ODD_AUDIENCE
    assert fields["client_id"] == "client"
    assert fields["client_secret"] == SECRET_PLACEHOLDER


def test_curl_snippet_quotes_odd_audience():
    code = snippet_code(
        "https://auth.example.com/oauth/token", "client", ODD_AUDIENCE, "cURL"
    )
    # `printf '%s\n'` prints each argument that bash parses on its own line.
    command = "printf '%s\\n' " + code.removeprefix("curl ")

    result = run_program(["bash", "-c", command])

    arguments = result.stdout.splitlines()
    assert f"audience={ODD_AUDIENCE}" in arguments
    assert "client_id=client" in arguments
    assert "https://auth.example.com/oauth/token" in arguments


def test_snippets_keep_characters_outside_the_bmp():
    audience = "urn:emoji:\U0001f600\u00e9"
    snippets = dict(
        token_request_snippets("http://127.0.0.1/oauth/token", "id", audience)
    )
    python = snippets["Python (requests)"]
    tree = ast.parse(python)
    literals = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    assert audience in literals
    assert "\\ud83d" not in snippets["Go (net/http)"]
