"""The interaction log: one row per call, whatever came of it, with content as configured."""

import hashlib
import json
import re
from decimal import Decimal

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .models import AIInteraction, DailyTokenUsage

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DIGITS = re.compile(r"\d[\d \-]{5,}\d")


def redact(text: str) -> str:
    """E-mail addresses and long digit runs (card, phone and account numbers) masked."""
    return _DIGITS.sub("[number]", _EMAIL.sub("[email]", text or ""))


def stored_content(text: str) -> str:
    mode = settings.AI_LOG_CONTENT
    if mode == "full":
        return text or ""
    if mode == "none":
        return ""
    return redact(text)


def price_table() -> dict:
    try:
        table = json.loads(settings.AI_PRICE_TABLE or "{}")
    except json.JSONDecodeError:
        return {}
    return table if isinstance(table, dict) else {}


def cost_of(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    prices = price_table().get(model)
    if not prices or len(prices) != 2:
        return Decimal(0)
    per_in, per_out = (Decimal(str(p)) for p in prices)
    return (per_in * input_tokens + per_out * output_tokens) / Decimal(1_000_000)


def tokens_used_today() -> int:
    row = DailyTokenUsage.objects.filter(day=timezone.now().date()).first()
    return row.tokens if row else 0


def count_tokens(tokens: int) -> None:
    if tokens <= 0:
        return
    day = timezone.now().date()
    updated = DailyTokenUsage.objects.filter(day=day).update(tokens=F("tokens") + tokens)
    if not updated:
        _, created = DailyTokenUsage.objects.get_or_create(day=day, defaults={"tokens": tokens})
        if not created:
            DailyTokenUsage.objects.filter(day=day).update(tokens=F("tokens") + tokens)


def record(*, feature, provider, prompt="", response="", user=None, ticket=None, **fields):
    """Write the interaction row (outside any caller's transaction would be best: callers run
    it after the call, so a failed call is on record too)."""
    user = user if getattr(user, "is_authenticated", False) else None
    return AIInteraction.objects.create(
        feature=feature,
        provider=provider,
        user=user,
        ticket=ticket,
        prompt=stored_content(prompt),
        prompt_sha256=hashlib.sha256((prompt or "").encode()).hexdigest() if prompt else "",
        response=stored_content(response),
        **fields,
    )
