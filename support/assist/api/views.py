"""AI assist endpoints under /api/v1/ai/."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from core.errors import NotFound
from support.api.views import ERROR_RESPONSES, _ticket_lookup
from support.chat.services import session_for_user
from support.selectors import tickets_for

from .. import answers, drafts, suggestions, tools
from ..permissions import can_query, can_see_suggestions
from . import serializers as s


class TicketSuggestionsView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_suggestions)]}

    @extend_schema(
        summary="Category, team and priority suggestions for a ticket (staff)",
        description="From the active models only (each beat its baselines on held-out "
        "tickets); a suggestion equal to the ticket's current value is left out.",
        responses={200: s.SuggestionListSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        shown = suggestions.suggestions_for(ticket=target, user=request.user)
        return Response({"suggestions": [s.shown_data(x) for x in shown]})


class SuggestionDecisionView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_see_suggestions)]}
    decision = "accept"

    @extend_schema(
        summary="Accept or reject a ticket's pending suggestion for one field (staff)",
        description="Accepting applies the value through the ticket's own rules (permission, "
        "SLA recomputation for priority, audit event).",
        request=s.SuggestionDecisionSerializer,
        responses={200: s.SuggestionListSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        data = s.SuggestionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decide = suggestions.accept if self.decision == "accept" else suggestions.reject
        decide(ticket=target, field=data.validated_data["field"], by=request.user)
        shown = suggestions.suggestions_for(ticket=target, user=request.user)
        return Response(
            {"suggestions": [s.shown_data(x) for x in shown]}, status=status.HTTP_200_OK
        )


class QueryView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_query)]}
    throttle_scope = "ai"

    @extend_schema(
        summary="Ask the assistant: an answer from knowledge-base passages, or a hand-off",
        description="Answers only from retrieved articles (customers: public ones), with "
        "citations and a confidence; below the threshold `handoff` is true and no answer is "
        "given. Every call is logged. Tools a model asks for are returned, never run.",
        request=s.QuerySerializer,
        responses={200: s.AnswerSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "A question",
                value={"question": "How do I reset my password?"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = s.QuerySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = None
        if ref := data.validated_data.get("ticket"):
            try:
                ticket = _ticket_lookup(tickets_for(request.user), ref)
            except Http404 as error:
                raise NotFound("No such ticket.") from error
        chat = None
        if chat_id := data.validated_data.get("chat"):
            chat = session_for_user(request.user, chat_id)
        result = answers.answer(
            question=data.validated_data["question"],
            user=request.user,
            ticket=ticket,
            chat_session=chat,
        )
        return Response(
            {
                "answer": result.text,
                "citations": result.citations,
                "confidence": result.confidence,
                "handoff": result.handoff,
                "provider": result.provider,
                "interaction": result.interaction_id,
                "requested_tools": result.requested_tools,
            }
        )


class ToolView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_query)]}
    throttle_scope = "ai"

    @extend_schema(
        summary="Run one of the assistant's tools as yourself",
        description="Tools: `ticket_status`, `kb_search`, `create_ticket`, `booking_lookup` "
        "(those your role may use). They see only what you see: anything else is not found. "
        "Tools needing an agent's approval return a proposal.",
        request=s.ToolCallSerializer,
        responses={200: s.ToolResultSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "Search the knowledge base",
                value={"arguments": {"query": "reset my password"}},
                request_only=True,
            )
        ],
    )
    def post(self, request, tool):
        data = s.ToolCallSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = tools.run_tool(tool, user=request.user, arguments=data.validated_data["arguments"])
        return Response({"tool": tool, "result": result})


class TicketDraftView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_see_suggestions)]}
    throttle_scope = "ai"

    @extend_schema(
        summary="A reply draft or a summary of a ticket's thread, by the hosted model (staff)",
        description="Only with a hosted provider (`AI_PROVIDER` `openai_compatible` or "
        "`anthropic`): with the local provider the answer is 409 `drafts_unavailable`. The "
        "thread is sent redacted (`core.redaction`); a provider that fails or is refused by "
        "the budget gives 503 `model_unavailable` (and its logged row). The draft is never "
        "sent by itself: record what the agent made of it with `POST /api/v1/ai/drafts/{id}/`.",
        request=s.DraftRequestSerializer,
        responses={
            201: s.DraftSerializer,
            **ERROR_RESPONSES,
            503: OpenApiResponse(description="The hosted model failed or was refused: no draft"),
        },
    )
    def post(self, request, ticket):
        target = _ticket_lookup(tickets_for(request.user), ticket)
        data = s.DraftRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = drafts.request_draft(
            ticket=target, user=request.user, kind=data.validated_data["kind"]
        )
        return Response(
            {
                "kind": made.kind,
                "text": made.text,
                "interaction": made.interaction_id,
                "provider": made.provider,
                "model": made.model,
            },
            status=status.HTTP_201_CREATED,
        )


class DraftDecisionView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"post": [allows(can_see_suggestions)]}

    @extend_schema(
        summary="Record what you made of your draft: into the composer, sent, edited, rejected",
        description="Only the agent who asked for the draft decides it; a sent or rejected "
        "draft stays so (409 `draft_decided`). `in_composer` is settled by your next message "
        "on the ticket: `accepted` when its words are the draft's, `edited` otherwise.",
        request=s.DraftDecisionSerializer,
        responses={200: s.DraftStateSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("Reject a draft", value={"outcome": "rejected"}, request_only=True)
        ],
    )
    def post(self, request, pk):
        data = s.DraftDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = drafts.decide(
            interaction_id=pk, user=request.user, outcome=data.validated_data["outcome"]
        )
        return Response({"interaction": draft.pk, "outcome": draft.draft_outcome})
