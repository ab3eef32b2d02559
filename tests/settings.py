"""Settings for the test suite: the project's, with a fixed test SECRET_KEY."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-gatehouse-test-suite-only")

from project.settings import *  # noqa: F403
