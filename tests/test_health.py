import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import caches


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


def test_readyz_cache_unreachable(client, db, settings):
    # Port 1 on loopback: nothing listens there, so the connection is refused.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    caches._settings = None
    try:
        response = client.get("/readyz")
    finally:
        del settings.CACHES
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "failed"
    assert response["Retry-After"] == "5"


def test_request_id_echoed(client, db):
    response = client.get("/api/ping", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_request_id_generated_for_bad_header(client, db):
    response = client.get("/api/ping", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(response["X-Request-ID"]) == 32


def test_json_log_format(tmp_path):
    script = (
        "import logging, django; django.setup();"
        "from project.logging import _request_id;"
        "_request_id.set('req-1');"
        "logging.getLogger('apis').warning('hello %s', 'world')"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["request_id"] == "req-1"


def test_deploy_check_clean(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-key-" + "x" * 40,
        "GATEHOUSE_KEY_ENCRYPTION_KEY": "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM",
        "ALLOWED_HOSTS": "auth.example.com",
        "GATEHOUSE_ISSUER": "https://auth.example.com/",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    # The browser tests set this for their own process; a deployment never does.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("value", ["yaml", "JSON"])
def test_invalid_log_format(value):
    result = subprocess.run(
        [sys.executable, "-c", "import project.settings"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "LOG_FORMAT": value, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "LOG_FORMAT must be plain or json" in result.stderr


def test_database_down(tmp_path):
    database = tmp_path / "fault.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "FAULT_DATABASE": str(database),
        "ALLOWED_HOSTS": "testserver",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.database_down"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    observed = json.loads(result.stdout)
    assert observed["before"] == 200
    # With the keys in memory, protected endpoints keep working.
    assert observed["secure"] == 200
    assert observed["public"] == 200
    assert observed["healthz"] == 200
    assert observed["readyz"] == 503
    assert observed["readyz_body"]["checks"]["database"] == "failed"
    assert observed["token"] == 503
    assert observed["token_body"]["error"] == "temporarily_unavailable"
    assert observed["token_retry_after"] == "5"


def test_cache_down_token_endpoint_fails_open(client, make_application, settings):
    application, secret = make_application()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    try:
        response = client.post(
            "/oauth/token",
            f"grant_type=client_credentials&client_id={application.client_id}"
            f"&client_secret={secret}",
            content_type="application/x-www-form-urlencoded",
        )
        token = response.json()["access_token"]
        secure = client.get("/api/ping/secure", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        del settings.CACHES
    assert response.status_code == 200
    assert secure.status_code == 200
