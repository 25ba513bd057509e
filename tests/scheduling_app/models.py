from django.db import models

from core.scheduling import ScheduledWork


class Reminder(ScheduledWork):
    """Test work: its handler records a `ReminderSent` (the row's work) and an outbox SMS."""

    recipient = models.CharField(max_length=200, blank=True)
    # The handler raises while the row's attempts are at most this (a flaky dependency).
    fail_attempts = models.PositiveSmallIntegerField(default=0)


class ReminderSent(models.Model):
    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="sent")
    attempt = models.PositiveSmallIntegerField()

    def __str__(self):
        return f"{self.reminder_id} attempt {self.attempt}"
