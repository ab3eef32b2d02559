"""
A gunicorn worker killed in the middle of requests loses nothing it
acknowledged: every message that got a 201 is stored, and every token
returned with a 200 is recorded.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from django.db import connection

from apis.models import TokenRecord
from ping.models import Message
from tests.conftest import basic_auth

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a database that a second process can share",
    ),
]

PORT = 8741


def request(url, data=None, headers=None):
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers or {}), timeout=10
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        # A connection that the killed worker cut: an unacknowledged request.
        return None, b""


@pytest.fixture
def gunicorn(db):
    database = settings.DATABASES["default"]
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
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "project.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if request(f"http://127.0.0.1:{PORT}/healthz")[0] == 200:
            break
        time.sleep(0.1)
    yield server
    server.terminate()
    server.wait(timeout=10)


def worker_pids(server):
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return [int(pid) for pid in children.read_text().split()]


def test_killed_worker_loses_nothing_acknowledged(gunicorn, make_application):
    application, secret = make_application(scopes=["read:messages", "create:messages"])
    base = f"http://127.0.0.1:{PORT}"
    token_headers = {
        "Authorization": basic_auth(application.client_id, secret),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, body = request(
        f"{base}/oauth/token", b"grant_type=client_credentials", token_headers
    )
    assert status == 200
    bearer = {
        "Authorization": f"Bearer {json.loads(body)['access_token']}",
        "Content-Type": "application/json",
    }

    acknowledged_messages = []
    acknowledged_tokens = []
    stop = threading.Event()

    def post_messages(thread):
        for index in range(1000):
            if stop.is_set():
                return
            text = f"message {thread}-{index}"
            data = json.dumps({"text": text}).encode()
            status, _ = request(f"{base}/api/messages", data, bearer)
            if status == 201:
                acknowledged_messages.append(text)
            status, body = request(
                f"{base}/oauth/token", b"grant_type=client_credentials", token_headers
            )
            if status == 200:
                acknowledged_tokens.append(json.loads(body)["access_token"])

    threads = [threading.Thread(target=post_messages, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    killed = 0
    for _ in range(3):
        for pid in worker_pids(gunicorn)[:1]:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        time.sleep(0.7)
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert killed == 3
    assert acknowledged_messages
    stored = set(Message.objects.values_list("text", flat=True))
    assert set(acknowledged_messages) <= stored
    recorded = set(TokenRecord.objects.values_list("jti", flat=True))
    for token in acknowledged_tokens:
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        assert jti in recorded
