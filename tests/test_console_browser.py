"""The API console in Debian's Chromium, against the live server."""

import subprocess

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apis.models import TokenRecord

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "console-test-password"


@pytest.fixture
def issuer_is_live_server(settings, live_server):
    """Mint tokens whose iss is the live server, as a deployment would."""
    issuer = f"{live_server.url}/"
    settings.GATEHOUSE_ISSUER = issuer
    settings.GATEHOUSE_SCOPES = {**settings.GATEHOUSE_SCOPES, "ISSUER": issuer}
    return issuer


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "", PASSWORD)


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")


def open_tab(page, live_server, api, tab):
    page.goto(live_server.url + reverse(f"admin:apis_api_{tab}", args=[api.pk]))


def mint(page, scopes):
    for box in page.locator("#mint-form input[name=scopes]").all():
        if box.is_enabled():
            box.set_checked(box.get_attribute("value") in scopes)
    page.get_by_role("button", name="Mint token").click()
    page.locator("#minted").wait_for()


def try_it(page, label):
    page.get_by_role("button", name=label).click()
    page.locator("#try-it-result").wait_for(state="visible")
    status = page.locator("#try-it-status").inner_text()
    page.wait_for_function(
        "previous => document.getElementById('try-it-status').textContent !== ''",
        arg=status,
    )
    return page.locator("#try-it-status").inner_text(), page.locator(
        "#try-it-explanation"
    ).inner_text()


def test_console_mint_and_try_it(
    page, live_server, issuer_is_live_server, superuser, ping_api
):
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    assert page.get_by_label("Application").input_value() == str(
        ping_api.test_application.pk
    )

    mint(page, ["create:messages"])
    claims = page.locator("#token-claims").inner_text()
    assert "create:messages" in claims
    assert "read:messages" not in claims
    assert ping_api.identifier in claims

    status, _ = try_it(page, "GET /api/ping/secure")
    assert status.startswith("200")

    page.get_by_role("button", name="GET /api/messages").click()
    page.wait_for_function(
        "() => document.getElementById('try-it-status').textContent.startsWith('403')"
    )
    explanation = page.locator("#try-it-explanation").inner_text()
    assert "the token lacks read:messages" in explanation
    assert "insufficient_scope" in page.locator("#try-it-challenge").inner_text()

    mint(page, ["read:messages"])
    page.get_by_role("button", name="GET /api/messages").click()
    page.wait_for_function(
        "() => document.getElementById('try-it-status').textContent.startsWith('200')"
    )
    assert TokenRecord.objects.count() == 2


def test_console_curl_line_works_in_a_shell(
    page, live_server, issuer_is_live_server, superuser, ping_api
):
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    mint(page, [])
    command = page.locator("#call-snippet").inner_text()
    assert command.startswith(f"curl --url '{live_server.url}/api/ping/secure'")

    result = subprocess.run(
        ["bash", "-c", command + " --silent --write-out ' %{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout.endswith(" 200"), result.stdout + result.stderr


def test_console_grant_all_clears_flag(
    page, live_server, superuser, ping_api, make_application
):
    application, _ = make_application(name="Half granted", scopes=["read:messages"])
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "applications")
    row = page.locator(f"#application-{application.pk}")
    assert "1 scope not granted" in row.inner_text()

    row.get_by_role("button", name="Grant all").click()
    page.wait_for_load_state()
    row = page.locator(f"#application-{application.pk}")
    assert "not granted" not in row.inner_text()
    assert row.get_by_label("create:messages").is_checked()


def test_console_scopes_follow_application(
    page, live_server, superuser, ping_api, make_application
):
    application, _ = make_application(name="Reader only", scopes=["read:messages"])
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    page.get_by_label("Application").select_option(str(application.pk))
    assert page.get_by_label("read:messages").is_checked()
    assert page.get_by_label("create:messages").is_disabled()


def test_console_mint_without_javascript(browser, live_server, superuser, ping_api):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    page.get_by_label("create:messages").uncheck()
    page.get_by_role("button", name="Mint token").click()
    page.locator("#minted").wait_for()
    claims = page.locator("#token-claims").inner_text()
    assert "read:messages" in claims
    assert "create:messages" not in claims
    context.close()


def test_console_keyboard_mint(page, live_server, superuser, ping_api):
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    page.get_by_label("Application").focus()
    page.keyboard.press("Tab")  # the first scope checkbox
    page.keyboard.press("Space")  # untick create:messages
    page.get_by_role("button", name="Mint token").focus()
    page.keyboard.press("Enter")
    page.locator("#minted").wait_for()
    assert "create:messages" not in page.locator("#token-claims").inner_text()


def test_console_test_tab_needs_permission(
    page, live_server, django_user_model, ping_api
):
    staff = django_user_model.objects.create_user("viewer", "", PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_api"))
    log_in(page, live_server, "viewer")
    open_tab(page, live_server, ping_api, "quickstart")
    assert page.locator("#tab-quickstart").is_visible()
    assert page.locator("#tab-test").count() == 0

    response = page.goto(
        live_server.url + reverse("admin:apis_api_test", args=[ping_api.pk])
    )
    assert response.status == 403


def test_console_open_in_swagger_ui(
    page, live_server, issuer_is_live_server, superuser, ping_api
):
    log_in(page, live_server, "root")
    open_tab(page, live_server, ping_api, "test")
    mint(page, ["read:messages"])
    page.get_by_role("link", name="Open in Swagger UI").click()
    page.wait_for_selector(".opblock")
    assert "access_token" not in page.url

    operation = page.locator("#operations-ping-messages_list")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status")
    assert status.inner_text().strip() == "200"
