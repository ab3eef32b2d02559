"""
Schemathesis against the live server's own schema, from a separate process:
no 5xx, and every response matches the schema.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 25


def run_schemathesis(live_server, *headers):
    executable = shutil.which("schemathesis") or str(
        Path(sys.executable).with_name("schemathesis")
    )
    command = [
        executable,
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261204",
        "--workers",
        "1",
        "--no-color",
    ]
    for header in headers:
        command += ["--header", header]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False
    )


def test_schema_conformance_without_token(live_server, ping_api):
    result = run_schemathesis(live_server)
    assert result.returncode == 0, result.stdout[-5000:]


def test_schema_conformance_with_token(live_server, make_token):
    token = make_token(scopes=["read:messages", "create:messages"])
    result = run_schemathesis(live_server, f"Authorization: Bearer {token}")
    assert result.returncode == 0, result.stdout[-5000:]
    assert "passed" in result.stdout
