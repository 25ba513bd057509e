"""Server-side tools with permissions: a registry each app fills with the tools over its data.

A tool declares a JSON schema for its arguments, who may call it at all (`permission`), a risk
class, a timeout and a per-user rate limit. It runs **as the caller**: its function receives the
caller and must find objects only through the caller's scope (a visitor's booking lookup sees
their own bookings; anything else is "not found", exactly as for a number that does not exist).
Tools run only when a person calls them (`POST /api/v1/ai/tools/{tool}/`): a model's request
for a tool is recorded and returned, never executed, so nothing a customer writes into a
prompt can turn a tool on. `approval_required` tools return a proposal instead of acting.

    # bookings/apps.py, in ready():
    tools.register(tools.Tool(name="booking_lookup", run=lookup, permission=can_use_bookings,
                              schema={...}, risk=tools.Risk.READ, description="..."))

Every call, refused or not, leaves an interaction row and a tool-call row.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import jsonschema
from django.core.cache import cache
from django.db import connection, transaction

from core.errors import DomainError, NotAllowed, NotFound

from . import logging as ailog
from .models import AIToolCall, Outcome


class Risk:
    READ = "read"
    LOW_IMPACT_WRITE = "low_impact_write"
    APPROVAL_REQUIRED = "approval_required"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict
    run: Callable[..., dict]  # (user, **arguments) -> result (plain data, minimal fields)
    permission: Callable[..., bool]  # (user) -> may call this tool at all
    risk: str = Risk.READ
    timeout_s: float = 2.0
    rate_per_minute: int = 30


REGISTRY: dict[str, Tool] = {}


class RateLimited(DomainError):
    status_code = 429
    code = "throttled"


def register(tool: Tool) -> Tool:
    jsonschema.Draft202012Validator.check_schema(tool.schema)
    REGISTRY[tool.name] = tool
    return tool


def tools_for(user) -> list[Tool]:
    """The tools this caller may use, by name (what a model may be offered)."""
    return [REGISTRY[name] for name in sorted(REGISTRY) if REGISTRY[name].permission(user)]


def _within_rate(tool: Tool, user) -> bool:
    window = int(time.time() // 60)
    key = f"assist:tool:{tool.name}:{user.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key) <= tool.rate_per_minute
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        return True


def _record(
    tool_name, *, user, arguments, decision, started, result="", error="", outcome=Outcome.SUCCESS
):
    latency = (time.perf_counter() - started) * 1000
    interaction = ailog.record(
        feature=f"tool:{tool_name}",
        provider="tool",
        user=user,
        prompt=ailog.redact(str(arguments)),
        response=str(result)[:2000],
        latency_ms=latency,
        outcome=outcome,
        error=error,
        tool_calls=[{"name": tool_name, "arguments": arguments, "decision": decision}],
    )
    AIToolCall.objects.create(
        interaction=interaction,
        tool=tool_name,
        arguments=arguments if isinstance(arguments, dict) else {},
        caller=user if getattr(user, "is_authenticated", False) else None,
        decision=decision,
        result_summary=str(result)[:500],
        latency_ms=latency,
        error=error,
    )
    return interaction


def run_tool(name: str, *, user, arguments) -> dict:
    """Run `name` as `user` with `arguments`; raises NotFound (unknown tool, or an object out
    of the caller's reach), NotAllowed, DomainError (invalid arguments) or RateLimited."""
    started = time.perf_counter()
    tool = REGISTRY.get(name)
    if tool is None or not tool.permission(user):
        # A tool the caller may not use is as absent as one that does not exist.
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="unknown_or_denied",
            started=started,
            error="no such tool for this caller",
            outcome=Outcome.REFUSED_PERMISSION,
        )
        raise NotFound("No such tool.")
    try:
        jsonschema.validate(arguments, tool.schema, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as error:
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="invalid",
            started=started,
            error=error.message,
            outcome=Outcome.ERROR,
        )
        raise DomainError(
            f"Invalid arguments: {error.message}", errors={"arguments": [error.message]}
        ) from error
    if not _within_rate(tool, user):
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="rate_limited",
            started=started,
            outcome=Outcome.REFUSED_PERMISSION,
            error="rate limit",
        )
        raise RateLimited(f"At most {tool.rate_per_minute} calls of {name} a minute.")
    if tool.risk == Risk.APPROVAL_REQUIRED:
        result = {"status": "needs_approval", "tool": name, "arguments": arguments}
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="proposed",
            started=started,
            result=result,
        )
        return result
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The tool's queries end at its timeout (they are all it does).
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(int(tool.timeout_s * 1000))],
                    )
            result = tool.run(user, **arguments)
    except NotFound as error:
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="not_found",
            started=started,
            error=error.message,
            outcome=Outcome.SUCCESS,
        )
        raise
    except (NotAllowed, DomainError) as error:
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="refused",
            started=started,
            error=error.message,
            outcome=Outcome.REFUSED_PERMISSION,
        )
        raise
    except Exception as error:
        outcome = Outcome.TIMEOUT if "statement timeout" in str(error) else Outcome.ERROR
        _record(
            name,
            user=user,
            arguments=arguments,
            decision="failed",
            started=started,
            error=f"{error.__class__.__name__}: {error}"[:500],
            outcome=outcome,
        )
        raise DomainError(f"The tool {name} failed.", code="tool_failed") from error
    _record(
        name, user=user, arguments=arguments, decision="allowed", started=started, result=result
    )
    return result
