"""Settings for the test suite: the project's, with a fixed test SECRET_KEY."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-gatehouse-test-suite-only")
# 32 bytes, URL-safe base64: the key-encryption key of the test suite only.
os.environ.setdefault(
    "GATEHOUSE_KEY_ENCRYPTION_KEY", "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM"
)

# The live server speaks plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from project.settings import *  # noqa: F403

# Static files come from the app folders, with no collectstatic run and no
# manifest, as in development.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# The live server and the browser tests speak plain HTTP.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
