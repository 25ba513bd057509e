import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime state of the embedded mode (SQLite file, Celery queue folders, generated key, media).
VAR_DIR = Path(env_str("DJANGO_VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
# Production defaults (HTTPS, JSON logs) follow from a real database being configured.
PRODUCTION = env_bool("DJANGO_PRODUCTION", bool(DATABASE_URL))

DEBUG = env_bool("DJANGO_DEBUG", False)


def _embedded_secret_key() -> str:
    """A random key kept in var/ so a laptop install needs no configuration and no shared key."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY")
# Personal fields encrypted at rest (core.crypto): Fernet keys, newest first (the first
# encrypts, all decrypt; rotate with `manage.py reencrypt_fields`), and the key of the lookup
# hashes beside them. Empty: both derived from SECRET_KEY (embedded mode, tests).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
FIELD_HASH_KEY = env_str("FIELD_HASH_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production (DATABASE_URL is set).")
    SECRET_KEY = _embedded_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# How many reverse proxies of our own stand in front of the app. The client's address is the
# entry this many places from the right of X-Forwarded-For (`core.clients.client_address`), and
# X-Forwarded-Proto is honoured only when it is above 0. With 0 both headers are ignored: a
# client can write them. The old `DJANGO_BEHIND_PROXY=true` still means one proxy.
TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT", 1 if env_bool("DJANGO_BEHIND_PROXY", False) else 0
)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "core.apps.AdminConfig",  # django.contrib.admin with the product's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "anymail",
    "csp",
    "channels",
    "core",
    "knowledge",
    "support",
    "support.assist",
    "incidents",
    "insurance",
    "bookings",
    "analytics",
    "privacy",
]

MIDDLEWARE = [
    "core.observability.RequestIdMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "core.inputs.RejectNulCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserTimezoneMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "core.middleware.PrivateResponseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    # Every query here is a short OLTP query: PostgreSQL's JIT compilation costs far more than
    # it saves on them (hundreds of milliseconds on the queue query at a million tickets).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # A database host that accepts but never answers must not hold a request for minutes: the
    # outage middleware answers 503 once the connection attempt gives up.
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
    )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # Web, worker and beat share one file: take the write lock up front and wait for it
                # rather than failing with "database is locked" half-way through a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
# A PostgreSQL replica for analytics, reports and exports (`core.replica`): reads inside
# `reading_replica()` go there; writes, and reads inside a transaction, stay on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
if REDIS_URL:
    # Fails open (`core.cache`): with Redis down a read is a miss and a write stores nothing,
    # so throttles and limits let requests through. Short socket timeouts and one quick retry
    # bound what an unreachable or silent Redis costs a request.
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "supportdesk"),
            "TIMEOUT": 300,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Live chat (support.chat) ---------------------------------------------------------------
# With Redis, every process publishes to channels-redis's pub/sub layer (the core layer drops
# messages under load: docs/decisions.md); without it (the embedded mode) the one ASGI process
# has the in-memory layer and relays what other processes wrote to the database (`db-relay`).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "support.chat.layers.WatchedPubSubLayer",
            "CONFIG": {
                "hosts": [env_str("CHANNELS_REDIS_URL", REDIS_URL)],
                "prefix": env_str("CACHE_KEY_PREFIX", "supportdesk") + ":chat",
            },
        }
    }
    CHAT_REALTIME = "layer"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CHAT_REALTIME = "db-relay"
# Where browsers open the chat sockets, e.g. "wss://chat.example.com"; empty: the page's own host
# (a proxy sends `/ws/` to uvicorn). `make run` points it at its uvicorn port.
CHAT_WS_ORIGIN = env_str("CHAT_WS_ORIGIN", "")
# The public key of the widget the help center shows (empty: none). The demo seeds "help-center".
CHAT_HELP_CENTER_WIDGET = env_str("CHAT_HELP_CENTER_WIDGET", "help-center")
# A widget bot's chat whose visitor has waited this long for its answer goes to an agent.
CHAT_BOT_WAIT_SECONDS = env_int("CHAT_BOT_WAIT_SECONDS", 30)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "help-home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# Sign-in, password reset and token creation limits (django-ratelimit, counted in the default
# cache): "<count>/<period>" with the period in s, m, h or d ("10/5m" = ten per five minutes).
# Each is a fixed window, so a limited person waits at most one period.
_RATE = re.compile(r"^[1-9][0-9]*/[0-9]*[smhd]$")


def _rate(name: str, default: str) -> str:
    value = env_str(name, default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must look like 10/5m (count/period), got {value!r}")
    return value


SIGN_IN_LIMIT_PER_ACCOUNT = _rate("SIGN_IN_LIMIT_PER_ACCOUNT", "10/5m")
SIGN_IN_LIMIT_PER_ADDRESS = _rate("SIGN_IN_LIMIT_PER_ADDRESS", "30/5m")
PASSWORD_RESET_LIMIT_PER_ACCOUNT = _rate("PASSWORD_RESET_LIMIT_PER_ACCOUNT", "5/h")
PASSWORD_RESET_LIMIT_PER_ADDRESS = _rate("PASSWORD_RESET_LIMIT_PER_ADDRESS", "20/h")
SIGN_UP_LIMIT_PER_ACCOUNT = _rate("SIGN_UP_LIMIT_PER_ACCOUNT", "5/h")
SIGN_UP_LIMIT_PER_ADDRESS = _rate("SIGN_UP_LIMIT_PER_ADDRESS", "20/h")
# The contact form and new-link requests, open to anyone: per e-mail address and per client.
CONTACT_LIMIT_PER_ACCOUNT = _rate("CONTACT_LIMIT_PER_ACCOUNT", "10/h")
CONTACT_LIMIT_PER_ADDRESS = _rate("CONTACT_LIMIT_PER_ADDRESS", "30/h")
TOKEN_CREATE_LIMIT_PER_USER = _rate("TOKEN_CREATE_LIMIT_PER_USER", "10/h")
TOKEN_CREATE_LIMIT_PER_ADDRESS = _rate("TOKEN_CREATE_LIMIT_PER_ADDRESS", "30/h")
RATELIMIT_IP_META_KEY = "core.clients.client_address"
# A cache outage must not lock everybody out: the limits are skipped, with a warning logged.
RATELIMIT_FAIL_OPEN = env_bool("RATELIMIT_FAIL_OPEN", True)
# Creating an API token asks for the password again unless the session signed in this recently.
TOKEN_CREATE_RECENT_LOGIN_SECONDS = env_int("TOKEN_CREATE_RECENT_LOGIN_SECONDS", 300)
# The longest lifetime a new API token may be given; a token without an expiry gets this one.
API_TOKEN_MAX_LIFETIME_DAYS = env_int("API_TOKEN_MAX_LIFETIME_DAYS", 365)
if API_TOKEN_MAX_LIFETIME_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_MAX_LIFETIME_DAYS must be 1 or more.")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Named storages: each bucket of the design (`support-attachments`, `insurance-docs`) is a storage
# alias. Locally they are folders under MEDIA_ROOT; with STORAGE_S3 they are private S3 buckets
# served only through short-lived signed URLs.
STORAGE_S3 = env_bool("STORAGE_S3", bool(env_str("AWS_ACCESS_KEY_ID")))
FILE_BUCKETS = {
    "support-attachments": env_str("STORAGE_BUCKET_SUPPORT_ATTACHMENTS", "support-attachments"),
    "insurance-docs": env_str("STORAGE_BUCKET_INSURANCE_DOCS", "insurance-docs"),
    # Subject access exports (privacy): archives kept until their link expires.
    "privacy-exports": env_str("STORAGE_BUCKET_PRIVACY_EXPORTS", "privacy-exports"),
}
SIGNED_URL_SECONDS = env_int("SIGNED_URL_SECONDS", 300)


def _bucket_storage(alias: str) -> dict:
    if STORAGE_S3:
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": FILE_BUCKETS[alias],
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": SIGNED_URL_SECONDS,
                "file_overwrite": False,
                "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
                "region_name": env_str("AWS_S3_REGION_NAME") or None,
                # Buckets made since 2020 accept only SigV4-signed URLs.
                "signature_version": "s3v4",
            },
        }
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / alias, "base_url": None},
    }


STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "default"},
    },
    "support-attachments": _bucket_storage("support-attachments"),
    "insurance-docs": _bucket_storage("insurance-docs"),
    "privacy-exports": _bucket_storage("privacy-exports"),
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Support <support@example.com>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
ANYMAIL = {
    "SENDGRID_API_KEY": env_str("ANYMAIL_SENDGRID_API_KEY"),
    # "user:password" the ESP sends with every webhook call (tracking and inbound).
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET"),
}
if env_str("EMAIL_BACKEND"):
    EMAIL_BACKEND = env_str("EMAIL_BACKEND")
elif ANYMAIL["SENDGRID_API_KEY"]:
    EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15)
# How long the link of the e-mail that confirms a suppressed (bounced) address again is valid.
EMAIL_CONFIRMATION_MAX_AGE_HOURS = env_int("EMAIL_CONFIRMATION_MAX_AGE_HOURS", 72)
# anymail 15 keeps its SendGrid backend but warns that SendGrid is no longer officially supported;
# SendGrid stays the default ESP of the design, and any other anymail ESP is one EMAIL_BACKEND away.
# SQLite (the embedded mode) ignores an index's INCLUDE columns: the queue's count index stays a
# plain partial index there, which is all a laptop-sized database needs.
SILENCED_SYSTEM_CHECKS = ["anymail.W003", "models.W040"]

# --- Notifications --------------------------------------------------------------------------
SMS_PROVIDER = env_str("SMS_PROVIDER", "core.notifications.sms.LoggingSmsProvider")
SLACK_WEBHOOK_URL = env_str("SLACK_WEBHOOK_URL")
TEAMS_WEBHOOK_URL = env_str("TEAMS_WEBHOOK_URL")
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Outbound webhooks (core.webhooks): a subscription is disabled after this many failed attempts
# in a row. Loopback targets are refused unless WEBHOOK_ALLOW_LOOPBACK (the test receiver only).
WEBHOOK_MAX_CONSECUTIVE_FAILURES = env_int("WEBHOOK_MAX_CONSECUTIVE_FAILURES", 20)
WEBHOOK_ALLOW_LOOPBACK = False
# Business rules (support.rules): at most this many rule firings per ticket and hour.
RULES_MAX_FIRINGS_PER_TICKET_HOUR = env_int("RULES_MAX_FIRINGS_PER_TICKET_HOUR", 20)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# A dispatch that has not finished within this lease is presumed lost and handed out again.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120)
# Rows left pending this long without a task having claimed them are re-dispatched by the sweeper.
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", 60)
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30)
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)

# --- Attachments ----------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Files are stored before their rows are committed; one that no row names this long after it was
# stored is an orphan (a rolled-back upload) and the `core-sweep-orphaned-files` job deletes it.
ATTACHMENT_ORPHAN_GRACE_SECONDS = env_int("ATTACHMENT_ORPHAN_GRACE_SECONDS", 24 * 60 * 60)
# Bytes one customer may upload per UTC day, all tickets together (0: no quota). Staff are exempt.
ATTACHMENT_DAILY_QUOTA_BYTES = env_int("ATTACHMENT_DAILY_QUOTA_BYTES", 100 * 1024 * 1024)
# A body that is not multipart (JSON, forms) may be this large; Django reads it into memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A multipart body may carry up to ten attachments at the cap, plus its fields; anything larger
# is refused with 413 by `core.middleware.RequestBodyLimitMiddleware` before it is read.
REQUEST_BODY_MAX_BYTES = env_int(
    "REQUEST_BODY_MAX_BYTES", 10 * ATTACHMENT_MAX_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE
)

# --- Insurance documents --------------------------------------------------------------------
# A proof of insurance (PDF or image) may be this large.
INSURANCE_DOCUMENT_MAX_BYTES = env_int("INSURANCE_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
# Expiry reminders go out at this hour of the owner's own time zone (7, 3 and 0 days before).
INSURANCE_REMINDER_HOUR = env_int("INSURANCE_REMINDER_HOUR", 9)
# Missing-information reminders: every so many days while a checklist is open, at most so many.
INSURANCE_MISSING_INFO_INTERVAL_DAYS = env_int("INSURANCE_MISSING_INFO_INTERVAL_DAYS", 3)
INSURANCE_MISSING_INFO_MAX_REMINDERS = env_int("INSURANCE_MISSING_INFO_MAX_REMINDERS", 3)
# A reviewer's manual reminder is refused this soon after the last reminder.
INSURANCE_REMINDER_COOLDOWN_HOURS = env_int("INSURANCE_REMINDER_COOLDOWN_HOURS", 24)

# --- Bookings -------------------------------------------------------------------------------
# The customer has this long to approve or reject a completion before support follows up.
COMPLETION_ESCALATION_HOURS = env_int("COMPLETION_ESCALATION_HOURS", 48)
# A follow-up this old with this many failed contact attempts is completed automatically.
AUTO_COMPLETE_DAYS = env_int("AUTO_COMPLETE_DAYS", 7)
MIN_CONTACT_ATTEMPTS = env_int("MIN_CONTACT_ATTEMPTS", 3)
# While support follows up, it is reminded when nobody tried to reach the customer this long.
BOOKING_FOLLOW_UP_CHECK_HOURS = env_int("BOOKING_FOLLOW_UP_CHECK_HOURS", 24)
# The signed approve/reject links of a completion e-mail stop working after this long.
BOOKING_LINK_MAX_AGE_HOURS = env_int("BOOKING_LINK_MAX_AGE_HOURS", 7 * 24)

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
    # A message a worker took but never acknowledged (the worker died) goes back to the queue
    # after `visibility_timeout`; it must outlast the longest task (CELERY_TASK_TIME_LIMIT), or a
    # running task is handed out a second time. The socket timeouts bound how long a publish
    # waits for a Redis that is down or silent: a request that enqueues work must not hang.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        "socket_connect_timeout": 1,
        # Above the consumer's 1 s BRPOP, which waits on the same sockets.
        "socket_timeout": 2,
        "retry_on_timeout": False,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = 1
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
    CELERY_REDIS_SOCKET_TIMEOUT = 2
else:
    CELERY_QUEUE_DIR = VAR_DIR / "celery"
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
        # The transport polls its folder; a short interval keeps the embedded mode snappy.
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "control"):
        (CELERY_QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish (`core.jobs`) tries twice, 0.1 s apart, then gives up: the work is in a database row
# and the sweeper re-dispatches it, so a broker outage costs a request well under two seconds.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "core-sweep-outbox": {"task": "core.tasks.sweep_outbox", "schedule": 30.0},
    "core-housekeeping": {"task": "core.tasks.housekeeping", "schedule": 120.0},
    "core-sweep-orphaned-files": {"task": "core.tasks.sweep_orphaned_files", "schedule": 3600.0},
    "core-scheduled-work": {"task": "core.tasks.run_scheduled_work", "schedule": 60.0},
    "support-sla-monitor": {"task": "support.tasks.check_sla_breaches", "schedule": 60.0},
    "support-assign-waiting": {
        "task": "support.tasks.assign_waiting_tickets",
        "schedule": 60.0,
    },
    # Automations (support.rules), auto-close among them ("Close resolved tickets after 7 days").
    "support-automations": {"task": "support.tasks.run_automations", "schedule": 300.0},
    "knowledge-flush-view-counts": {"task": "knowledge.tasks.flush_view_counts", "schedule": 60.0},
    # Hourly, so that a document lapses within the hour after midnight in its owner's zone
    # (each document is expired once, on its owner's first day past the coverage).
    "insurance-expire-documents": {
        "task": "insurance.tasks.expire_lapsed_documents",
        "schedule": 3600.0,
    },
    "incidents-target-watch": {"task": "incidents.tasks.check_incident_targets", "schedule": 60.0},
    "analytics-refresh-rollups": {"task": "analytics.tasks.refresh_rollups", "schedule": 60.0},
    "analytics-alerts": {"task": "analytics.tasks.send_alerts", "schedule": 300.0},
    "bookings-escalate-overdue": {"task": "bookings.tasks.escalate_overdue", "schedule": 3600.0},
    "bookings-remind-customers": {"task": "bookings.tasks.remind_customers", "schedule": 43200.0},
    "bookings-auto-complete": {"task": "bookings.tasks.auto_complete", "schedule": 86400.0},
    "chat-archive-inactive": {
        "task": "support.chat.tasks.archive_inactive_chats",
        "schedule": 60.0,
    },
    "chat-route-waiting": {"task": "support.chat.tasks.route_waiting_chats", "schedule": 15.0},
    # Privacy: exports whose task was lost, and the daily retention run (core scheduled work).
    "privacy-dispatch-exports": {"task": "privacy.tasks.dispatch_exports", "schedule": 300.0},
    "privacy-retention": {"task": "privacy.tasks.schedule_retention", "schedule": 3600.0},
    "privacy-seal-audit": {"task": "privacy.tasks.seal_audit_chain", "schedule": 60.0},
    "assist-retrain-models": {"task": "support.assist.tasks.retrain_models", "schedule": 86400.0},
    "assist-monitor-usage": {"task": "support.assist.tasks.monitor_usage", "schedule": 3600.0},
    "assist-sync-article-chunks": {
        "task": "support.assist.tasks.sync_article_chunks",
        "schedule": 300.0,
    },
    "assist-score-breach-risks": {
        "task": "support.assist.tasks.score_breach_risks",
        "schedule": 300.0,
    },
    "assist-suggest-new-tickets": {
        "task": "support.assist.tasks.suggest_new_tickets",
        "schedule": 300.0,
    },
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.DenyAll"],
    # DRF's parsers, refusing text a database cannot store (core.api.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "core.api.parsers.FormParser",
        "core.api.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    # Filters are declared per endpoint (a FilterSet); no undeclared `ordering` on every list.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's own classes, reading the caller's address through core.clients.client_address.
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
        "core.api.throttling.ScopedRateThrottle",
    ],
    # The same proxy count as TRUSTED_PROXY_COUNT (at the top), for anything of DRF's that reads it.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/min"),
        "user": env_str("API_THROTTLE_USER", "1200/min"),
        "create": env_str("API_THROTTLE_CREATE", "120/min"),
        "ai": env_str("API_THROTTLE_AI", "30/min"),
    },
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = 100
SPECTACULAR_SETTINGS = {
    "TITLE": "Support platform API",
    "DESCRIPTION": (
        "Tickets, conversations, SLA, knowledge base, incidents, insurance documents and bookings. "
        "Authenticate with a session (browsers, CSRF) or `Authorization: Token <key>`. Errors are "
        '`{"detail": ..., "code": ..., "errors": {field: [...]}}`. Creating POSTs honour '
        "`Idempotency-Key`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The documentation page's assets come from the vendored sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Error responses for every operation and closed response objects: core.api.schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "support.models.choices.Status",
        "TriggerEventEnum": "support.models.rules.TriggerEvent",
        "TicketChannelEnum": "support.models.choices.Channel",
        "ArticleStatusEnum": "knowledge.models.Status",
        "ArticleCategoryEnum": "knowledge.models.Category",
        "AgentStatusEnum": "support.models.choices.AgentStatus",
        "TemplateChannelEnum": "support.models.choices.TemplateChannel",
        "NotificationChannelEnum": "core.models.notifications.Channel",
        "PrivacyRequestKindEnum": "privacy.models.RequestKind",
        "TicketEventKindEnum": "support.models.tickets.TicketEvent.Kind",
        "InsuranceDocumentStatusEnum": "insurance.models.Status",
        "InsuranceActivityKindEnum": "insurance.models.ActivityKind",
        "InsuranceReminderKindEnum": "insurance.models.ReminderKind",
        "InsuranceCoverageTypeEnum": "insurance.models.CoverageType",
        "IncidentStatusEnum": "incidents.models.Status",
        "IncidentCategoryEnum": "incidents.models.Category",
        "ComponentStateEnum": "incidents.models.ComponentState",
        "AffectedStateEnum": "incidents.models.INCIDENT_STATE_CHOICES",
        "IncidentUpdateKindEnum": "incidents.models.UpdateKind",
        "BookingStatusEnum": "bookings.models.Status",
        "BookingOutcomeEnum": "bookings.models.Outcome",
        "BookingEventKindEnum": "bookings.models.EventKind",
        "ContactMethodEnum": "bookings.models.ContactMethod",
    },
}

# --- Security -------------------------------------------------------------------------------
HTTPS = env_bool("DJANGO_HTTPS", PRODUCTION)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Every page: scripts, styles, images, fonts and requests from this site only; no inline script
# or style, no eval, no plugins, never framed, forms post only here. The API docs page alone adds
# inline styles (Swagger UI sets style attributes); see config/api_urls.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# `X-Forwarded-Proto` is believed only behind a trusted proxy (TRUSTED_PROXY_COUNT, with the
# client's address, at the top), which must overwrite whatever the client sent in that header.
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.observability.RequestIdFilter"},
        # Passwords, tokens, full e-mail addresses and phone numbers never reach a log line.
        "redact": {"()": "core.redaction.RedactingFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

# --- Domain settings ------------------------------------------------------------------------
TICKET_AUTO_CLOSE_DAYS = env_int("TICKET_AUTO_CLOSE_DAYS", 7)
# The most urgent priority a customer may choose when filing (staff set any, audited).
CUSTOMER_MAX_PRIORITY = env_str("CUSTOMER_MAX_PRIORITY", "high")
SUPPORT_REPLY_DOMAIN = env_str("SUPPORT_REPLY_DOMAIN", "support.example.com")
# The help center without an account: an e-mailed link opens one ticket once, within this many
# hours; the browser that opened it keeps access for this many days.
TICKET_ACCESS_LINK_HOURS = env_int("TICKET_ACCESS_LINK_HOURS", 72)
TICKET_ACCESS_GRANT_DAYS = env_int("TICKET_ACCESS_GRANT_DAYS", 14)
# The contact and sign-up forms' bot trap: a form sent sooner than this after it was shown is
# refused (people take longer to type).
BOT_TRAP_MIN_SECONDS = env_int("BOT_TRAP_MIN_SECONDS", 3)
# Sign-up confirmation links stay valid this long.
SIGN_UP_CONFIRM_HOURS = env_int("SIGN_UP_CONFIRM_HOURS", 72)
# A ticket e-mail's reply address (reply+<signed token>@SUPPORT_REPLY_DOMAIN) threads answers
# back to its ticket for this many days after the e-mail was sent.
SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS = env_int("SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS", 90)
# Inbound e-mail: mails from one sender that may open tickets or add replies per hour (0: no cap);
# the rest are kept on record as rate-limited. Stops a loop with a mailer that marks nothing.
INBOUND_EMAIL_MAX_PER_SENDER_PER_HOUR = env_int("INBOUND_EMAIL_MAX_PER_SENDER_PER_HOUR", 30)

# Incidents: when an incident is resolved, each open linked ticket gets this public reply
# (placeholders of response templates, plus {{ incident.number }} and {{ incident.title }}) and
# moves to this status ("resolved", or "waiting_on_customer" to let the customer confirm).
INCIDENTS_RESOLVED_TICKET_STATUS = env_str("INCIDENTS_RESOLVED_TICKET_STATUS", "resolved")
INCIDENTS_RESOLUTION_REPLY = (
    "Hello {{ customer.name }},\n\n"
    "The incident behind your request ({{ incident.number }}: {{ incident.title }}) is "
    "resolved. If anything still does not work for you, just reply and we will pick it up.\n\n"
    "{{ agent.name }}"
)
# A status page subscription's confirmation link stays valid this long.
INCIDENTS_SUBSCRIBE_CONFIRM_HOURS = env_int("INCIDENTS_SUBSCRIBE_CONFIRM_HOURS", 48)
# A maintenance window is shorter than this many days.
INCIDENTS_MAINTENANCE_MAX_DAYS = env_int("INCIDENTS_MAINTENANCE_MAX_DAYS", 14)
# The status page's cache lives at most this long (it is also invalidated on every change).
INCIDENTS_STATUS_CACHE_SECONDS = env_int("INCIDENTS_STATUS_CACHE_SECONDS", 300)

# Analytics (issue 16): the organisation's days are days in this zone.
ANALYTICS_TIME_ZONE = env_str("ANALYTICS_TIME_ZONE", TIME_ZONE)
# Alerts: a team's SLA compliance below this share (of the clocks stopped today) alerts leads;
# an hour's intake this many times its usual level (and at least the minimum) is a spike.
ANALYTICS_SLA_TARGET = float(env_str("ANALYTICS_SLA_TARGET", "0.9"))
ANALYTICS_SPIKE_FACTOR = float(env_str("ANALYTICS_SPIKE_FACTOR", "3"))
ANALYTICS_SPIKE_MIN_TICKETS = env_int("ANALYTICS_SPIKE_MIN_TICKETS", 10)

# AI assist (issue 18, support/assist): `local` needs no network and is the default; a hosted
# provider ("openai_compatible" or "anthropic") is optional and falls back to local on failure.
AI_PROVIDER = env_str("AI_PROVIDER", "local")
AI_BASE_URL = env_str("AI_BASE_URL", "")
AI_API_KEY = env_str("AI_API_KEY", "")
AI_MODEL = env_str("AI_MODEL", "")
# One call, retries included, ends within this many seconds (then local or a hand-off answers).
AI_TIMEOUT_S = float(env_str("AI_TIMEOUT_S", "20"))
AI_MAX_RETRIES = env_int("AI_MAX_RETRIES", 2)
# Tokens all hosted and local calls may spend per UTC day (0: no budget).
AI_DAILY_TOKEN_BUDGET = env_int("AI_DAILY_TOKEN_BUDGET", 2_000_000)
# Prompts and responses kept in the interaction log: full, redacted (e-mail addresses and long
# digit runs masked) or none; content is cleared after the retention days, counters stay.
AI_LOG_CONTENT = env_str("AI_LOG_CONTENT", "redacted")
AI_RETENTION_DAYS = env_int("AI_RETENTION_DAYS", 90)
# Prices per million tokens, input and output, by model: JSON {"model": [in, out]}.
AI_PRICE_TABLE = env_str("AI_PRICE_TABLE", "{}")
# A classifier is activated only with this many labelled tickets and a macro-F1 at least this far
# above the better of its baselines (majority class, keyword rule) on the held-out newest 20 %.
AI_MIN_TRAINING_TICKETS = env_int("AI_MIN_TRAINING_TICKETS", 150)
AI_ACTIVATION_MARGIN = float(env_str("AI_ACTIVATION_MARGIN", "0.10"))
# ... and only if it is right at least 90 % of the time on at least this share of them.
AI_MIN_COVERAGE_AT_P90 = float(env_str("AI_MIN_COVERAGE_AT_P90", "0.3"))
# The query endpoint answers only at or above this confidence; below it hands off to an agent.
AI_ANSWER_THRESHOLD = float(env_str("AI_ANSWER_THRESHOLD", "0.35"))
# How often a process asks whether the active embedder or the passages changed (its own sync
# invalidates at once): two statements a search fewer.
AI_INDEX_RECHECK_S = float(env_str("AI_INDEX_RECHECK_S", "5"))
# Passage embeddings: `lsa` (default, fitted on the articles) or `wordllama` (the optional
# extra `embeddings`: static sentence embeddings shipped in its wheel; LSA if not installed).
AI_EMBEDDER = env_str("AI_EMBEDDER", "lsa")
