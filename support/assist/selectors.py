"""Reads of AI assist for the usage page and its API."""

import datetime as dt

from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import ModelArtifact, UsageHour


def usage_by_day(*, days: int = 14, now=None) -> list[dict]:
    """Calls, errors, tokens and cost per UTC day, feature, provider and model (from rollups)."""
    now = now or timezone.now()
    since = (now - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    return list(
        UsageHour.objects.filter(hour__gte=since)
        .annotate(day=TruncDate("hour", tzinfo=dt.UTC))
        .values("day", "feature", "provider", "model")
        .annotate(
            calls=Sum("calls"),
            errors=Sum("errors"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            cost=Sum("cost"),
        )
        .order_by("-day", "feature", "provider", "model")
    )


def model_reports(*, limit: int = 30) -> list[ModelArtifact]:
    """The newest artifacts (active first), their evaluation in `metrics`."""
    return list(ModelArtifact.objects.defer("blob").order_by("-is_active", "-created_at")[:limit])
