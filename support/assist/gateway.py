"""Every model call goes through `complete`: budget, provider, fallback, and the log.

A hosted provider that fails (HTTP error after its retries, timeout, malformed body) or that
the daily token budget refuses leaves its own interaction row, and the local provider answers in
its place (its row says `fallback`); the local provider hands off when it has no good passage.
The hosted call's deadline is `AI_TIMEOUT_S`, retries and waits included, so the fallback comes
within the timeout.
"""

import json
import time
from dataclasses import dataclass

from django.conf import settings

from . import logging as ailog
from .models import AIInteraction, Outcome
from .providers import CompletionRequest, CompletionResult, get_provider
from .providers.base import ProviderError, ProviderTimeout, estimate_tokens
from .providers.local import LocalProvider


@dataclass
class Completed:
    result: CompletionResult | None
    interaction: AIInteraction
    provider: str


def configured_provider():
    name = settings.AI_PROVIDER
    if name == "local":
        return LocalProvider()
    return get_provider(
        name,
        base_url=settings.AI_BASE_URL,
        api_key=settings.AI_API_KEY,
        model=settings.AI_MODEL,
        max_retries=settings.AI_MAX_RETRIES,
    )


def _prompt_text(request: CompletionRequest) -> str:
    parts = [request.system, *(m["content"] for m in request.messages)]
    return "\n\n".join(p for p in parts if p)


def _tool_calls(result: CompletionResult) -> list[dict]:
    return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in result.tool_calls]


def _outcome_of(result: CompletionResult, fallback: bool) -> str:
    if result.finish_reason == "handoff":
        return Outcome.HANDOFF
    return Outcome.FALLBACK if fallback else Outcome.SUCCESS


def complete(
    request: CompletionRequest,
    *,
    user=None,
    ticket=None,
    chat_session=None,
    provider=None,
    retrieved_ids=(),
    model_version: str = "",
    fallback_to_local: bool = True,
) -> Completed:
    """With `fallback_to_local=False` (drafts and summaries: the local provider writes
    nothing), a failed or refused hosted call returns `Completed(result=None, …)` with the
    failure's row."""
    provider = provider or configured_provider()
    prompt = _prompt_text(request)
    common = {
        "feature": request.feature,
        "user": user,
        "ticket": ticket,
        "chat_session": chat_session,
        "prompt": prompt,
        "retrieved_ids": list(retrieved_ids),
    }
    fallback = False
    if provider.name != "local":
        requested = request.model or getattr(provider, "model", "")
        budget = settings.AI_DAILY_TOKEN_BUDGET
        estimate = estimate_tokens(prompt) + request.max_tokens
        if budget and ailog.tokens_used_today() + estimate > budget:
            failed = ailog.record(
                provider=provider.name,
                model_requested=requested,
                outcome=Outcome.REFUSED_BUDGET,
                error=f"Daily token budget of {budget} reached.",
                attempts=0,
                **common,
            )
        else:
            started = time.perf_counter()
            try:
                result = provider.complete(request, timeout_s=settings.AI_TIMEOUT_S)
            except ProviderError as error:
                failed = ailog.record(
                    provider=provider.name,
                    model_requested=requested,
                    outcome=Outcome.TIMEOUT
                    if isinstance(error, ProviderTimeout)
                    else Outcome.ERROR,
                    error=f"{error.__class__.__name__}: {error}"[:2000],
                    latency_ms=(time.perf_counter() - started) * 1000,
                    attempts=error.attempts,
                    **common,
                )
            else:
                latency = (time.perf_counter() - started) * 1000
                ailog.count_tokens(result.input_tokens + result.output_tokens)
                interaction = ailog.record(
                    provider=provider.name,
                    model_requested=requested,
                    model_returned=result.model,
                    response=result.text,
                    tool_calls=_tool_calls(result),
                    finish_reason=result.finish_reason,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    latency_ms=latency,
                    confidence=result.confidence,
                    cost=ailog.cost_of(
                        result.model or requested, result.input_tokens, result.output_tokens
                    ),
                    outcome=_outcome_of(result, False),
                    attempts=result.attempts,
                    **common,
                )
                return Completed(result, interaction, provider.name)
        if not fallback_to_local:
            return Completed(None, failed, provider.name)
        fallback = True
        provider = LocalProvider()
    started = time.perf_counter()
    result = provider.complete(request, timeout_s=settings.AI_TIMEOUT_S)
    interaction = ailog.record(
        provider=provider.name,
        model_requested=request.model or "",
        model_returned=result.model,
        model_version=model_version,
        response=result.text or json.dumps(_tool_calls(result)),
        tool_calls=_tool_calls(result),
        finish_reason=result.finish_reason,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        latency_ms=(time.perf_counter() - started) * 1000,
        confidence=result.confidence,
        outcome=_outcome_of(result, fallback),
        **common,
    )
    return Completed(result, interaction, provider.name)


def record_refusal(*, feature: str, user, reason: str, ticket=None, prompt: str = ""):
    """A call refused before any provider ran (permission, rate limit): on record too."""
    return ailog.record(
        feature=feature,
        provider="none",
        user=user,
        ticket=ticket,
        prompt=prompt,
        outcome=Outcome.REFUSED_PERMISSION,
        error=reason,
        attempts=0,
    )
