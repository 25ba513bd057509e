"""Live chat's tables: widgets, sessions, their messages, who takes part, and the relay log.

The database is the record of a chat; the channel layer only wakes clients. Every message has
the session's next sequence number (`ChatSession.last_seq`, taken under the session's row lock
in the transaction that writes the message), so a client that says the last number it saw gets
everything after it in order, and sees a gap as a missing number. A send carries the client's
own message id, unique per session: a retried send finds the first message instead of writing
a second (`support.chat.services.post_message`).
"""

import uuid

from django.conf import settings
from django.core.validators import EmailValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.crypto import EncryptedCharField, KeyedHashField, hash_or_empty
from core.scheduling import ScheduledWork, due_index

from ..models.choices import SenderType


def _public_key() -> str:
    return uuid.uuid4().hex[:20]


class ChatWidget(models.Model):
    """One embeddable chat: where it may be embedded, which team answers, when, and its limits."""

    name = models.CharField(max_length=120)
    public_key = models.CharField(max_length=40, unique=True, default=_public_key)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins that may embed the widget and open its sockets, e.g. "https://shop.example".',
    )
    team = models.ForeignKey(
        "support.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar = models.ForeignKey(
        "core.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Chat is offered only inside these hours (none: always).",
    )
    pre_chat_fields = models.JSONField(
        default=list, blank=True, help_text='Fields asked before a chat: "name", "email".'
    )
    max_queue = models.PositiveSmallIntegerField(
        default=10, help_text="Most visitors waiting; beyond it the widget offers the message form."
    )
    queue_timeout_s = models.PositiveIntegerField(
        default=300, help_text="A visitor waiting longer is offered the message form."
    )
    inactivity_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="A chat quiet for this long is ended and archived into a ticket."
    )
    is_active = models.BooleanField(default=True)
    bot_enabled = models.BooleanField(
        default=False,
        help_text="The assistant answers a new chat first, from public articles, and hands it "
        "to an agent when it cannot answer or the visitor asks for a person.",
    )

    def __str__(self):
        return self.name

    def allows_origin(self, origin: str) -> bool:
        """Whether a browser page at `origin` may use this widget (no list: our own site only)."""
        origin = (origin or "").rstrip("/").lower()
        own = settings.SITE_URL.rstrip("/").lower()
        return origin == own or origin in {o.rstrip("/").lower() for o in self.allowed_origins}


class SessionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    TRANSFERRED = "transferred", "Transferred"
    ARCHIVED = "archived", "Archived"
    OFFLINE = "offline", "Offline message"


OPEN_STATUSES = (SessionStatus.QUEUED, SessionStatus.ACTIVE)
# The author shown for the widget bot's messages (`support.chat.bot`).
ASSISTANT_NAME = "Assistant"


class EndReason(models.TextChoices):
    VISITOR = "visitor", "Ended by the visitor"
    AGENT = "agent", "Ended by the agent"
    INACTIVE = "inactive", "Inactive"
    TRANSFERRED = "transferred", "Transferred to a ticket"


class ChatSessionQuerySet(models.QuerySet):
    def with_visitor_email(self, address: str):
        """The sessions of this visitor address (exact, case-insensitive: its keyed hash)."""
        digest = hash_or_empty(address)
        return self.filter(visitor_email_hash=digest) if digest else self.none()


class ChatSession(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # SHA-256 of the visitor's resume token; the token itself is shown once, at the start.
    token_hash = models.CharField(max_length=64, unique=True)
    # The current single-use socket ticket's id (empty once used); see services.issue_ws_ticket.
    ws_ticket_id = models.CharField(max_length=32, blank=True)
    widget = models.ForeignKey(ChatWidget, on_delete=models.PROTECT, related_name="sessions")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_sessions",
    )
    # Encrypted at rest (core.crypto), found by exact match through the keyed hash beside each.
    visitor_name = EncryptedCharField(max_length=200, blank=True)
    visitor_name_hash = KeyedHashField(source="visitor_name")
    visitor_email = EncryptedCharField(max_length=254, blank=True, validators=[EmailValidator()])
    visitor_email_hash = KeyedHashField(source="visitor_email")
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.QUEUED
    )
    team = models.ForeignKey(
        "support.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agent_chat_sessions",
    )
    started_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    last_customer_activity_at = models.DateTimeField(default=timezone.now)
    last_agent_activity_at = models.DateTimeField(null=True, blank=True)
    # The later of the two: what the archive job's index reads.
    last_activity_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    # With the widget's bot: the assistant has the chat; it is not routed or counted as waiting
    # until the bot hands it off (`support.chat.bot`) or an agent takes it.
    with_bot = models.BooleanField(default=False)
    ticket = models.OneToOneField(
        "support.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_session",
    )
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    page_url = models.URLField(max_length=500, blank=True)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(
                fields=["status", "last_activity_at"],
                name="chat_session_open_activity",
                condition=Q(status__in=["queued", "active"]),
            ),
            models.Index(fields=["agent", "status"], name="chat_session_agent_status"),
            models.Index(
                fields=["visitor_email_hash"],
                name="chat_session_visitor_email",
                condition=~Q(visitor_email_hash=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="chat_session_rating_1_5",
            )
        ]

    def __str__(self):
        return f"chat {self.public_id}"

    @property
    def display_name(self) -> str:
        if self.customer_id:
            return self.customer.display_name
        return self.visitor_name or self.visitor_email or "Visitor"


class ChatMessage(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    client_msg_id = models.CharField(max_length=64)
    sender_type = models.CharField(max_length=10, choices=SenderType.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_html = models.TextField(help_text="Sanitised HTML.")
    body_text = models.TextField()
    is_internal = models.BooleanField(default=False, help_text="A whisper between staff.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="chat_message_seq"),
            models.UniqueConstraint(
                fields=["session", "client_msg_id"], name="chat_message_client_id"
            ),
        ]

    def __str__(self):
        return f"{self.session_id}#{self.seq}"


class ParticipantRole(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"


class ChatParticipant(models.Model):
    """Who takes or took part (the visitor, each agent who joined) and how far they have read."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=10, choices=ParticipantRole.choices)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    last_read_seq = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One visitor row per session; one row per agent per session.
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(role="visitor"),
                name="chat_participant_one_visitor",
            ),
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=Q(role="agent"),
                name="chat_participant_agent",
            ),
        ]

    def __str__(self):
        return f"{self.role} in {self.session_id}"


class ChatEvent(models.Model):
    """The relay log of the embedded mode: what a process without the socket server published.

    The one ASGI process tails it (`support.chat.relay`) and wakes its sockets; rows older than
    a day are pruned. With Redis (production) nothing is written here.
    """

    # None for an event about no one chat (an agent's presence on the desks).
    session = models.ForeignKey(
        ChatSession, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"event {self.pk} of {self.session_id}"


class ChatArchive(ScheduledWork):
    """An inactive session's archiving (through core's scheduled work): the beat sweep schedules
    one per session and quiet spell; the handler ends the session, makes its one ticket and
    e-mails the transcript in the transaction that marks the row done."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="+")

    class Meta(ScheduledWork.Meta):
        indexes = [due_index("support_chatarchive_due")]
