"""
A project that uses only the `scopes` package: no Gatehouse registry, tokens
from an outside issuer whose JWK Set address comes from STANDALONE_JWKS_URI.
"""

import os

SECRET_KEY = "standalone-test-project"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.standalone.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "scopes",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True

GATEHOUSE_SCOPES = {
    "TRUSTED_ISSUERS": [
        {
            "ISSUER": "https://idp.example.com/",
            "JWKS_URI": os.environ["STANDALONE_JWKS_URI"],
            "AUDIENCES": ["https://invoices.example.com/"],
            "ALGORITHMS": ["ES256"],
        }
    ],
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scopes.authentication.BearerTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "scopes.handlers.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
