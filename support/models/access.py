from django.db import models
from django.utils import timezone

from .tickets import Ticket


class TicketAccessLink(models.Model):
    """A link e-mailed to a ticket's contact that opens that one ticket without an account.

    The URL carries a signed token naming this row and a random secret; only the secret's
    SHA-256 is stored. Opening it once (a POST: mail scanners follow GET links) marks it used and
    grants the browser session access to this ticket until `grant_expires_at`. Revoked when the
    address gets an account with a password, or when a new link replaces it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="access_links")
    email = models.EmailField(help_text="The address the link was sent to (lower-case).")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="The link cannot be opened after this.")
    used_at = models.DateTimeField(null=True, blank=True)
    grant_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The session it opened keeps access until this."
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["email"],
                name="support_access_email_live",
                condition=models.Q(revoked_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"access to {self.ticket_id} for {self.email}"
