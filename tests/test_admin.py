"""The Django admin of the registry: APIs, scopes, applications, grants and keys."""

import pytest
from django.contrib.auth.models import Permission
from django.forms import BooleanField
from django.test import Client
from django.urls import reverse

from apis.keys import ensure_signing_key, key_ring
from apis.models import API, Application, ClientGrant, Scope, SigningKey
from apis.services import create_api, create_application

ORDERS_NAME = "Orders API"
ORDERS_IDENTIFIER = "https://orders.example.com/"

INVALID_SCOPE_MESSAGE = (
    "A scope may contain only printable ASCII characters without spaces, "
    'double quotes (") or backslashes (\\).'
)
RESERVED_SCOPES = ["openid", "profile", "email", "address", "phone", "offline_access"]


def form_data(response):
    """
    Build the POST data that submits an admin add or change page as rendered.

    The inline formsets keep their initial forms and drop their empty extra
    forms. A test appends the forms it fills in with `add_inline_form`.
    """
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        data[management.add_prefix("TOTAL_FORMS")] = formset.initial_form_count()
        forms.extend(formset.initial_forms)

    for form in forms:
        for bound_field in form:
            value = bound_field.value()
            if isinstance(bound_field.field, BooleanField):
                # A browser sends a checked box as "on" and omits an unchecked one.
                if value:
                    data[bound_field.html_name] = "on"
                continue
            data[bound_field.html_name] = "" if value is None else value
    return data


def inline_prefix(response, model):
    """Return the form prefix of the page's inline formset for `model`."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"The page has no inline formset for {model.__name__}.")


def add_inline_form(data, prefix, **fields):
    """Append one filled-in form to the inline formset `prefix` of `data`."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = index + 1


def inline_errors(response, model):
    """Return the field and non-form errors of the inline formset for `model`."""
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.model is model:
            messages = list(formset.non_form_errors())
            for form_errors in formset.errors:
                for errors in form_errors.values():
                    messages.extend(errors)
            return messages
    raise AssertionError(f"The page has no inline formset for {model.__name__}.")


def post_api_add(client, scopes=(), **fields):
    """Submit the API add page with `fields` and one scope form per pair."""
    url = reverse("admin:apis_api_add")
    page = client.get(url)
    data = form_data(page)
    data["name"] = ORDERS_NAME
    data["identifier"] = ORDERS_IDENTIFIER
    data.update(fields)
    prefix = inline_prefix(page, Scope)
    for value, description in scopes:
        add_inline_form(data, prefix, value=value, description=description)
    return client.post(url, data)


def granted_values(grant):
    return sorted(grant.scopes.values_list("value", flat=True))


def cache_control_directives(response):
    return {
        directive.strip().split("=")[0]
        for directive in response["Cache-Control"].split(",")
    }


@pytest.fixture
def billing_api(db):
    return create_api(
        name="Billing API",
        identifier="https://billing.example.com/",
        scopes=[("read:invoices", "Read invoices.")],
    )


@pytest.fixture
def staff_viewer(django_user_model):
    """A staff user who may view applications but not change them."""
    user = django_user_model.objects.create_user(
        "viewer", password="viewer-password-1", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    return user


# API add page


def test_api_add_creates_api(admin_client):
    response = post_api_add(admin_client, scopes=[("read:orders", "Read orders.")])

    assert response.status_code == 302
    assert API.objects.filter(identifier=ORDERS_IDENTIFIER).exists()


def test_api_add_creates_test_application(admin_client):
    scopes = [("read:orders", "Read orders."), ("create:orders", "Create orders.")]

    response = post_api_add(admin_client, scopes=scopes)

    assert response.status_code == 302
    api = API.objects.get(identifier=ORDERS_IDENTIFIER)
    application = Application.objects.get(name="Orders API (Test Application)")
    assert api.test_application == application
    grant = ClientGrant.objects.get(application=application)
    assert grant.api == api
    assert granted_values(grant) == ["create:orders", "read:orders"]


def test_api_add_test_application_without_scopes(admin_client):
    response = post_api_add(admin_client)

    assert response.status_code == 302
    api = API.objects.get(identifier=ORDERS_IDENTIFIER)
    assert api.test_application is not None
    grant = ClientGrant.objects.get(application=api.test_application)
    assert granted_values(grant) == []


def test_api_add_page_has_scope_inline_only(admin_client):
    response = admin_client.get(reverse("admin:apis_api_add"))

    assert response.status_code == 200
    models = [
        inline.formset.model for inline in response.context["inline_admin_formsets"]
    ]
    assert models == [Scope]


# API change page


def test_api_change_shows_identifier_read_only(admin_client, ping_api):
    response = admin_client.get(reverse("admin:apis_api_change", args=[ping_api.pk]))

    assert response.status_code == 200
    assert "identifier" not in response.context["adminform"].form.fields
    assert ping_api.identifier in response.content.decode()


def test_api_change_ignores_posted_identifier(admin_client, ping_api):
    url = reverse("admin:apis_api_change", args=[ping_api.pk])
    data = form_data(admin_client.get(url))
    data["name"] = "Renamed Ping API"
    data["identifier"] = "https://changed.example.com/"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    ping_api.refresh_from_db()
    assert ping_api.name == "Renamed Ping API"
    assert ping_api.identifier != "https://changed.example.com/"
    assert ping_api.identifier == "https://ping.example.com/api"


def test_api_change_shows_console_tabs(admin_client, ping_api):
    response = admin_client.get(reverse("admin:apis_api_change", args=[ping_api.pk]))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []
    content = response.content.decode()
    for tab in ["quickstart", "permissions", "applications", "test"]:
        assert reverse(f"admin:apis_api_{tab}", args=[ping_api.pk]) in content


# API validation


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "<b>Orders", "The name may not contain < or >."),
        ("name", "Orders>", "The name may not contain < or >."),
        (
            "name",
            "n" * 201,
            "Ensure this value has at most 200 characters (it has 201).",
        ),
        (
            "identifier",
            "https://" + "a" * 593,
            "Ensure this value has at most 600 characters (it has 601).",
        ),
        (
            "identifier",
            "https://orders.example.com/ v2",
            "The identifier may not contain spaces.",
        ),
        (
            "token_lifetime_seconds",
            "0",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            "token_lifetime_seconds",
            "2592001",
            "Ensure this value is less than or equal to 2592000.",
        ),
    ],
)
def test_api_add_rejects_invalid_field(admin_client, field, value, message):
    response = post_api_add(admin_client, **{field: value})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert API.objects.count() == 0
    assert Application.objects.count() == 0


def test_api_add_accepts_max_token_lifetime(admin_client):
    response = post_api_add(admin_client, token_lifetime_seconds="2592000")

    assert response.status_code == 302
    api = API.objects.get(identifier=ORDERS_IDENTIFIER)
    assert api.token_lifetime_seconds == 2592000


def test_api_add_accepts_max_identifier_length(admin_client):
    identifier = "https://" + "a" * 592

    response = post_api_add(admin_client, identifier=identifier)

    assert response.status_code == 302
    assert API.objects.filter(identifier=identifier).exists()


def test_api_add_rejects_duplicate_identifier(admin_client, billing_api):
    response = post_api_add(admin_client, identifier=billing_api.identifier)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["identifier"] == [
        "API with this Identifier already exists."
    ]
    assert API.objects.count() == 1


@pytest.mark.parametrize(
    "value",
    ["read orders", 'read"orders', "read\\orders"],
    ids=["space", "double-quote", "backslash"],
)
def test_api_add_rejects_invalid_scope(admin_client, value):
    response = post_api_add(admin_client, scopes=[(value, "")])

    assert response.status_code == 200
    assert inline_errors(response, Scope) == [INVALID_SCOPE_MESSAGE]
    assert API.objects.count() == 0
    assert Scope.objects.count() == 0


@pytest.mark.parametrize("value", RESERVED_SCOPES)
def test_api_add_rejects_reserved_scope(admin_client, value):
    response = post_api_add(admin_client, scopes=[(value, "")])

    assert response.status_code == 200
    assert inline_errors(response, Scope) == [
        f"{value} is reserved by OpenID Connect; choose another name, such as "
        f"read:{value}."
    ]
    assert API.objects.count() == 0


def test_api_add_rejects_duplicate_scope(admin_client):
    scopes = [("read:orders", "Read orders."), ("read:orders", "Again.")]

    response = post_api_add(admin_client, scopes=scopes)

    assert response.status_code == 200
    messages = inline_errors(response, Scope)
    assert "Please correct the duplicate data for value." in messages
    assert API.objects.count() == 0
    assert Scope.objects.count() == 0


def test_api_add_allows_scope_of_other_api(admin_client, billing_api):
    response = post_api_add(admin_client, scopes=[("read:invoices", "")])

    assert response.status_code == 302
    assert Scope.objects.filter(value="read:invoices").count() == 2


def test_api_add_rejects_long_scope_description(admin_client):
    response = post_api_add(admin_client, scopes=[("read:orders", "d" * 501)])

    assert response.status_code == 200
    assert inline_errors(response, Scope) == [
        "Ensure this value has at most 500 characters (it has 501)."
    ]
    assert API.objects.count() == 0


# Application add page


def post_application_add(client, api=None, scope_values=(), **fields):
    """Submit the application add page, with a grant form when `api` is given."""
    url = reverse("admin:apis_application_add")
    page = client.get(url)
    data = form_data(page)
    data["name"] = "Orders worker"
    data["description"] = "Processes orders."
    data.update(fields)
    if api is not None:
        scope_pks = [api.scopes.get(value=value).pk for value in scope_values]
        add_inline_form(
            data, inline_prefix(page, ClientGrant), api=api.pk, scopes=scope_pks
        )
    return client.post(url, data)


def test_application_add_shows_secret_once(admin_client):
    response = post_application_add(admin_client)

    assert response.status_code == 200
    secret = response.context["client_secret"]
    application = Application.objects.get(name="Orders worker")
    content = response.content.decode()
    assert content.count(secret) == 1
    assert application.client_id in content
    assert "no-store" in cache_control_directives(response)


def test_application_add_stores_only_hash(admin_client):
    response = post_application_add(admin_client)

    assert response.status_code == 200
    secret = response.context["client_secret"]
    application = Application.objects.get(name="Orders worker")
    assert application.client_secret_hash != secret
    assert secret not in application.client_secret_hash
    assert application.check_client_secret(secret)


def test_application_add_saves_grant(admin_client, ping_api):
    response = post_application_add(
        admin_client, api=ping_api, scope_values=["read:messages"]
    )

    assert response.status_code == 200
    grant = ClientGrant.objects.get(application__name="Orders worker")
    assert grant.api == ping_api
    assert granted_values(grant) == ["read:messages"]


def test_application_add_rejects_invalid_name(admin_client):
    response = post_application_add(admin_client, name="<script>")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        "The name may not contain < or >."
    ]
    assert Application.objects.count() == 0


def test_application_change_hides_secret(admin_client):
    added = post_application_add(admin_client)
    secret = added.context["client_secret"]
    application = Application.objects.get(name="Orders worker")

    response = admin_client.get(
        reverse("admin:apis_application_change", args=[application.pk])
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert secret not in content
    assert application.client_secret_hash not in content
    assert application.client_id in content


# Rotate client secret


def rotate_url(application):
    return reverse("admin:apis_application_rotate_secret", args=[application.pk])


def test_rotate_secret_get_shows_confirmation(admin_client, make_application):
    application, _ = make_application()

    response = admin_client.get(rotate_url(application))

    assert response.status_code == 200
    assert "admin/apis/application/rotate_secret.html" in [
        template.name for template in response.templates
    ]
    content = response.content.decode()
    assert '<form method="post">' in content
    assert application.client_id in content


def test_rotate_secret_get_keeps_secret(admin_client, make_application):
    application, secret = make_application()

    response = admin_client.get(rotate_url(application))

    assert response.status_code == 200
    application.refresh_from_db()
    assert application.check_client_secret(secret)
    assert application.secret_rotated_at is None


def test_rotate_secret_post_shows_new_secret(admin_client, make_application):
    application, old_secret = make_application()

    response = admin_client.post(rotate_url(application))

    assert response.status_code == 200
    new_secret = response.context["client_secret"]
    assert new_secret != old_secret
    assert response.content.decode().count(new_secret) == 1
    assert "no-store" in cache_control_directives(response)


def test_rotate_secret_post_replaces_secret(admin_client, make_application):
    application, old_secret = make_application()

    response = admin_client.post(rotate_url(application))

    assert response.status_code == 200
    new_secret = response.context["client_secret"]
    application.refresh_from_db()
    assert not application.check_client_secret(old_secret)
    assert application.check_client_secret(new_secret)
    assert application.secret_rotated_at is not None


def test_rotate_secret_requires_csrf_token(admin_user, make_application):
    application, _ = make_application()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    page = client.get(rotate_url(application))
    without_token = client.post(rotate_url(application))
    with_token = client.post(
        rotate_url(application),
        {"csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )

    assert page.status_code == 200
    assert without_token.status_code == 403
    assert with_token.status_code == 200
    application.refresh_from_db()
    assert application.check_client_secret(with_token.context["client_secret"])


def test_rotate_secret_forbids_viewer_get(client, staff_viewer, make_application):
    application, _ = make_application()
    client.force_login(staff_viewer)

    response = client.get(rotate_url(application))

    assert response.status_code == 403


def test_rotate_secret_forbids_viewer_post(client, staff_viewer, make_application):
    application, secret = make_application()
    client.force_login(staff_viewer)

    response = client.post(rotate_url(application))

    assert response.status_code == 403
    application.refresh_from_db()
    assert application.check_client_secret(secret)
    assert application.secret_rotated_at is None


def test_rotate_secret_link_shown_to_admin(admin_client, make_application):
    application, _ = make_application()

    response = admin_client.get(
        reverse("admin:apis_application_change", args=[application.pk])
    )

    assert response.status_code == 200
    assert rotate_url(application) in response.content.decode()


def test_rotate_secret_link_hidden_from_viewer(client, staff_viewer, make_application):
    application, _ = make_application()
    client.force_login(staff_viewer)

    response = client.get(
        reverse("admin:apis_application_change", args=[application.pk])
    )

    assert response.status_code == 200
    assert rotate_url(application) not in response.content.decode()


def test_rotate_secret_redirects_anonymous_get(client, make_application):
    application, _ = make_application()

    response = client.get(rotate_url(application))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert "next=" in response.url


def test_rotate_secret_redirects_anonymous_post(client, make_application):
    application, secret = make_application()

    response = client.post(rotate_url(application))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    application.refresh_from_db()
    assert application.check_client_secret(secret)


def test_rotate_secret_unknown_application(admin_client, db):
    response = admin_client.get(
        reverse("admin:apis_application_rotate_secret", args=[999999])
    )

    assert response.status_code == 404


def test_rotate_secret_non_numeric_id(admin_client, db):
    url = reverse("admin:apis_application_rotate_secret", args=["abc"])

    response = admin_client.get(url)

    assert response.status_code == 404


# Grants


def post_grant_add(client, application, api, scopes):
    url = reverse("admin:apis_clientgrant_add")
    data = {
        "application": application.pk,
        "api": api.pk,
        "scopes": [scope.pk for scope in scopes],
    }
    return client.post(url, data)


def test_grant_add_rejects_foreign_scope(admin_client, ping_api, billing_api):
    application = Application.objects.create(name="Orders worker")
    foreign = billing_api.scopes.get(value="read:invoices")

    response = post_grant_add(admin_client, application, ping_api, [foreign])

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"] == [
        "These scopes belong to another API than Ping API: read:invoices."
    ]
    assert not ClientGrant.objects.filter(application=application).exists()


def test_grant_add_accepts_own_scopes(admin_client, ping_api):
    application = Application.objects.create(name="Orders worker")
    scopes = list(ping_api.scopes.all())

    response = post_grant_add(admin_client, application, ping_api, scopes)

    assert response.status_code == 302
    grant = ClientGrant.objects.get(application=application)
    assert grant.api == ping_api
    assert granted_values(grant) == ["create:messages", "read:messages"]


def test_grant_add_rejects_duplicate(admin_client, ping_api, make_application):
    application, _ = make_application()

    response = post_grant_add(admin_client, application, ping_api, [])

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Client grant with this Application and API already exists."
    ]
    assert ClientGrant.objects.filter(application=application).count() == 1


def test_application_inline_rejects_duplicate_grant(admin_client, ping_api):
    application = Application.objects.create(name="Orders worker")
    url = reverse("admin:apis_application_change", args=[application.pk])
    page = admin_client.get(url)
    data = form_data(page)
    prefix = inline_prefix(page, ClientGrant)
    add_inline_form(data, prefix, api=ping_api.pk)
    add_inline_form(data, prefix, api=ping_api.pk)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Please correct the duplicate data for api." in inline_errors(
        response, ClientGrant
    )
    assert not ClientGrant.objects.filter(application=application).exists()


def test_application_inline_rejects_foreign_scope(admin_client, ping_api, billing_api):
    application = Application.objects.create(name="Orders worker")
    url = reverse("admin:apis_application_change", args=[application.pk])
    page = admin_client.get(url)
    data = form_data(page)
    foreign = billing_api.scopes.get(value="read:invoices")
    add_inline_form(
        data, inline_prefix(page, ClientGrant), api=ping_api.pk, scopes=[foreign.pk]
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, ClientGrant) == [
        "These scopes belong to another API than Ping API: read:invoices."
    ]
    assert not ClientGrant.objects.filter(application=application).exists()


def test_scope_delete_removes_it_from_grants(make_application, ping_api):
    application, _ = make_application(scopes=["read:messages", "create:messages"])
    grant = application.grants.get()
    test_grant = ping_api.test_application.grants.get()

    ping_api.scopes.get(value="read:messages").delete()

    assert granted_values(grant) == ["create:messages"]
    assert granted_values(test_grant) == ["create:messages"]


# Secrets on admin pages


@pytest.fixture
def registry(ping_api):
    """A signing key, the ping API with its test application, and one client."""
    signing_key = ensure_signing_key()
    application, _ = create_application(
        name="Orders worker", api=ping_api, scope_values=["read:messages"]
    )
    grant = application.grants.get()
    return {"signing_key": signing_key, "application": application, "grant": grant}


def admin_page_urls(registry, ping_api):
    application = registry["application"]
    return [
        reverse("admin:apis_api_changelist"),
        reverse("admin:apis_api_change", args=[ping_api.pk]),
        reverse("admin:apis_application_changelist"),
        reverse("admin:apis_application_change", args=[application.pk]),
        reverse("admin:apis_application_change", args=[ping_api.test_application.pk]),
        reverse("admin:apis_clientgrant_changelist"),
        reverse("admin:apis_clientgrant_change", args=[registry["grant"].pk]),
        reverse("admin:apis_signingkey_changelist"),
        reverse("admin:apis_signingkey_change", args=[registry["signing_key"].pk]),
    ]


def test_admin_pages_hide_secret_hashes(admin_client, registry, ping_api):
    hashes = list(Application.objects.values_list("client_secret_hash", flat=True))

    for url in admin_page_urls(registry, ping_api):
        response = admin_client.get(url)
        content = response.content.decode()
        assert response.status_code == 200, url
        assert "hmac-sha256$" not in content, url
        for secret_hash in hashes:
            assert secret_hash not in content, url


def test_admin_pages_hide_private_key(admin_client, registry, ping_api):
    encrypted = registry["signing_key"].encrypted_private_key

    for url in admin_page_urls(registry, ping_api):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert encrypted not in response.content.decode(), url


def test_signing_key_change_page_shows_kid(admin_client, registry):
    signing_key = registry["signing_key"]

    response = admin_client.get(
        reverse("admin:apis_signingkey_change", args=[signing_key.pk])
    )

    assert response.status_code == 200
    assert signing_key.kid in response.content.decode()
    assert response.context["has_change_permission"] is False


def test_signing_key_add_forbidden(admin_client, db):
    response = admin_client.get(reverse("admin:apis_signingkey_add"))

    assert response.status_code == 403


def test_signing_key_change_post_forbidden(admin_client, registry):
    signing_key = registry["signing_key"]
    url = reverse("admin:apis_signingkey_change", args=[signing_key.pk])

    response = admin_client.post(url, {"kid": "replaced"})

    assert response.status_code == 403
    signing_key.refresh_from_db()
    assert signing_key.kid != "replaced"


def test_signing_key_delete_forbidden(admin_client, registry):
    signing_key = registry["signing_key"]
    url = reverse("admin:apis_signingkey_delete", args=[signing_key.pk])

    get_response = admin_client.get(url)
    post_response = admin_client.post(url, {"post": "yes"})

    assert get_response.status_code == 403
    assert post_response.status_code == 403
    assert SigningKey.objects.filter(pk=signing_key.pk).exists()


def test_signing_key_changelist_has_no_add(admin_client, registry):
    response = admin_client.get(reverse("admin:apis_signingkey_changelist"))

    assert response.status_code == 200
    assert response.context["has_add_permission"] is False
    assert reverse("admin:apis_signingkey_add") not in response.content.decode()


def test_signing_key_changelist_has_no_delete_action(admin_client, registry):
    response = admin_client.get(reverse("admin:apis_signingkey_changelist"))

    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()


# Search and filters


def changelist_results(response):
    return list(response.context["cl"].result_list)


def test_api_changelist_searches_identifier(admin_client, ping_api, billing_api):
    url = reverse("admin:apis_api_changelist")

    response = admin_client.get(url, {"q": "billing.example.com"})

    assert response.status_code == 200
    assert changelist_results(response) == [billing_api]


def test_api_changelist_counts_scopes(admin_client, ping_api, billing_api):
    response = admin_client.get(reverse("admin:apis_api_changelist"))

    assert response.status_code == 200
    totals = {api.identifier: api.scope_total for api in changelist_results(response)}
    assert totals[ping_api.identifier] == 2
    assert totals[billing_api.identifier] == 1


def test_api_changelist_filters_token_profile(admin_client, ping_api, billing_api):
    billing_api.token_profile = API.TokenProfile.AUTH0
    billing_api.save()
    url = reverse("admin:apis_api_changelist")

    response = admin_client.get(url, {"token_profile__exact": "auth0"})

    assert response.status_code == 200
    assert changelist_results(response) == [billing_api]


def test_application_changelist_filters_inactive(admin_client, make_application):
    make_application(name="Active worker")
    inactive, _ = make_application(name="Inactive worker")
    inactive.active = False
    inactive.save()
    url = reverse("admin:apis_application_changelist")

    response = admin_client.get(url, {"active__exact": "0"})

    assert response.status_code == 200
    assert changelist_results(response) == [inactive]


def test_application_changelist_searches_client_id(admin_client, make_application):
    searched, _ = make_application(name="Orders worker")
    make_application(name="Billing worker")
    url = reverse("admin:apis_application_changelist")

    response = admin_client.get(url, {"q": searched.client_id})

    assert response.status_code == 200
    assert changelist_results(response) == [searched]


def test_grant_changelist_filters_api(admin_client, ping_api, billing_api):
    url = reverse("admin:apis_clientgrant_changelist")

    response = admin_client.get(url, {"api__id__exact": billing_api.pk})

    assert response.status_code == 200
    results = changelist_results(response)
    assert [grant.api for grant in results] == [billing_api]


def test_grant_changelist_searches_identifier(admin_client, ping_api, billing_api):
    url = reverse("admin:apis_clientgrant_changelist")

    response = admin_client.get(url, {"q": "billing.example.com"})

    assert response.status_code == 200
    assert [grant.api for grant in changelist_results(response)] == [billing_api]


def test_scope_changelist_searches_value(admin_client, ping_api, billing_api):
    url = reverse("admin:apis_scope_changelist")

    response = admin_client.get(url, {"q": "invoices"})

    assert response.status_code == 200
    values = [scope.value for scope in changelist_results(response)]
    assert values == ["read:invoices"]


def test_application_add_popup_hands_back_application(admin_client, ping_api):
    response = admin_client.post(
        "/admin/apis/application/add/?_to_field=id&_popup=1",
        {
            "name": "From popup",
            "description": "",
            "active": "on",
            "_popup": "1",
            "_to_field": "id",
            "grants-TOTAL_FORMS": "0",
            "grants-INITIAL_FORMS": "0",
            "grants-MIN_NUM_FORMS": "0",
            "grants-MAX_NUM_FORMS": "1000",
        },
    )
    application = Application.objects.get(name="From popup")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="close-popup"' in content
    assert f"&quot;value&quot;: &quot;{application.pk}&quot;" in content
    assert "client_secret_popup.js" in content


SENSITIVE_LOOKUPS = [
    "/admin/apis/application/?client_secret_hash__startswith=hmac",
    "/admin/apis/application/?client_secret_hash__regex=.",
    "/admin/apis/signingkey/?encrypted_private_key__startswith=v1",
    "/admin/apis/signingkey/?encrypted_private_key__regex=.",
    "/admin/apis/clientgrant/?application__client_secret_hash__startswith=hmac",
    "/admin/apis/api/?test_application__client_secret_hash__startswith=hmac",
    "/admin/apis/scope/?grants__application__client_secret_hash__startswith=h",
]


@pytest.mark.parametrize("url", SENSITIVE_LOOKUPS)
def test_changelist_rejects_secret_lookups(admin_client, make_application, url):
    make_application()
    key_ring.signing_key()
    response = admin_client.get(url)
    assert response.status_code == 400
