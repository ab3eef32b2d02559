"""The `scopes` package in a project without Gatehouse's registry."""

import json
import os
import subprocess
import sys

from django.conf import settings

from tests.test_trusted_issuers import JWKSServer, OutsideKey

AUDIENCE = "https://invoices.example.com/"


def test_scopes_without_registry():
    server = JWKSServer()
    try:
        key = OutsideKey("invoice-key", "ES256")
        server.publish(key)
        tokens = [
            key.token({"aud": AUDIENCE, "scope": "read:invoices"}),
            key.token({"aud": AUDIENCE, "scope": "other"}),
            key.token({"aud": "https://elsewhere.example.com/"}),
        ]
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.standalone.settings",
            "STANDALONE_JWKS_URI": server.url,
        }
        result = subprocess.run(
            [sys.executable, "-m", "tests.standalone.check", *tokens],
            cwd=settings.BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        server.close()

    assert result.returncode == 0, result.stderr
    allowed, denied, rejected = json.loads(result.stdout.splitlines()[-1])
    assert allowed == [200, {"subject": "user|42"}]
    assert denied[0] == 403
    assert denied[1]["missing_scopes"] == ["read:invoices"]
    assert rejected[0] == 401
    assert rejected[1]["code"] == "invalid_token"
