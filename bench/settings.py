"""Settings for the benchmark server: the app's settings plus a no-op view (bench.urls).

Run with DATABASE_URL pointing at the benchmark database. Not used by the test suite.
"""

import os

os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("DJANGO_BEHIND_PROXY", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)

from config.settings.base import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
