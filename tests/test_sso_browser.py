"""
Single sign-on in Debian's Chromium: the live server, and the test OpenID
provider on another loopback port, as a person would meet them.
"""

from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import Group, Permission, User

from apis.models import SingleSignOnIdentity
from tests.sso import query
from tests.test_console_browser import issuer_is_live_server, mint, open_tab, try_it
from tests.test_swagger_ui import authorize_with_token, execute, open_docs

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["issuer_is_live_server"]


@pytest.fixture
def token_testers(db):
    """The Django group that the provider's gatehouse-admins group maps to."""
    group = Group.objects.create(name="Token testers")
    group.permissions.add(
        *Permission.objects.filter(codename__in=["view_api", "mint_test_token"])
    )
    Group.objects.create(name="Key managers")
    return group


def press_sso(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_role("link", name="Log in with SSO").click()


def sign_in_at_provider(page, login):
    page.get_by_role("heading", name="Sign in to the test provider").wait_for()
    page.get_by_label("Login").fill(login)
    page.get_by_role("button", name="Sign in").click()


def test_admitted_person_gets_mapped_groups(
    page,
    live_server,
    sso,
    oidc_provider,
    token_testers,
    ping_api,
    issuer_is_live_server,
):
    press_sso(page, live_server)
    assert page.url.startswith(oidc_provider.issuer)
    sign_in_at_provider(page, "alice")

    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.get_by_role("heading", name="Site administration").is_visible()
    user = User.objects.get(email="alice@example.com")
    assert {g.name for g in user.groups.all()} == {"Token testers", "Key managers"}

    # The rights of the mapped group work, scripts included: mint a token in
    # the console and call the API with it.
    open_tab(page, live_server, ping_api, "test")
    mint(page, ["read:messages"])
    status, _ = try_it(page, "GET /api/messages")
    assert status.startswith("200")
    assert urlsplit(page.url).netloc == urlsplit(live_server.url).netloc


def test_rejected_person_sees_why_and_gets_no_account(
    page, live_server, sso, token_testers
):
    press_sso(page, live_server)
    sign_in_at_provider(page, "bob")

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "bob@other.test is not allowed into this admin" in alert.inner_text()
    assert page.get_by_role("heading", name="Access denied").is_visible()
    assert not User.objects.filter(email="bob@other.test").exists()
    assert not SingleSignOnIdentity.objects.exists()
    page.get_by_role("link", name="Back to the login page").click()
    assert page.get_by_role("link", name="Log in with SSO").is_visible()


def test_tampered_state_and_replayed_callback_are_rejected(
    page, live_server, sso, oidc_provider, token_testers
):
    held_callbacks = []

    def hold(route):
        # Follow the provider's redirects outside the page, because Playwright
        # does not route redirects, and keep the callback from Gatehouse.
        url = route.request.url
        response = route.fetch(max_redirects=0)
        while response.status in (302, 303):
            url = urljoin(url, response.headers["location"])
            if url.startswith(live_server.url):
                held_callbacks.append(url)
                break
            response = page.context.request.get(url, max_redirects=0)
        route.fulfill(status=200, body="held", content_type="text/plain")

    page.route(f"{oidc_provider.issuer}/interaction/*", hold)
    press_sso(page, live_server)
    sign_in_at_provider(page, "alice")
    page.get_by_text("held").wait_for()
    callback = held_callbacks[0]
    state = query(callback)["state"]

    page.goto(callback.replace(state, state[::-1]))
    assert "has been altered" in page.get_by_role("alert").inner_text()
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url

    page.goto(callback)
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(callback)
    assert "was already used" in page.get_by_role("alert").inner_text()


def test_logout_ends_the_django_and_the_provider_sessions(
    page, live_server, sso, oidc_provider, token_testers
):
    press_sso(page, live_server)
    sign_in_at_provider(page, "alice")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/admin/login/")

    page.goto(f"{live_server.url}/admin/")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    # The provider shows its sign-in form again, so its session ended too.
    page.get_by_role("link", name="Log in with SSO").click()
    page.get_by_role("heading", name="Sign in to the test provider").wait_for()


def test_swagger_ui_never_reaches_the_provider(
    page, live_server, sso, oidc_provider, token_testers, make_token
):
    press_sso(page, live_server)
    sign_in_at_provider(page, "alice")
    page.wait_for_url(f"{live_server.url}/admin/")
    hits_before = oidc_provider.hits("/auth")
    provider_requests = []
    page.on(
        "request",
        lambda request: (
            provider_requests.append(request.url)
            if request.url.startswith(oidc_provider.issuer)
            else None
        ),
    )

    open_docs(page, live_server)
    unauthorized, _ = execute(page, "ping_secure_retrieve")
    authorize_with_token(page, make_token(scopes=["read:messages"]))
    authorized, _ = execute(page, "messages_list")

    assert unauthorized == 401
    assert authorized == 200
    assert provider_requests == []
    assert oidc_provider.hits("/auth") == hits_before
