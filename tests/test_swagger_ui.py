"""Swagger UI in Debian's Chromium, against the live server."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def open_docs(page, live_server, fragment=""):
    page.goto(f"{live_server.url}/api/docs/{fragment}")
    page.wait_for_selector(".opblock")


def authorize_with_token(page, token):
    page.click("button.authorize")
    bearer = page.locator(".modal-ux .auth-container", has_text="bearerAuth")
    bearer.locator("input").fill(token)
    bearer.locator("button.authorize").click()
    page.click(".modal-ux button.btn-done")


def execute(page, operation_id, tag="ping"):
    """Run one operation with "Try it out"; return its status and response text."""
    operation = page.locator(f"#operations-{tag}-{operation_id}")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status")
    status.wait_for()
    text = operation.locator(".live-responses-table").inner_text()
    return int(status.inner_text().strip()), text


def test_swagger_served_without_cdn(client, db):
    for path in ["/api/docs/", "/api/redoc/"]:
        html = client.get(path).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "https://" not in html
        assert "http://" not in html


def test_swagger_pasted_token(page, live_server, make_token):
    open_docs(page, live_server)
    authorize_with_token(page, make_token())
    status, _ = execute(page, "ping_secure_retrieve")
    assert status == 200


def test_swagger_missing_scope_shows_challenge(page, live_server, make_token):
    open_docs(page, live_server)
    authorize_with_token(page, make_token(scopes=["create:messages"]))
    status, text = execute(page, "messages_list")
    assert status == 403
    assert "www-authenticate" in text.lower()
    assert 'error="insufficient_scope"' in text
    assert 'scope="read:messages"' in text


def test_swagger_client_credentials_dialog(page, live_server, make_application):
    application, secret = make_application(scopes=["read:messages"])
    open_docs(page, live_server)
    page.click("button.authorize")
    page.fill("#client_id_clientCredentials", application.client_id)
    page.fill("#client_secret_clientCredentials", secret)
    oauth2 = page.locator(".modal-ux .auth-container", has_text="clientCredentials")
    oauth2.locator("button.authorize").click()
    oauth2.get_by_text("Authorized").wait_for()
    page.click(".modal-ux button.btn-done")
    # The lock closes once Swagger UI holds the token for its requests.
    page.locator(".auth-wrapper button.authorize.locked").wait_for()

    status, text = execute(page, "messages_list")
    assert status == 200, text


def test_swagger_dialog_wrong_secret(page, live_server, make_application):
    application, _ = make_application(scopes=["read:messages"])
    open_docs(page, live_server)
    page.click("button.authorize")
    page.fill("#client_id_clientCredentials", application.client_id)
    page.fill("#client_secret_clientCredentials", "wrong")
    oauth2 = page.locator(".modal-ux .auth-container", has_text="clientCredentials")
    oauth2.locator("button.authorize").click()
    # Swagger UI lists auth errors above the operations, outside the dialog.
    page.click(".modal-ux button.btn-done")
    errors = page.locator(".errors-wrapper")
    errors.get_by_text("invalid_client").wait_for()
    assert "Client authentication failed." in errors.inner_text()


def test_swagger_admin_session_is_not_a_token(page, live_server, admin_user, ping_api):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    open_docs(page, live_server)
    status, text = execute(page, "ping_secure_retrieve")
    assert status == 401
    assert "not_authenticated" in text


def test_swagger_authorization_persists(page, live_server, make_token):
    open_docs(page, live_server)
    authorize_with_token(page, make_token())
    page.reload()
    page.wait_for_selector(".opblock")
    status, _ = execute(page, "ping_secure_retrieve")
    assert status == 200


def test_swagger_token_in_fragment(page, live_server, make_token):
    token = make_token()
    open_docs(page, live_server, f"#access_token={token}")
    assert token not in page.url
    status, _ = execute(page, "ping_secure_retrieve")
    assert status == 200


def test_swagger_public_operation(page, live_server, db):
    open_docs(page, live_server)
    status, _ = execute(page, "ping_retrieve")
    assert status == 200


def test_swagger_page_lists_required_scopes(page, live_server, ping_api):
    open_docs(page, live_server)
    operation = page.locator("#operations-ping-messages_list")
    operation.locator(".opblock-summary").click()
    description = operation.locator(".opblock-description-wrapper").inner_text()
    assert "Needs an access token with the scopes read:messages." in description
