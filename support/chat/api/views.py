"""The chat API, `/api/v1/chat/`: visitors start, write, end and rate with their session's
token (`X-Chat-Token`), staff list and work every chat. Another session is a 404."""

import django_filters
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.pagination import UncountedPageNumberPagination
from core.api.permissions import ActionPermissions, allows
from core.errors import DomainError, NotFound
from core.models import User
from core.roles import is_staff_member

from ...models import Team
from .. import bot, services
from ..models import ChatSession, ChatWidget, SessionStatus
from ..permissions import can_transfer, can_work_chats
from . import serializers as s

ANYONE = allows()  # visitors prove themselves with their session's token, checked per object
WORK = [allows(can_work_chats)]
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
TOKEN_HEADER = OpenApiParameter(
    "X-Chat-Token",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The visitor's resume token from the start of the chat (not needed by staff, "
    "nor by a signed-in customer for their own chats).",
)
MESSAGE_PAGE = 100


def example(name, value):
    return [OpenApiExample(name, value=value, request_only=True)]


def ws_url(request, session) -> str:
    base = getattr(settings, "CHAT_WS_ORIGIN", "") or (
        ("wss://" if request.is_secure() else "ws://") + request.get_host()
    )
    return f"{base.rstrip('/')}/ws/chat/sessions/{session.public_id}/"


def session_for_request(request, public_id) -> ChatSession:
    """Staff: any chat; the token's visitor: that chat; a signed-in customer: their own."""
    user = request.user
    if user.is_authenticated and is_staff_member(user):
        return services.staff_session(user, public_id)
    token = request.headers.get("X-Chat-Token", "")
    if token:
        return services.session_for_token(public_id, token)
    if user.is_authenticated:
        session = services.staff_sessions().filter(public_id=public_id, customer=user).first()
        if session is not None:
            return session
    raise NotFound("No such chat.")


def _staff(request) -> User | None:
    user = request.user
    return user if user.is_authenticated and is_staff_member(user) else None


class ChatSessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only the caller's chats.")

    def filter_mine(self, queryset, name, value):
        return queryset.filter(agent=self.request.user) if value else queryset


class ChatSessionViewSet(viewsets.GenericViewSet):
    lookup_value_regex = UUID_PATTERN
    serializer_class = s.ChatSessionSerializer
    filterset_class = ChatSessionFilter
    pagination_class = UncountedPageNumberPagination
    permission_classes = [ActionPermissions]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "list": WORK,
        "create": [ANYONE],
        "retrieve": [ANYONE],
        "messages": [ANYONE],
        "ws_ticket": [ANYONE],
        "end": [ANYONE],
        "rate": [ANYONE],
        "handoff": [ANYONE],
        "accept": WORK,
        "transfer": [allows(can_transfer)],
    }

    def get_queryset(self):
        return services.staff_sessions()

    def _session(self):
        return session_for_request(self.request, self.kwargs["pk"])

    def _detail(self, session, code=status.HTTP_200_OK):
        fresh = services.staff_sessions().get(pk=session.pk)
        return Response(s.ChatSessionSerializer(fresh).data, status=code)

    @extend_schema(summary="Chats (support staff), latest first")
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {"queue_positions": services.queue_positions(page)}
        data = s.ChatSessionSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Start a chat: routed to an agent or queued; answers the resume token and a "
        "socket ticket (409 `chat_offline` when nobody can answer: use the message form)",
        request=s.ChatStartSerializer,
        responses={201: s.ChatStartedSerializer},
        examples=example(
            "Start",
            {
                "widget": "wk-example",
                "visitor_name": "Vic Visitor",
                "visitor_email": "vic@example.com",
                "page_url": "https://shop.example/pricing",
            },
        ),
    )
    def create(self, request):
        data = s.ChatStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        widget = ChatWidget.objects.filter(public_key=values.pop("widget"), is_active=True).first()
        if widget is None:
            raise DomainError("No such widget.", errors={"widget": ["Unknown widget."]})
        user = request.user if request.user.is_authenticated else None
        session, token = services.start_session(widget=widget, customer=user, **values)
        body = {
            "session": s.ChatSessionSerializer(services.staff_sessions().get(pk=session.pk)).data,
            "resume_token": token,
            "ws_ticket": services.issue_ws_ticket(session),
            "ws_url": ws_url(request, session),
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary="A chat", parameters=[TOKEN_HEADER])
    def retrieve(self, request, pk=None):
        return self._detail(self._session())

    @extend_schema(
        methods=["get"],
        summary="The chat's messages after `after_seq`, in order (visitors: no whispers); page "
        "on with the last seq while `has_more`",
        parameters=[
            TOKEN_HEADER,
            OpenApiParameter("after_seq", OpenApiTypes.INT, description="Default 0."),
        ],
        responses={200: s.ChatMessagePageSerializer},
    )
    @extend_schema(
        methods=["post"],
        summary="Send a message (also the fallback where sockets are blocked); a retried "
        "`client_msg_id` returns the first message (200) instead of a second (201)",
        parameters=[TOKEN_HEADER],
        request=s.ChatPostSerializer,
        responses={200: s.ChatMessageSerializer, 201: s.ChatMessageSerializer},
        examples=example("Say", {"client_msg_id": "c-7f3a", "body": "Is the export ready?"}),
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def messages(self, request, pk=None):
        session = self._session()
        staff = _staff(request)
        if request.method == "POST":
            data = s.ChatPostSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            message, created = services.post_message(
                session=session, by=staff, **data.validated_data
            )
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            return Response(s.ChatMessageSerializer(message).data, status=code)
        try:
            after = max(int(request.query_params.get("after_seq", 0)), 0)
        except ValueError:
            raise DomainError(
                "after_seq is a number.", errors={"after_seq": ["Invalid."]}
            ) from None
        rows = list(
            services.messages_after(session, after, staff=staff is not None, limit=MESSAGE_PAGE + 1)
        )
        body = {
            "results": s.ChatMessageSerializer(rows[:MESSAGE_PAGE], many=True).data,
            "last_seq": ChatSession.objects.values_list("last_seq", flat=True).get(pk=session.pk),
            "has_more": len(rows) > MESSAGE_PAGE,
        }
        return Response(body)

    @extend_schema(
        summary="A new socket ticket for this chat (60 seconds, once), e.g. to reconnect",
        parameters=[TOKEN_HEADER],
        request=None,
        responses={200: s.ChatWsTicketSerializer},
    )
    @action(detail=True, methods=["post"], url_path="ws-ticket", filter_backends=[])
    def ws_ticket(self, request, pk=None):
        session = self._session()
        return Response(
            {"ws_ticket": services.issue_ws_ticket(session), "ws_url": ws_url(request, session)}
        )

    @extend_schema(
        summary="End the chat (the visitor or staff)", parameters=[TOKEN_HEADER], request=None
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def end(self, request, pk=None):
        session = services.end_session(session=self._session(), by=_staff(request))
        return self._detail(session)

    @extend_schema(
        summary="Rate the ended chat, 1 to 5 (the visitor); again replaces it",
        parameters=[TOKEN_HEADER],
        request=s.ChatRateSerializer,
        examples=example("Rate", {"rating": 5, "comment": "Sorted in two minutes."}),
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def rate(self, request, pk=None):
        session = self._session()
        if _staff(request) is not None:
            raise NotFound("No such chat.")  # the visitor's rating, not staff's
        data = s.ChatRateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.rate_session(session=session, **data.validated_data))

    @extend_schema(
        summary="Talk to a person: the widget bot's turn ends and the chat joins the queue (the "
        "visitor; nothing changes once an agent has it)",
        parameters=[TOKEN_HEADER],
        request=None,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def handoff(self, request, pk=None):
        session = self._session()
        if _staff(request) is not None:
            raise NotFound("No such chat.")  # staff take a chat with accept
        bot.hand_off(session, reason="asked")
        return self._detail(session)

    @extend_schema(summary="Take a waiting chat from the queue (within your maximum)", request=None)
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        return self._detail(services.accept_session(session=self._session(), by=request.user))

    @extend_schema(
        summary="Transfer the chat: to an agent, to a team's queue, or into a ticket (its "
        "messages copied one to one, whispers as internal notes)",
        request=s.ChatTransferSerializer,
        examples=[
            OpenApiExample("Into a ticket", value={"to": "ticket"}, request_only=True),
            OpenApiExample("To a team", value={"to": "team", "team": 2}, request_only=True),
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def transfer(self, request, pk=None):
        session = self._session()
        data = s.ChatTransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["to"] == "ticket":
            services.transfer_to_ticket(session=session, by=request.user, end=values["end"])
        elif values["to"] == "agent":
            agent = User.objects.filter(pk=values.get("agent") or 0, is_active=True).first()
            if agent is None:
                raise DomainError("Choose an agent.", errors={"agent": ["Unknown agent."]})
            services.transfer_to_agent(session=session, by=request.user, agent=agent)
        else:
            team = Team.objects.filter(pk=values.get("team") or 0).first()
            if team is None:
                raise DomainError("Choose a team.", errors={"team": ["Unknown team."]})
            services.transfer_to_team(session=session, by=request.user, team=team)
        return self._detail(session)


class ChatWidgetViewSet(viewsets.GenericViewSet):
    lookup_field = "public_key"
    lookup_url_kwarg = "key"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,40}"
    permission_classes = [ActionPermissions]
    action_permissions = {"status": [ANYONE], "offline_message": [ANYONE]}
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = s.ChatWidgetStatusSerializer

    def get_queryset(self):
        return ChatWidget.objects.filter(is_active=True)

    @extend_schema(summary="Whether the widget can chat now: online, busy or offline")
    @action(detail=True, methods=["get"], filter_backends=[])
    def status(self, request, key=None):
        return Response(s.ChatWidgetStatusSerializer(self.get_object()).data)

    @extend_schema(
        summary="Leave a message when nobody can chat: a ticket (channel chat) whose replies "
        "reach the visitor by e-mail",
        request=s.ChatOfflineMessageSerializer,
        responses={201: s.ChatOfflineReceivedSerializer},
        examples=example(
            "Message",
            {
                "visitor_name": "Olive",
                "visitor_email": "olive@example.com",
                "body": "Please call me back about my invoice.",
            },
        ),
    )
    @action(detail=True, methods=["post"], url_path="offline-message", filter_backends=[])
    def offline_message(self, request, key=None):
        data = s.ChatOfflineMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if request.user.is_authenticated else None
        session = services.leave_offline_message(
            widget=self.get_object(), customer=user, **data.validated_data
        )
        return Response({"ticket": session.ticket.number}, status=status.HTTP_201_CREATED)
