"""Settings for the test suite: the project's, with a fixed test SECRET_KEY."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-gatehouse-test-suite-only")
# 32 bytes, URL-safe base64: the key-encryption key of the test suite only.
os.environ.setdefault(
    "GATEHOUSE_KEY_ENCRYPTION_KEY", "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM"
)

from project.settings import *  # noqa: F403
