"""Settings for the test suite: real PostgreSQL and Redis, nothing that would hide a bug."""

import os
import uuid

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/supportdesk")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_PRODUCTION", "false")

from .base import *  # noqa: E402, F403
from .base import ANYMAIL, CACHES, REST_FRAMEWORK  # noqa: E402

# Each xdist worker has its own test database; keep its cache keys (throttles, idempotency) apart.
# Rate-limit windows live in the cache: a prefix per run (inherited by xdist workers and the
# Celery workers tests start) keeps one run's counters from limiting the next.
_run = os.environ.setdefault("TEST_RUN_ID", uuid.uuid4().hex[:8])
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"test-{_run}-{_worker}"

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise expects it to exist
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# SQLite beside PostgreSQL, for the embedded mode's search (FTS5): only tests that ask for it
# (`databases=["default", "sqlite"]`) create it, in memory, by running every migration.
DATABASES["sqlite"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}  # noqa: F405
# A second PostgreSQL database standing in for a read replica (`core.replica`): created only for
# tests that ask for it (`databases=["default", "replica"]`); routed to only where a test sets
# DATABASE_REPLICA_URL.
DATABASES["replica"] = {  # noqa: F405
    **DATABASES["default"],  # noqa: F405
    "TEST": {"NAME": f"test_{DATABASES['default']['NAME']}_replica"},  # noqa: F405
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": "1000/min",
    "user": "10000/min",
    "create": "10000/min",
    "ai": "10000/min",
}
MEDIA_ROOT = VAR_DIR / f"test-media-{_worker}"  # noqa: F405
for _alias in ("support-attachments", "insurance-docs", "privacy-exports"):
    if not STORAGE_S3:  # noqa: F405
        STORAGES[_alias]["OPTIONS"]["location"] = MEDIA_ROOT / _alias  # noqa: F405

# A test-only app with a concrete kind of scheduled work (core.scheduling has no user yet).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.scheduling_app"]  # noqa: F405

# The ESP webhooks (tracking, inbound) are served only with a secret; tests call them with it.
ANYMAIL["WEBHOOK_SECRET"] = "anymail-test:webhook-secret"

# Live chat: the consumer tests run on the in-memory layer inside the test process; the tests of
# the Redis pub/sub layer configure it themselves (tests/support/chat/test_redis_layer.py).
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CHAT_REALTIME = "layer"

# AI assist: every search asks whether the passages changed (tests roll the database back
# between them); tests/support/assist/test_retrieval.py checks the cached path itself.
AI_INDEX_RECHECK_S = 0
