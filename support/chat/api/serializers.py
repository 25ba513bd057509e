from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import serializers as api

from ...models.choices import SenderType
from ..models import ASSISTANT_NAME, ChatMessage, ChatSession, ChatWidget, EndReason


class ChatSessionSerializer(api.ModelSerializer):
    """A chat as both its visitor and staff see it: no address, id or note of staff's own."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    widget = serializers.CharField(source="widget.public_key", read_only=True)
    agent_name = serializers.SerializerMethodField()
    team_name = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField(
        help_text="1 for the first in line; null unless the chat is waiting."
    )
    ticket = serializers.SerializerMethodField(help_text="The ticket the chat became, if any.")
    end_reason = serializers.ChoiceField(
        choices=EndReason.choices, allow_blank=True, read_only=True, help_text="Empty while open."
    )

    class Meta:
        model = ChatSession
        fields = [
            "id",
            "status",
            "widget",
            "visitor_name",
            "visitor_email",
            "agent_name",
            "team_name",
            "queue_position",
            "with_bot",
            "last_seq",
            "started_at",
            "accepted_at",
            "first_agent_reply_at",
            "last_activity_at",
            "ended_at",
            "end_reason",
            "ticket",
            "rating",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_agent_name(self, session):
        return session.agent.display_name if session.agent_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_team_name(self, session):
        return session.team.name if session.team_id else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, session):
        from ..services import queue_position

        places = self.context.get("queue_positions")
        if places is not None:  # a list: every place read in one query
            return places.get(session.pk)
        return queue_position(session)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ticket(self, session):
        return session.ticket.number if session.ticket_id else None


class ChatStartSerializer(api.Serializer):
    widget = serializers.CharField(max_length=40, help_text="The widget's public key.")
    visitor_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    visitor_email = serializers.EmailField(required=False, allow_blank=True)
    page_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class ChatStartedSerializer(api.Serializer):
    session = ChatSessionSerializer()
    resume_token = serializers.CharField(
        help_text="Shown once. Send it as `X-Chat-Token` to read, write, end or rate this chat."
    )
    ws_ticket = serializers.CharField(
        help_text="Valid 60 seconds, once: the first frame of the socket, "
        '`{"type": "auth", "ticket": ...}`.'
    )
    ws_url = serializers.CharField(help_text="The socket to open for this chat.")


class ChatWsTicketSerializer(api.Serializer):
    ws_ticket = serializers.CharField()
    ws_url = serializers.CharField()


class ChatMessageSerializer(api.ModelSerializer):
    author_name = serializers.SerializerMethodField()
    body = serializers.CharField(source="body_text", read_only=True)
    internal = serializers.BooleanField(source="is_internal", read_only=True)

    class Meta:
        model = ChatMessage
        fields = [
            "seq",
            "client_msg_id",
            "sender_type",
            "author_name",
            "body",
            "internal",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author_name(self, message):
        if message.sender_type == SenderType.AI_BOT:
            return ASSISTANT_NAME
        return message.author.display_name if message.author_id else None


class ChatMessagePageSerializer(api.Serializer):
    results = ChatMessageSerializer(many=True)
    last_seq = serializers.IntegerField(help_text="The session's latest number (whispers too).")
    has_more = serializers.BooleanField(help_text="Ask again with `after_seq` = the last seq.")


class ChatPostSerializer(api.Serializer):
    client_msg_id = serializers.CharField(
        max_length=64, help_text="The client's own id: a retried send returns the first message."
    )
    body = serializers.CharField(max_length=4000)
    internal = serializers.BooleanField(
        required=False, default=False, help_text="A whisper to staff (staff only)."
    )


class ChatTransferSerializer(api.Serializer):
    to = serializers.ChoiceField(choices=["agent", "team", "ticket"])
    agent = serializers.IntegerField(required=False, min_value=1, help_text="With `to: agent`.")
    team = serializers.IntegerField(required=False, min_value=1, help_text="With `to: team`.")
    end = serializers.BooleanField(
        required=False, default=True, help_text="With `to: ticket`: end the chat too."
    )


class ChatRateSerializer(api.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class ChatWidgetStatusSerializer(api.ModelSerializer):
    key = serializers.CharField(source="public_key", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="`online`: start a chat; `busy` or `offline`: offer the message form."
    )

    class Meta:
        model = ChatWidget
        fields = ["key", "name", "status", "pre_chat_fields"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["online", "busy", "offline"]))
    def get_status(self, widget):
        from ..services import widget_status

        return widget_status(widget)


class ChatOfflineMessageSerializer(api.Serializer):
    visitor_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    visitor_email = serializers.EmailField(required=False, allow_blank=True)
    body = serializers.CharField(max_length=4000)


class ChatOfflineReceivedSerializer(api.Serializer):
    ticket = serializers.CharField(help_text="The ticket the message became.")
