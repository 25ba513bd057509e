"""The audit event every domain's history is made of: who did what, when, before and after."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Audit rows are written once and never changed or removed through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses every set-based change: `update`, `delete`, `bulk_update`.

    Removing the object an event belongs to still cascades (the database's own foreign key
    delete, not this queryset): erasing a ticket takes its history with it.
    """

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """Abstract: a domain subclasses it with a foreign key to what the event is about and its
    own `Kind` choices (`kind = models.CharField(choices=Kind.choices, ...)`), and records rows
    through `core.audit.record`.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=32)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(
        default=dict, blank=True, help_text="Context of the change: source, request id, job."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def save(self, *args, **kwargs):
        if not self._state.adding or self.pk is not None:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
