"""
Single sign-on switched on the way an operator does it: Gatehouse started as
its own process with the variables of docs/sso.md, signing in over HTTP at the
test OpenID provider.
"""

import os
import subprocess
import sys
import time
from urllib.parse import urljoin

import pytest
import requests
from django.conf import settings

from tests.sso import CLIENT_SECRET, at_provider


def start_server(origin, database, **variables):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GATEHOUSE_SSO_", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{database}",
        ALLOWED_HOSTS="127.0.0.1",
        **variables,
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            str(os.path.join(os.path.dirname(sys.executable), "gunicorn")),
            "project.wsgi",
            "--bind",
            origin.removeprefix("http://"),
            "--workers",
            "1",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(100):
        try:
            requests.get(f"{origin}/healthz", timeout=1)
            return server
        except requests.ConnectionError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"Gatehouse did not start: {server.communicate()[1][-2000:]}")


@pytest.fixture
def gatehouse(oidc_provider, tmp_path):
    origin = oidc_provider.spare_origin
    server = start_server(
        origin,
        tmp_path / "db.sqlite3",
        GATEHOUSE_SSO_ISSUER=oidc_provider.issuer,
        GATEHOUSE_SSO_CLIENT_ID="gatehouse",
        GATEHOUSE_SSO_CLIENT_SECRET=CLIENT_SECRET,
        GATEHOUSE_SSO_SCOPES="openid email profile groups",
        GATEHOUSE_SSO_ALLOWED_DOMAINS="example.com",
        GATEHOUSE_SSO_GROUP_MAP='{"key-managers": "Key managers"}',
        GATEHOUSE_PASSWORD_LOGIN="0",
    )
    yield origin
    server.terminate()
    server.wait(10)


def test_sign_in_with_the_documented_variables(gatehouse):
    browser = requests.Session()
    login_page = browser.get(f"{gatehouse}/admin/login/", timeout=5).text
    assert "Log in with SSO" in login_page
    assert 'name="password"' not in login_page

    started = browser.get(
        f"{gatehouse}/admin/sso/login/", allow_redirects=False, timeout=5
    )
    callback = at_provider(started.headers["Location"], "alice", origin=gatehouse)
    finished = browser.get(callback, allow_redirects=False, timeout=5)

    assert finished.status_code == 302
    admin = browser.get(urljoin(gatehouse, finished.headers["Location"]), timeout=5)
    assert admin.status_code == 200
    assert "Site administration" in admin.text

    # Another person in another browser is rejected.
    stranger = requests.Session()
    started = stranger.get(
        f"{gatehouse}/admin/sso/login/", allow_redirects=False, timeout=5
    )
    callback = at_provider(started.headers["Location"], "bob", origin=gatehouse)
    rejected = stranger.get(callback, timeout=5)
    assert rejected.status_code == 403
    assert "not allowed into this admin" in rejected.text
