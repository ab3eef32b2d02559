"""
Run inside the standalone project: print the status of a request with each
token given on the command line, one per line, after Django's system checks.
"""

import json
import sys

import django
from django.apps import apps
from django.core.management import call_command
from django.test import Client

django.setup()
call_command("check", fail_level="WARNING")
assert not apps.is_installed("apis"), "the registry must not be installed"

client = Client()
results = []
for token in sys.argv[1:]:
    response = client.get("/invoices", HTTP_AUTHORIZATION=f"Bearer {token}")
    results.append([response.status_code, response.json()])
print(json.dumps(results))
