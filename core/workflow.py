"""State machines as data: one table of (from, to, who may) per domain object.

A domain declares its machine once, next to its models:

    TICKET = StateMachine("ticket", Status, [
        Transition("open", "resolved", {STAFF}),
        Transition("resolved", "closed", {STAFF, CUSTOMER}),
    ])

and its services call `TICKET.check(current, target, party=STAFF)` before changing a status.
A refused move raises `TransitionRefused`, which the one API exception handler turns into a 409
whose body names the allowed targets. Forms and serializers ask `allowed(...)` for the choices
they offer, and `manage.py document_workflows` prints every registered table into
`docs/state-machines.md` (a test keeps that file equal to the tables).

"Who may" is a party (a role in the transition, not a Django group): the domain maps its users
to parties (support: staff, the ticket's customer, the system acting for a job).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import Conflict

STAFF = "staff"
CUSTOMER = "customer"
SYSTEM = "system"


class TransitionRefused(Conflict):
    """The object cannot go from its status to the one asked for (HTTP 409, `allowed` listed)."""

    code = "invalid_transition"


class UnknownState(Conflict):
    code = "invalid_status"


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    parties: frozenset[str]

    def __init__(self, source: str, target: str, parties: Iterable[str]):
        object.__setattr__(self, "source", str(source))
        object.__setattr__(self, "target", str(target))
        object.__setattr__(self, "parties", frozenset(parties))


_registry: dict[str, StateMachine] = {}


class StateMachine:
    def __init__(self, name: str, states, transitions: Iterable[Transition], *, noun: str = ""):
        """`states` is the TextChoices of the status field; every transition must name two."""
        self.name = name
        self.noun = noun or name
        self.states = [str(value) for value in states.values]
        self.labels = dict(zip(self.states, states.labels, strict=True))
        self.transitions = tuple(transitions)
        for t in self.transitions:
            for state in (t.source, t.target):
                if state not in self.states:
                    raise ValueError(f"{name}: {state!r} is not a state of {states.__name__}")
        if name in _registry:
            raise ValueError(f"A state machine called {name!r} is already registered")
        _registry[name] = self

    def allowed(self, current: str, *, party: str) -> list[str]:
        """The targets `party` may move an object in `current` to, sorted."""
        return sorted(
            {t.target for t in self.transitions if t.source == current and party in t.parties}
        )

    def targets_by_source(self, *, party: str) -> dict[str, frozenset[str]]:
        return {state: frozenset(self.allowed(state, party=party)) for state in self.states}

    def check(self, current: str, target: str, *, party: str) -> None:
        """Raise `TransitionRefused` naming the allowed targets unless current -> target is
        open to `party`."""
        if target not in self.states:
            raise UnknownState(f"Unknown status {target!r}.")
        allowed = self.allowed(current, party=party)
        if target not in allowed:
            names = ", ".join(allowed) or f"none (the {self.noun} is final)"
            raise TransitionRefused(
                f"A {self.noun} cannot go from {current} to {target}. Allowed: {names}.",
                extra={"status": current, "allowed": allowed},
            )

    def as_markdown(self) -> str:
        parties = sorted({p for t in self.transitions for p in t.parties})
        lines = [
            f"## {self.name}",
            "",
            "| from | to | " + " | ".join(parties) + " |",
            "|---|---|" + "---|" * len(parties),
        ]
        for t in sorted(self.transitions, key=lambda t: (self.states.index(t.source), t.target)):
            marks = " | ".join("yes" if p in t.parties else "" for p in parties)
            lines.append(f"| {t.source} | {t.target} | {marks} |")
        final = [s for s in self.states if not any(t.source == s for t in self.transitions)]
        if final:
            lines += ["", "Final: " + ", ".join(final) + "."]
        return "\n".join(lines) + "\n"


def registered() -> list[StateMachine]:
    return [_registry[name] for name in sorted(_registry)]


def document() -> str:
    """The text of `docs/state-machines.md`: every registered machine's table."""
    head = (
        "# State machines\n\n"
        "Generated from the tables in the code by `manage.py document_workflows`; "
        "a test fails when this file and the tables disagree.\n"
        "A party is who makes the move: staff (agents, leads, admins), the object's customer, "
        "or the system (a job, a merge).\n"
    )
    return head + "".join("\n" + machine.as_markdown() for machine in registered())
