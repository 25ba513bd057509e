"""The hourly usage monitor: interactions rolled up per hour, an alert when an hour's usage
leaps far above its usual level for that hour of the week, or when the daily budget is reached;
and the retention of interaction content.

Anomaly rule: tokens or calls of the last complete hour above the median of the same hour of
the week in the previous four weeks + 4 × 1.4826 × MAD, and at least twice that median (so a
flat history of zeros or ones does not alert on a handful of calls). At least two earlier weeks
are needed. Each alert is one `UsageAlert` row, so it is sent once.
"""

import datetime as dt
import statistics

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from core.notifications import notify_in_app
from core.roles import Role

from . import logging as ailog
from .models import AIInteraction, Outcome, UsageAlert, UsageHour

ERRORS = [Outcome.ERROR, Outcome.TIMEOUT]
WEEKS = 4


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@transaction.atomic
def roll_up(*, since: dt.datetime, until: dt.datetime) -> int:
    """Recompute the rollup rows of the hours in [since, until) from the interactions (delete
    and insert, so a rerun gives the same rows). Cost follows the interactions of those hours."""
    since, until = _hour(since), _hour(until)
    UsageHour.objects.filter(hour__gte=since, hour__lt=until).delete()
    rows = (
        AIInteraction.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(h=TruncHour("created_at", tzinfo=dt.UTC))
        .values("h", "feature", "provider", "model_returned")
        .annotate(
            calls=Count("pk"),
            errors=Count("pk", filter=Q(outcome__in=ERRORS)),
            input_tokens=Coalesce(Sum("input_tokens"), 0),
            output_tokens=Coalesce(Sum("output_tokens"), 0),
            cost=Sum("cost"),
            latency=Sum("latency_ms"),
        )
    )
    made = UsageHour.objects.bulk_create(
        UsageHour(
            hour=r["h"], feature=r["feature"], provider=r["provider"], model=r["model_returned"],
            calls=r["calls"], errors=r["errors"], input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"], cost=r["cost"] or 0,
            latency_ms_total=r["latency"] or 0,
        )
        for r in rows
    )  # fmt: skip
    return len(made)


def _totals(hour: dt.datetime) -> tuple[int, int]:
    row = UsageHour.objects.filter(hour=hour).aggregate(
        calls=Coalesce(Sum("calls"), 0),
        tokens=Coalesce(Sum(F("input_tokens") + F("output_tokens")), 0),
    )
    return row["calls"], row["tokens"]


def _leap(value: int, history: list[int]) -> bool:
    if len(history) < 2:
        return False
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history)
    return value > median + 4 * 1.4826 * mad and value >= 2 * max(median, 1)


def _alert(key: str, title: str, body: str, detail: dict) -> bool:
    leads = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.SUPPORT_LEAD, Role.ADMIN])
        .distinct()
        .order_by("pk")
    )
    try:
        with transaction.atomic():
            UsageAlert.objects.create(key=key, detail=detail)
            for lead in leads:
                notify_in_app(key=f"assist:{key}:lead:{lead.pk}", user=lead, title=title,
                              body=body, url="/desk/ai/")  # fmt: skip
    except IntegrityError:
        return False
    return True


def check_anomalies(*, now: dt.datetime) -> list[str]:
    hour = _hour(now) - dt.timedelta(hours=1)  # the last complete hour
    calls, tokens = _totals(hour)
    past = [_totals(hour - dt.timedelta(weeks=w)) for w in range(1, WEEKS + 1)]
    past = [p for p in past if p != (0, 0)] or []
    sent = []
    if _leap(tokens, [p[1] for p in past]) or _leap(calls, [p[0] for p in past]):
        key = f"spike:{hour:%Y-%m-%dT%H}"
        if _alert(key, "AI usage spike",
                  f"{calls} calls and {tokens} tokens in the hour from {hour:%H:%M} UTC, far "
                  "above that hour's usual level.",
                  {"calls": calls, "tokens": tokens, "history": past}):  # fmt: skip
            sent.append(key)
    budget = settings.AI_DAILY_TOKEN_BUDGET
    if budget and ailog.tokens_used_today() >= budget:
        key = f"budget:{now:%Y-%m-%d}"
        if _alert(key, "AI token budget reached",
                  f"Today's {budget} tokens are spent; hosted calls fall back to local.",
                  {"budget": budget}):  # fmt: skip
            sent.append(key)
    return sent


def clear_old_content(*, now: dt.datetime, batch: int = 5000) -> int:
    """Prompts and responses older than AI_RETENTION_DAYS are blanked; counters stay."""
    cutoff = now - dt.timedelta(days=settings.AI_RETENTION_DAYS)
    ids = list(
        AIInteraction.objects.filter(created_at__lt=cutoff, content_cleared=False)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    return AIInteraction.objects.filter(pk__in=ids).update(
        prompt="", response="", content_cleared=True
    )


def monitor(*, now: dt.datetime | None = None) -> dict:
    """Hourly: roll up the last two hours (a late row of the previous hour is counted), alert,
    clear expired content."""
    now = now or timezone.now()
    rows = roll_up(since=_hour(now) - dt.timedelta(hours=2), until=_hour(now))
    return {
        "rows": rows,
        "alerts": check_anomalies(now=now),
        "cleared": clear_old_content(now=now),
    }
