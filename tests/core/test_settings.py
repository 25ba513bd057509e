"""The settings package in both modes, read by fresh interpreters with controlled environments."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
from config.celery import app
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": app.conf.broker_url,
    "result_backend": app.conf.result_backend,
    "acks_late": app.conf.task_acks_late,
    "reject_on_lost": app.conf.task_reject_on_worker_lost,
    "serializers": [app.conf.task_serializer, list(app.conf.accept_content)],
    "timezone": app.conf.timezone,
    "beat": app.conf.beat_scheduler,
    "email": settings.EMAIL_BACKEND,
    "attachments": settings.STORAGES["support-attachments"]["BACKEND"],
    "attachments_bucket": (
        settings.STORAGES["support-attachments"].get("OPTIONS", {}).get("bucket_name")
    ),
    "insurance": settings.STORAGES["insurance-docs"]["BACKEND"],
    "log_format": settings.LOGGING["handlers"]["console"]["formatter"],
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "debug": settings.DEBUG,
}))
"""

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/supportdesk_settings_probe",
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "support.example.com",
    "STORAGE_S3": "true",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "STORAGE_BUCKET_SUPPORT_ATTACHMENTS": "acme-support-attachments",
    "ANYMAIL_SENDGRID_API_KEY": "SG.example",
}


def run_python(args, extra_env, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "DJANGO_", "AWS_", "STORAGE_", "ANYMAIL"))
        and key not in {"SECRET_KEY", "EMAIL_BACKEND", "ALLOWED_HOSTS", "LOG_FORMAT"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.base", "DJANGO_VAR_DIR": str(tmp_path)})
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def probe(extra_env, tmp_path):
    result = run_python(["-c", PROBE], extra_env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_needs_no_server(tmp_path):
    seen = probe({}, tmp_path)
    assert seen["db"] == "django.db.backends.sqlite3"
    assert seen["db_name"].startswith(str(tmp_path))
    assert seen["cache"].endswith("LocMemCache")
    assert seen["broker"].startswith("filesystem://")
    assert seen["email"] == "django.core.mail.backends.console.EmailBackend"
    assert seen["attachments"] == "django.core.files.storage.FileSystemStorage"
    assert seen["log_format"] == "text"
    assert seen["ssl_redirect"] is False and seen["debug"] is False
    # Celery's reliability defaults hold in every mode.
    assert seen["acks_late"] and seen["reject_on_lost"]
    assert seen["serializers"] == ["json", ["json"]]
    assert seen["timezone"] == "UTC"
    assert seen["beat"] == "django_celery_beat.schedulers:DatabaseScheduler"
    # The embedded mode keeps a generated secret key in its var directory.
    assert (tmp_path / "secret_key").exists()


def test_production_variables_switch_every_service(tmp_path):
    seen = probe(PRODUCTION_ENV, tmp_path)
    assert seen["db"] == "django.db.backends.postgresql"
    assert seen["db_name"] == "supportdesk_settings_probe"
    assert seen["cache"] == "core.cache.FailOpenRedisCache"
    assert seen["broker"] == seen["result_backend"] == "redis://127.0.0.1:6379/5"
    assert seen["email"] == "anymail.backends.sendgrid.EmailBackend"
    assert seen["attachments"] == seen["insurance"] == "storages.backends.s3.S3Storage"
    assert seen["attachments_bucket"] == "acme-support-attachments"
    assert seen["log_format"] == "json"
    assert seen["ssl_redirect"] is True


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_python(["-c", PROBE], env, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_malformed_boolean_is_a_clear_error(tmp_path):
    result = run_python(["-c", PROBE], {"DJANGO_DEBUG": "maybe"}, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_check_deploy_passes_with_production_variables(tmp_path):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
