import threading
from pathlib import Path

from django.conf import settings

from core.notifications import notify_sms

from .models import ReminderSent


class ReminderFailed(Exception):
    pass


def send_reminder(reminder):
    """Does the row's work in the sweeper's transaction; the SMS goes through the outbox."""
    ReminderSent.objects.create(reminder=reminder, attempt=reminder.attempts)
    if reminder.recipient:
        notify_sms(
            key=f"reminder:{reminder.idempotency_key}:sms", to=reminder.recipient, body="Reminder"
        )
    if reminder.attempts <= reminder.fail_attempts:
        raise ReminderFailed(f"attempt {reminder.attempts} failed on purpose")
    _hang_if_asked(reminder)


def _hang_if_asked(reminder):
    """In the real-worker test, the first attempt at one key stops mid-row until it is killed."""
    key = getattr(settings, "SCHEDULING_TEST_HANG_ON", None)
    if reminder.idempotency_key == key and reminder.attempts == 1:
        Path(settings.SCHEDULING_TEST_HANG_FILE).write_text(key)
        threading.Event().wait(timeout=120)
