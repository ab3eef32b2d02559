"""Settings read from the environment, each checked in a fresh interpreter."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache

REPORT = (
    "import json, project.settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'cache': s.CACHES['default']['BACKEND'], 'issuer': s.GATEHOUSE_ISSUER, "
    "'hosts': s.ALLOWED_HOSTS, 'audience': s.GATEHOUSE_DEFAULT_AUDIENCE, "
    "'ping': s.PING_API_IDENTIFIER}))"
)
VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "GATEHOUSE_ISSUER",
    "GATEHOUSE_DEFAULT_AUDIENCE",
    "PING_API_IDENTIFIER",
    "GATEHOUSE_KEY_ENCRYPTION_KEY",
    "GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS",
]
KEK = "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM"


def load_settings(**environment):
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", REPORT],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_secret_key_required_without_debug():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


def test_debug_allows_missing_secret_key():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_defaults():
    values = json.loads(
        load_settings(SECRET_KEY="k", GATEHOUSE_KEY_ENCRYPTION_KEY=KEK).stdout
    )
    assert values["debug"] is False
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["issuer"] == "http://127.0.0.1:8000/"
    assert values["audience"] == ""
    assert values["ping"] == "https://ping.example.com/api"


def test_environment_overrides():
    result = load_settings(
        SECRET_KEY="k",
        GATEHOUSE_KEY_ENCRYPTION_KEY=KEK,
        DATABASE_URL="postgres://u@127.0.0.1:5432/db",
        REDIS_URL="redis://127.0.0.1:6379/1",
        GATEHOUSE_ISSUER="https://auth.example.com/",
        ALLOWED_HOSTS="auth.example.com, api.example.com",
        GATEHOUSE_DEFAULT_AUDIENCE="urn:api",
        PING_API_IDENTIFIER="urn:ping",
    )
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["issuer"] == "https://auth.example.com/"
    assert values["hosts"] == ["auth.example.com", "api.example.com"]
    assert values["audience"] == "urn:api"
    assert values["ping"] == "urn:ping"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://auth.example.com",
        "ftp://auth.example.com/",
        "https://auth.example.com/?q=1",
        "https://auth.example.com/#f",
        "auth.example.com/",
    ],
)
def test_invalid_issuer(issuer):
    result = load_settings(
        SECRET_KEY="k", GATEHOUSE_KEY_ENCRYPTION_KEY=KEK, GATEHOUSE_ISSUER=issuer
    )
    assert result.returncode != 0
    assert "GATEHOUSE_ISSUER" in result.stderr


def test_invalid_debug_value():
    result = load_settings(
        SECRET_KEY="k", GATEHOUSE_KEY_ENCRYPTION_KEY=KEK, DEBUG="maybe"
    )
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_key_encryption_key_required_without_debug():
    result = load_settings(SECRET_KEY="k")
    assert result.returncode != 0
    assert "GATEHOUSE_KEY_ENCRYPTION_KEY is missing" in result.stderr


def test_debug_needs_no_key_encryption_key():
    assert load_settings(DEBUG="1").returncode == 0


@pytest.mark.parametrize("value", ["short", "not base64 !!", KEK + "AAAA"])
def test_invalid_key_encryption_key(value):
    result = load_settings(SECRET_KEY="k", GATEHOUSE_KEY_ENCRYPTION_KEY=value)
    assert result.returncode != 0
    assert "must be 32 bytes" in result.stderr


def test_invalid_key_encryption_key_fallback():
    result = load_settings(
        SECRET_KEY="k",
        GATEHOUSE_KEY_ENCRYPTION_KEY=KEK,
        GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS="short",
    )
    assert result.returncode != 0


@pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")
def test_redis_cache_round_trip():
    cache.set("gatehouse-test-key", {"value": 1}, timeout=30)
    assert cache.get("gatehouse-test-key") == {"value": 1}
    cache.delete("gatehouse-test-key")
