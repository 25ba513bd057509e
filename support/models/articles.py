"""Which knowledge base articles served which tickets (DESIGN §5 "tickets" of an article).

The table is support's: `knowledge` sits below `support` and cannot name a ticket. Staff only,
never shown to customers.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from knowledge.models import Article

from .tickets import Ticket


class TicketArticle(models.Model):
    class How(models.TextChoices):
        INSERTED = "inserted", "Sent in a reply"
        LINKED = "linked", "Linked by hand"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="article_links")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    how = models.CharField(max_length=10, choices=How.choices)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "article"], name="support_ticket_article")
        ]
        indexes = [  # the article page's most recent tickets
            models.Index(fields=["article", "-linked_at"], name="support_article_tickets")
        ]

    def __str__(self):
        return f"article {self.article_id} on ticket {self.ticket_id} ({self.how})"
