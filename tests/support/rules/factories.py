"""Rules made the way leads make them: through the services."""

from support.models.rules import RuleKind
from support.rules import engine, services


def make_trigger(*, by, actions, conditions=(), events=("updated",), enabled=True, **extra):
    data = {
        "name": extra.pop("name", "A trigger"),
        "events": list(events),
        "conditions": list(conditions),
        "actions": list(actions),
        "enabled": enabled,
        **extra,
    }
    return services.create_rule(by=by, kind=RuleKind.TRIGGER, data=data)


def make_automation(*, by, actions, anchor, after_minutes, conditions=(), enabled=True, **extra):
    data = {
        "name": extra.pop("name", "An automation"),
        "anchor": anchor,
        "after_minutes": after_minutes,
        "conditions": list(conditions),
        "actions": list(actions),
        "enabled": enabled,
        **extra,
    }
    return services.create_rule(by=by, kind=RuleKind.AUTOMATION, data=data)


def drain(limit: int = 50) -> int:
    """Work trigger runs until none is due, as the worker would after each commit."""
    done = 0
    for _ in range(limit):
        swept = engine.run_pending()
        if not swept.done and not swept.retrying:
            return done
        done += swept.done
    return done
