"""The privacy registry: each app says what it holds about a person, and how to export, erase and
age it out. The `privacy` app (above every domain) runs requests through this registry only, so
a new app cannot be forgotten: `tests/privacy/test_registry.py` fails while any model of any
project app is neither covered by a registered part nor exempted with a reason.

An app contributes in its own `privacy.py`, imported from its AppConfig.ready():

    privacy.register(privacy.Part(
        name="bookings",
        models=("bookings.Booking", "bookings.Review", ...),
        export=export_bookings,      # (subject, archive) -> None
        erase=erase_bookings,        # (subject, holds) -> {"what": count}
        blocks=held_bookings,        # optional: (subject, holds) -> [reason, ...]
    ))
    privacy.exempt("bookings.FollowUpCheck", "scheduled work: ids and times only")
    privacy.register_retention(privacy.RetentionKind(key="bookings.reviews", ...))

Export writes records (plain JSON-able dicts) and files into the archive. Records must not
name anyone else: other people appear as their role ("agent", "customer"), never by name,
address or id. Erasure anonymises in place what statistics, SLA reports and the audit trail
need (the rows stay, with their times, states and counts) and deletes what they do not; it
returns what it erased as counts per kind, never the values.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import models

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"


def erased_email(tag: str | int) -> str:
    """The address an erased person's rows carry: unique per person, identifying no one."""
    return f"erased-{tag}@{ERASED_DOMAIN}"


@dataclass(frozen=True)
class Subject:
    """The person a request is about: an account, or an address that wrote without one."""

    email: str
    user_id: int | None = None
    name: str = ""
    phone: str = ""
    is_staff: bool = False
    # Internal notes go into an export only for a staff member's request a lead approved.
    include_internal: bool = False
    # The tag the erased placeholders carry (the request's number).
    tag: str = ""

    @classmethod
    def of_user(cls, user, **options) -> "Subject":
        from .roles import is_staff_member

        return cls(
            email=user.email.lower(),
            user_id=user.pk,
            name=user.full_name,
            phone=user.phone,
            is_staff=is_staff_member(user),
            **options,
        )

    def identifiers(self) -> list[str]:
        """The strings that identify the person, longest first (what `scrub` replaces)."""
        found = {self.email}
        if self.name and len(self.name) >= 3:
            found.add(self.name)
        if self.phone and len(re.sub(r"\D", "", self.phone)) >= 6:
            found.add(self.phone)
        return sorted((s for s in found if s), key=len, reverse=True)

    @property
    def erased_email(self) -> str:
        return erased_email(self.tag or self.user_id or "contact")


def scrub(text: str, subject: Subject) -> str:
    """`text` with every occurrence of the subject's address, name and phone replaced."""
    if not text:
        return text
    for value in subject.identifiers():
        text = re.sub(re.escape(value), ERASED, text, flags=re.IGNORECASE)
    return text


def scrub_json(value, subject: Subject):
    """`scrub` through a JSON value (dicts, lists, strings)."""
    if isinstance(value, str):
        return scrub(value, subject)
    if isinstance(value, list):
        return [scrub_json(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v, subject) for k, v in value.items()}
    return value


def iso(value) -> str | None:
    """A datetime or date as an export writes it (ISO 8601), None for no value."""
    return value.isoformat() if value else None


def scrub_rows(
    queryset: models.QuerySet,
    fields: Iterable[str],
    subject: "Subject | Callable[[models.Model], Subject]",
    *,
    load: Iterable[str] = (),
    chunk_size: int = 500,
) -> list:
    """Scrub the subject's identifiers out of these fields of every row, in place.

    Text fields go through `scrub`, JSON ones through `scrub_json`; only the rows where
    something changed are written, one UPDATE per `chunk_size` of them (`core.bulk.update_rows`:
    no signal, no `updated_at`, append-only models included). `subject` may
    be a function of the row (retention: each ticket's own customer; `load` names the other
    columns it reads). Returns the primary keys of the rows changed.
    """
    from .bulk import update_rows

    fields = tuple(fields)
    person = subject if callable(subject) else (lambda row: subject)
    changed, pending = [], []
    for row in queryset.only("pk", *load, *fields).iterator(chunk_size=chunk_size):
        who = person(row)
        for name in fields:
            value = getattr(row, name)
            new = scrub(value, who) if isinstance(value, str) else scrub_json(value, who)
            if new != value:
                setattr(row, name, new)
                if not pending or pending[-1] is not row:
                    pending.append(row)
        if len(pending) >= chunk_size:
            update_rows(queryset.model, pending, list(fields))
            changed += [r.pk for r in pending]
            pending = []
    if pending:
        update_rows(queryset.model, pending, list(fields))
        changed += [r.pk for r in pending]
    return changed


@dataclass(frozen=True)
class Holds:
    """What legal holds protect: erasure and retention leave these alone."""

    organization_ids: frozenset[int] = frozenset()
    ticket_ids: frozenset[int] = frozenset()

    def held_filter(self, prefix: str = "") -> models.Q:
        """A Q matching the tickets (through `prefix`, e.g. "ticket__") under a hold."""
        q = models.Q(**{f"{prefix}pk__in": []})
        if self.ticket_ids:
            q |= models.Q(**{f"{prefix}pk__in": self.ticket_ids})
        if self.organization_ids:
            q |= models.Q(**{f"{prefix}organization_id__in": self.organization_ids})
        return q

    def ticket_filter(self, prefix: str = "") -> models.Q:
        """A Q matching the tickets (through `prefix`) under no hold."""
        if not (self.ticket_ids or self.organization_ids):
            return models.Q()
        return ~self.held_filter(prefix)


class Archive:
    """What an export part writes into: records per section, and files."""

    def __init__(self):
        self.sections: dict[str, list[dict]] = {}
        self.files: list[tuple[str, object, str]] = []  # (archive path, storage, stored name)

    def add(self, section: str, records: Iterable[dict]) -> None:
        self.sections.setdefault(section, []).extend(records)

    def add_file(self, section: str, name: str, storage, stored_name: str) -> str:
        """Put a stored file into the archive under files/<section>/; returns its path there."""
        path = f"files/{section}/{len(self.files) + 1:05d}-{_safe(name)}"
        self.files.append((path, storage, stored_name))
        return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-120:] or "file"


@dataclass(frozen=True)
class Part:
    name: str
    models: tuple[str, ...]
    export: Callable[[Subject, Archive], None] | None = None
    erase: Callable[[Subject, Holds], dict[str, int]] | None = None
    # Reasons this person cannot be erased now (a held ticket of theirs): erasure refuses.
    blocks: Callable[[Subject, Holds], list[str]] | None = None
    order: int = 100  # erasure runs in this order (files and children before their parents)


@dataclass(frozen=True)
class RetentionKind:
    """A kind of data that ages out: which rows are due, and what each action does to them.

    `due(cutoff, holds)` returns a queryset of the rows older than `cutoff` that no hold
    protects and that the action has not already been applied to; `apply(action, pks)` deletes
    or anonymises exactly those rows and returns how many it changed.
    """

    key: str
    label: str
    actions: tuple[str, ...]
    default_days: int
    default_action: str
    due: Callable[[datetime, Holds, str], models.QuerySet]
    apply: Callable[[str, list[int]], int]


_PARTS: dict[str, Part] = {}
_EXEMPT: dict[str, str] = {}
_RETENTION: dict[str, RetentionKind] = {}


def register(part: Part) -> Part:
    _PARTS[part.name] = part
    return part


def exempt(labels: str | Iterable[str], reason: str) -> None:
    """Models that hold nothing about a person (or only ids and times), with the reason."""
    for label in [labels] if isinstance(labels, str) else labels:
        _EXEMPT[label] = reason


def register_retention(kind: RetentionKind) -> RetentionKind:
    _RETENTION[kind.key] = kind
    return kind


def parts() -> list[Part]:
    return sorted(_PARTS.values(), key=lambda p: (p.order, p.name))


def retention_kinds() -> list[RetentionKind]:
    return sorted(_RETENTION.values(), key=lambda k: k.key)


def retention_kind(key: str) -> RetentionKind:
    return _RETENTION[key]


def exemptions() -> dict[str, str]:
    return dict(_EXEMPT)


@dataclass
class Coverage:
    covered: dict[str, str] = field(default_factory=dict)  # label -> part
    exempt: dict[str, str] = field(default_factory=dict)  # label -> reason
    missing: list[str] = field(default_factory=list)


def coverage(app_labels: Iterable[str]) -> Coverage:
    """Which concrete models of these apps a part covers, which are exempt, which are missing."""
    result = Coverage()
    for part in _PARTS.values():
        for label in part.models:
            result.covered[label] = part.name
    for app_label in app_labels:
        for model in apps.get_app_config(app_label).get_models():
            label = model._meta.label
            if label in result.covered:
                continue
            if label in _EXEMPT:
                result.exempt[label] = _EXEMPT[label]
            else:
                result.missing.append(label)
    return result


# Who hears of audit rows anonymised in place (the privacy app's hash chain seals them again).
_SCRUB_LISTENERS: list[Callable[[type[models.Model], list[int]], None]] = []


def on_audit_scrubbed(listener: Callable[[type[models.Model], list[int]], None]) -> None:
    if listener not in _SCRUB_LISTENERS:
        _SCRUB_LISTENERS.append(listener)


def audit_scrubbed(model: type[models.Model], pks: list[int]) -> None:
    for listener in _SCRUB_LISTENERS:
        listener(model, pks)


# Who hears of audit rows about to be deleted on purpose (the hash chain records them retired).
_REMOVAL_LISTENERS: list[Callable[[type[models.Model], list[int]], None]] = []


def on_audit_removed(listener: Callable[[type[models.Model], list[int]], None]) -> None:
    if listener not in _REMOVAL_LISTENERS:
        _REMOVAL_LISTENERS.append(listener)


def audit_removed(model: type[models.Model], pks: list[int]) -> None:
    """Call before deleting audit rows on purpose (in the same transaction)."""
    for listener in _REMOVAL_LISTENERS:
        listener(model, pks)
