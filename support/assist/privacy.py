"""What AI assist holds about a person, for `core.privacy`: the calls they made (prompt,
response, tool arguments) and the calls about their tickets.

Erasure blanks prompts, responses, errors and tool arguments and results, keeping feature,
provider, model, tokens, latency, confidence, cost and outcome (the usage monitor and budget
read those). Its own age limit (`AI_RETENTION_DAYS`, the usage job) stays; a retention kind
here lets a policy age the content out sooner, or delete the calls.
"""

from django.db.models import Q

from core import privacy

from .models import AIInteraction, AIToolCall

CHUNK = 500


def _calls_of(subject: privacy.Subject):
    from support.privacy import tickets_of

    q = Q(ticket__in=tickets_of(subject).values("pk"))
    if subject.user_id:
        q |= Q(user_id=subject.user_id)
    return AIInteraction.objects.filter(q)


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    calls = _calls_of(subject).filter(user_id=subject.user_id) if subject.user_id else None
    if calls is None:
        return  # a person without an account made no call; calls about tickets are staff work
    archive.add(
        "ai_interactions",
        [
            {
                "at": privacy.iso(c.created_at),
                "feature": c.feature,
                "provider": c.provider,
                "model": c.model_returned or c.model_requested,
                "prompt": c.prompt,
                "response": c.response,
                "outcome": c.outcome,
                "confidence": c.confidence,
                "tools": [
                    {"tool": t.tool, "arguments": t.arguments, "decision": t.decision}
                    for t in c.tool_call_rows.all()
                ],
            }
            for c in calls.prefetch_related("tool_call_rows").order_by("pk")
        ],
    )


def _blank(ids: list[int]) -> int:
    changed = 0
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        changed += AIInteraction.objects.filter(pk__in=chunk).update(
            prompt="", response="", error="", tool_calls=[], content_cleared=True
        )
        AIToolCall.objects.filter(interaction_id__in=chunk).update(
            arguments={}, result_summary="", error=""
        )
    return changed


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    calls = _calls_of(subject)
    if holds.ticket_ids or holds.organization_ids:
        calls = calls.filter(Q(ticket__isnull=True) | holds.ticket_filter("ticket__"))
    ids = list(calls.values_list("pk", flat=True))
    return {"ai_interactions": _blank(ids)}


def _calls_due(cutoff, holds: privacy.Holds, action: str):
    due = AIInteraction.objects.filter(created_at__lt=cutoff)
    if holds.ticket_ids or holds.organization_ids:
        due = due.filter(Q(ticket__isnull=True) | holds.ticket_filter("ticket__"))
    if action == "anonymise":
        due = due.filter(content_cleared=False)
    return due


def _apply_calls(action: str, pks: list[int]) -> int:
    if action == "delete":
        return (
            AIInteraction.objects.filter(pk__in=pks)
            .delete()[1]
            .get("support_assist.AIInteraction", 0)
        )
    return _blank(pks)


def register() -> None:
    privacy.register(
        privacy.Part(
            name="assist",
            models=("support_assist.AIInteraction", "support_assist.AIToolCall"),
            export=export,
            erase=erase,
            order=45,
        )
    )
    privacy.register_retention(
        privacy.RetentionKind(
            key="assist.calls",
            label="AI prompts and responses",
            actions=("anonymise", "delete"),
            default_days=90,
            default_action="anonymise",
            due=_calls_due,
            apply=_apply_calls,
        )
    )
    privacy.exempt(
        [
            "support_assist.DailyTokenUsage",
            "support_assist.ModelArtifact",
            "support_assist.Suggestion",
            "support_assist.ArticleChunk",
            "support_assist.SyncState",
            "support_assist.UsageHour",
            "support_assist.UsageAlert",
            "support_assist.BreachRisk",
        ],
        "counters, trained models, suggested field values with who decided (ids), article "
        "passages (articles are staff-written) and tickets' predicted breach risk (a number)",
    )
