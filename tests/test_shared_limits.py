"""
Quotas and authentication limits counted across two real server processes
that share Redis: the live server of the tests, and a second one started here.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import basic_auth

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or connection.vendor != "postgresql",
        reason="needs PostgreSQL and Redis that two processes share",
    ),
]


@pytest.fixture
def second_server(live_server):
    """A second Gatehouse process on the test database and the same Redis."""
    database = settings.DATABASES["default"]
    port = 8731
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        ),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def post_token(base_url, client_id, secret):
    request = urllib.request.Request(
        f"{base_url}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": basic_auth(client_id, secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_quota_shared_between_processes(live_server, second_server, make_application):
    application, secret = make_application(scopes=["read:messages"])
    application.max_tokens_per_hour = 4
    application.save()
    servers = [live_server.url, second_server]
    statuses = [
        post_token(servers[i % 2], application.client_id, secret) for i in range(6)
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_failure_limit_shared_between_processes(
    live_server, second_server, make_application, settings
):
    application, secret = make_application(scopes=["read:messages"])
    limit = settings.GATEHOUSE_AUTH_FAILURES_PER_CLIENT
    servers = [live_server.url, second_server]
    statuses = [
        post_token(servers[i % 2], application.client_id, "wrong") for i in range(limit)
    ]
    assert set(statuses) == {401}
    assert post_token(second_server, application.client_id, secret) == 429
    assert post_token(live_server.url, application.client_id, secret) == 429
