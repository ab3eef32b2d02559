"""
Run in a fresh interpreter by test_faults.py: a Gatehouse process whose
database disappears after it loaded its keys. Prints one JSON object of
observed statuses.
"""

import json
import os
import shutil
import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

from apis import keys  # noqa: E402

database = os.environ["FAULT_DATABASE"]
call_command("migrate", verbosity=0)
call_command("bootstrap", stdout=open(os.devnull, "w"))  # noqa: SIM115
call_command(
    "create_application",
    "Fault client",
    "--api",
    "https://ping.example.com/api",
    "--scope",
    "read:messages",
    "--json",
    stdout=(output := __import__("io").StringIO()),
)
credentials = json.loads(output.getvalue())
client = Client()
token = client.post(
    "/oauth/token",
    "grant_type=client_credentials",
    content_type="application/x-www-form-urlencoded",
    HTTP_AUTHORIZATION="Basic "
    + __import__("base64")
    .b64encode(f"{credentials['client_id']}:{credentials['client_secret']}".encode())
    .decode(),
).json()["access_token"]
bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
observed = {"before": client.get("/api/ping/secure", **bearer).status_code}

# The database goes away: its file moves, and a new connection finds none.
connections.close_all()
shutil.move(database, database + ".gone")
keys.REFRESH_SECONDS = 0  # every request now tries, and fails, to reload

secure = client.get("/api/ping/secure", **bearer)
token_response = client.post(
    "/oauth/token",
    f"grant_type=client_credentials&client_id={credentials['client_id']}"
    f"&client_secret={credentials['client_secret']}",
    content_type="application/x-www-form-urlencoded",
)
readyz = client.get("/readyz")
observed.update(
    {
        "secure": secure.status_code,
        "public": client.get("/api/ping").status_code,
        "healthz": client.get("/healthz").status_code,
        "readyz": readyz.status_code,
        "readyz_body": readyz.json(),
        "token": token_response.status_code,
        "token_body": token_response.json(),
        "token_retry_after": token_response.get("Retry-After"),
    }
)
json.dump(observed, sys.stdout)
