"""Running incidents: every write goes through here, with its audit event, in one transaction.

Each change that the public status page shows bumps its cache version when it commits
(`statuspage.invalidate`), so the page is rebuilt once after a change and never in between.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError
from core.numbering import daily_number
from core.roles import is_staff_member

from . import statuspage
from .models import (
    ACTIVE_STATUSES,
    INCIDENT_STATES,
    STATE_RANK,
    TARGETS,
    Component,
    ComponentEvent,
    ComponentState,
    Incident,
    IncidentComponent,
    IncidentEvent,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    Status,
)
from .permissions import can_manage_components, can_run
from .subscribers import notify_subscribers
from .webhooks import on_incident, on_maintenance
from .workflow import INCIDENT, STAFF

Kind = IncidentEvent.Kind

EDITABLE = (
    "title",
    "description",
    "severity",
    "category",
    "impact",
    "affected_systems",
    "affected_services",
    "affected_customers",
    "is_public",
    "commander",
    "team",
    "reported_by",
)
MAX_LIST_ITEMS = 50
# A window's closing note ("all done", "rolled back") may come a little after it ended.
MAINTENANCE_UPDATE_GRACE = timedelta(days=1)
MAX_ITEM_LENGTH = 100


def _value(value):
    """A field's value as an audit event stores it (ids for related rows)."""
    return value.pk if hasattr(value, "pk") else value


def _snapshot(incident: Incident) -> dict:
    return {
        name: _value(getattr(incident, name))
        for name in EDITABLE
        if name not in ("commander", "team")
    } | {"commander": incident.commander_id, "team": incident.team_id}


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    changed = [name for name in after if before.get(name) != after[name]]
    return {n: before.get(n) for n in changed}, {n: after[n] for n in changed}


def _clean_list(name: str, values) -> list[str]:
    items = [" ".join(str(v).split()) for v in values or ()]
    items = list(dict.fromkeys(item for item in items if item))
    if len(items) > MAX_LIST_ITEMS or any(len(item) > MAX_ITEM_LENGTH for item in items):
        raise DomainError(
            f"At most {MAX_LIST_ITEMS} {name.replace('_', ' ')} of {MAX_ITEM_LENGTH} characters.",
            errors={name: ["Too many or too long."]},
        )
    return items


def _check_commander(commander) -> None:
    if commander is not None and not (commander.is_active and is_staff_member(commander)):
        raise DomainError(
            "The commander must be an active support staff member.",
            errors={"commander": ["Not a staff member."]},
        )


def _set_targets(incident: Incident) -> None:
    response, resolution = TARGETS[incident.severity]
    incident.response_due_at = incident.detected_at + response
    incident.resolution_due_at = incident.detected_at + resolution


def lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)


def _invalidate_on_commit() -> None:
    transaction.on_commit(statuspage.invalidate)


# --- incidents ------------------------------------------------------------------------------


@transaction.atomic
def create_incident(
    *,
    by,
    title: str,
    severity: str,
    category: str,
    impact: str,
    components: dict | None = None,
    detected_at=None,
    **fields,
) -> Incident:
    """Declare an incident: numbered `INC-YYYYMMDD-NNNN`, its targets set from its severity."""
    can_run.require(by)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if not title or not title.strip():
        raise DomainError("An incident needs a title.", errors={"title": ["Required."]})
    _check_commander(fields.get("commander"))
    for name in ("affected_systems", "affected_services"):
        fields[name] = _clean_list(name, fields.get(name))
    now = timezone.now()
    detected_at = detected_at or now
    if detected_at > now:
        raise DomainError(
            "An incident cannot be detected in the future.",
            errors={"detected_at": ["In the future."]},
        )
    incident = Incident(
        number=daily_number("INC", at=now),
        title=title.strip(),
        severity=severity,
        category=category,
        impact=impact,
        created_by=by,
        detected_at=detected_at,
        **fields,
    )
    _set_targets(incident)
    incident.full_clean(exclude=["number", "components"])
    incident.save()
    audit.record(IncidentEvent, incident=incident, kind=Kind.CREATED, actor=by,
                 after={**_snapshot(incident), "status": incident.status})  # fmt: skip
    if components:
        _write_components(incident, components, by=by)
    on_incident("incident.created", incident)
    _invalidate_on_commit()
    return incident


@transaction.atomic
def update_incident(*, incident: Incident, by, **fields) -> Incident:
    """Change the incident's fields; a change of severity moves its targets."""
    can_run.require(by, incident)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "commander" in fields:
        _check_commander(fields["commander"])
    for name in ("affected_systems", "affected_services"):
        if name in fields:
            fields[name] = _clean_list(name, fields[name])
    if "title" in fields:
        if not fields["title"] or not fields["title"].strip():
            raise DomainError("An incident needs a title.", errors={"title": ["Required."]})
        fields["title"] = fields["title"].strip()
    incident = lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident cannot be changed.", code="incident_closed")
    before = _snapshot(incident)
    for name, value in fields.items():
        setattr(incident, name, value)
    if incident.severity != before["severity"]:
        _set_targets(incident)
    incident.full_clean(exclude=["number", "components"])
    incident.save()
    old, new = _changes(before, _snapshot(incident))
    if new:
        audit.record(IncidentEvent, incident=incident, kind=Kind.UPDATED, actor=by,
                     before=old, after=new)  # fmt: skip
        on_incident("incident.updated", incident, before=old, after=new)
        _invalidate_on_commit()
    return incident


@transaction.atomic
def acknowledge(*, incident: Incident, by, commander=None) -> Incident:
    """Someone has taken it: acknowledged now (MTTA stops), with a commander (the acknowledger
    unless another is named). Once only: a second acknowledgement is a 409."""
    can_run.require(by, incident)
    commander = commander or by
    _check_commander(commander)
    incident = lock(incident)
    if incident.acknowledged_at is not None:
        raise Conflict(f"{incident.number} was already acknowledged.", code="already_acknowledged")
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident cannot be acknowledged.", code="incident_closed")
    before = {"acknowledged_at": None, "commander": incident.commander_id}
    incident.acknowledged_at = timezone.now()
    incident.commander = commander
    incident.save(update_fields=["acknowledged_at", "commander", "updated_at"])
    audit.record(IncidentEvent, incident=incident, kind=Kind.ACKNOWLEDGED, actor=by,
                 before=before, after={"acknowledged_at": incident.acknowledged_at.isoformat(),
                                       "commander": commander.pk})  # fmt: skip
    on_incident("incident.acknowledged", incident)
    return incident


def _postmortem_missing(incident: Incident) -> bool:
    if not incident.postmortem_required:
        return False
    postmortem = getattr(incident, "postmortem", None)
    return postmortem is None or not postmortem.is_complete


@transaction.atomic
def change_status(
    *, incident: Incident, by, to: str, message: str = "", public: bool = True
) -> Incident:
    """Move the incident along `INCIDENT` (409 naming the allowed targets otherwise) and add
    the move to its timeline, with `message` if given.

    Moving to the status it already has changes nothing (a retried request is harmless).
    Resolving stamps resolved-at, frees its components and answers its open linked tickets;
    reopening clears resolved-at; closing a critical or high incident needs its post-mortem.
    """
    can_run.require(by, incident)
    incident = lock(incident)
    if incident.status == to:
        return incident
    INCIDENT.check(incident.status, to, party=STAFF)
    if to == Status.CLOSED and _postmortem_missing(incident):
        raise Conflict(
            f"A {incident.get_severity_display().lower()} incident needs a complete "
            "post-mortem before it can be closed.",
            code="postmortem_required",
        )
    now = timezone.now()
    before = incident.status
    incident.status = to
    if to == Status.RESOLVED:
        incident.resolved_at = now
    elif to in ACTIVE_STATUSES:
        incident.resolved_at = None
    if to == Status.CLOSED:
        incident.closed_at = now
    incident.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    entry = IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.STATUS_CHANGE,
        status=to,
        body=message.strip(),
        is_public=public,
        author=by,
        created_at=now,
    )
    audit.record(IncidentEvent, incident=incident, kind=Kind.STATUS_CHANGED, actor=by,
                 before={"status": before}, after={"status": to},
                 metadata={"public": public}, at=now)  # fmt: skip
    if (before in ACTIVE_STATUSES) != (to in ACTIVE_STATUSES):
        refresh_component_states(incident.affected.values_list("component_id", flat=True))
    if to == Status.RESOLVED:
        from .tickets import answer_linked_tickets

        answer_linked_tickets(incident, by=by)
    change = {"before": {"status": before}, "after": {"status": to}}
    if public and entry.body:
        change["message"] = entry.body
    on_incident("incident.status_changed", incident, **change)
    if to == Status.RESOLVED:
        on_incident("incident.resolved", incident)
    if public:
        notify_subscribers(entry)
    _invalidate_on_commit()
    return incident


@transaction.atomic
def post_update(*, incident: Incident, by, body: str, public: bool = False) -> IncidentUpdate:
    """A message on the timeline: internal (staff only) unless `public`."""
    can_run.require(by, incident)
    body = (body or "").strip()
    if not body:
        raise DomainError("An update needs some text.", errors={"body": ["Required."]})
    incident = lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident takes no more updates.", code="incident_closed")
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=incident.status,
        body=body,
        is_public=public,
        author=by,
        created_at=timezone.now(),
    )
    audit.record(IncidentEvent, incident=incident, kind=Kind.UPDATE_POSTED, actor=by,
                 after={"update": update.pk, "public": public}, immediate=True)  # fmt: skip
    if public:
        notify_subscribers(update)
        on_incident(
            "incident.update_posted",
            incident,
            update={"id": update.pk, "body": update.body, "created_at": update.created_at},
        )
        _invalidate_on_commit()
    return update


# --- components ------------------------------------------------------------------------------


def _write_components(incident: Incident, states: dict, *, by) -> None:
    for state in states.values():
        if state not in INCIDENT_STATES:
            raise DomainError(
                f"An incident puts a component in one of {', '.join(INCIDENT_STATES)}.",
                errors={"components": [f"{state!r} is not one of them."]},
            )
    current = {link.component_id: link for link in incident.affected.all()}
    wanted = {component.pk: state for component, state in states.items()}
    before = {str(pk): link.state for pk, link in sorted(current.items())}
    IncidentComponent.objects.filter(incident=incident).exclude(component__in=wanted).delete()
    for pk, state in wanted.items():
        link = current.get(pk)
        if link is None:
            IncidentComponent.objects.create(incident=incident, component_id=pk, state=state)
        elif link.state != state:
            link.state = state
            link.save(update_fields=["state"])
    after = {str(pk): state for pk, state in sorted(wanted.items())}
    if before != after:
        audit.record(IncidentEvent, incident=incident, kind=Kind.COMPONENTS_CHANGED, actor=by,
                     before={"components": before}, after={"components": after})  # fmt: skip
        if incident.status in ACTIVE_STATUSES:
            refresh_component_states({*current, *wanted})


@transaction.atomic
def set_components(*, incident: Incident, by, states: dict) -> Incident:
    """The components the incident affects, each with the state it puts it in (a full set:
    components left out are no longer affected)."""
    can_run.require(by, incident)
    incident = lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident cannot be changed.", code="incident_closed")
    _write_components(incident, states, by=by)
    _invalidate_on_commit()
    return incident


def refresh_component_states(component_ids) -> None:
    """Each component's state becomes the worst its active incidents put it in (operational
    when none does). Components are locked in id order, so two refreshes cannot deadlock."""
    ids = sorted(set(component_ids))
    if not ids:
        return
    components = list(Component.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    worst: dict[int, str] = {}
    links = IncidentComponent.objects.filter(
        component__in=ids, incident__status__in=ACTIVE_STATUSES
    ).values_list("component_id", "state")
    for pk, state in links:
        if STATE_RANK[state] > STATE_RANK[worst.get(pk, ComponentState.OPERATIONAL)]:
            worst[pk] = state
    for component in components:
        state = worst.get(component.pk, ComponentState.OPERATIONAL)
        if component.state != state:
            before = component.state
            component.state = state
            component.save(update_fields=["state", "updated_at"])
            audit.record(
                ComponentEvent,
                component=component,
                kind=ComponentEvent.Kind.STATE_CHANGED,
                before={"state": before},
                after={"state": state},
            )
    _invalidate_on_commit()


COMPONENT_FIELDS = ("name", "description", "group", "order")


@transaction.atomic
def create_component(*, by, name: str, **fields) -> Component:
    can_manage_components.require(by)
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    name = " ".join((name or "").split())
    if Component.objects.filter(name__iexact=name).exists():
        raise DomainError("A component has that name.", errors={"name": ["Taken."]})
    component = Component(name=name, **fields)
    component.full_clean()
    component.save()
    audit.record(ComponentEvent, component=component, kind=ComponentEvent.Kind.CREATED, actor=by,
                 after={n: getattr(component, n) for n in COMPONENT_FIELDS})  # fmt: skip
    _invalidate_on_commit()
    return component


@transaction.atomic
def update_component(*, component: Component, by, **fields) -> Component:
    can_manage_components.require(by, component)
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    component = Component.objects.select_for_update().get(pk=component.pk)
    if "name" in fields:
        fields["name"] = " ".join((fields["name"] or "").split())
        taken = Component.objects.filter(name__iexact=fields["name"]).exclude(pk=component.pk)
        if taken.exists():
            raise DomainError("A component has that name.", errors={"name": ["Taken."]})
    before = {n: getattr(component, n) for n in COMPONENT_FIELDS}
    for name, value in fields.items():
        setattr(component, name, value)
    component.full_clean()
    component.save()
    old, new = _changes(before, {n: getattr(component, n) for n in COMPONENT_FIELDS})
    if new:
        audit.record(ComponentEvent, component=component, kind=ComponentEvent.Kind.UPDATED,
                     actor=by, before=old, after=new)  # fmt: skip
        _invalidate_on_commit()
    return component


# --- maintenance -----------------------------------------------------------------------------


@transaction.atomic
def schedule_maintenance(
    *, by, title: str, starts_at, ends_at, components=(), description: str = ""
) -> Maintenance:
    """A planned window; its components show under maintenance while it runs."""
    can_manage_components.require(by)
    if not title or not title.strip():
        raise DomainError("Maintenance needs a title.", errors={"title": ["Required."]})
    if ends_at <= starts_at:
        raise DomainError(
            "Maintenance must end after it starts.", errors={"ends_at": ["Before the start."]}
        )
    limit = settings.INCIDENTS_MAINTENANCE_MAX_DAYS
    if (ends_at - starts_at).days >= limit:
        raise DomainError(
            f"A maintenance window lasts less than {limit} days.",
            errors={"ends_at": ["Too long."]},
        )
    maintenance = Maintenance.objects.create(
        title=title.strip(),
        description=(description or "").strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=by,
    )
    maintenance.components.set(components)
    on_maintenance("maintenance.scheduled", maintenance)
    _invalidate_on_commit()
    return maintenance


@transaction.atomic
def cancel_maintenance(*, maintenance: Maintenance, by) -> Maintenance:
    can_manage_components.require(by)
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    if maintenance.cancelled_at is not None:
        return maintenance
    if maintenance.ends_at <= timezone.now():
        raise Conflict("That maintenance is over.", code="maintenance_over")
    maintenance.cancelled_at = timezone.now()
    maintenance.save(update_fields=["cancelled_at"])
    on_maintenance("maintenance.cancelled", maintenance)
    _invalidate_on_commit()
    return maintenance


@transaction.atomic
def post_maintenance_update(*, maintenance: Maintenance, by, body: str) -> MaintenanceUpdate:
    """A public note on a window that is not cancelled and has not been over for a day; shown
    on the status page and e-mailed to its components' subscribers (through the outbox)."""
    can_manage_components.require(by)
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    text = (body or "").strip()
    if not text:
        raise DomainError("An update needs some text.", errors={"body": ["Required."]})
    if maintenance.cancelled_at is not None:
        raise Conflict("That maintenance was cancelled.", code="maintenance_cancelled")
    if maintenance.ends_at <= timezone.now() - MAINTENANCE_UPDATE_GRACE:
        raise Conflict("That maintenance is long over.", code="maintenance_over")
    update = MaintenanceUpdate.objects.create(maintenance=maintenance, body=text, author=by)
    from .subscribers import notify_maintenance_subscribers

    notify_maintenance_subscribers(update)
    _invalidate_on_commit()
    return update


# --- post-mortems ----------------------------------------------------------------------------

POSTMORTEM_TEXT = ("summary", "root_cause", "contributing_factors", "lessons")
POSTMORTEM_NEEDS = ("summary", "root_cause", "lessons")


@transaction.atomic
def save_postmortem(*, incident: Incident, by, actions=None, complete=None, **fields):
    """Write the incident's post-mortem (created on first save). `actions` replaces the action
    items when given; `complete=True` marks it complete, which needs a summary, a root cause and
    the lessons, and only once the incident is resolved; `complete=False` reopens it."""
    from .models import ActionItem, PostMortem

    can_run.require(by, incident)
    unknown = set(fields) - set(POSTMORTEM_TEXT)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    incident = lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("A closed incident's post-mortem is final.", code="incident_closed")
    postmortem, _ = PostMortem.objects.get_or_create(incident=incident)
    before = {name: getattr(postmortem, name) for name in POSTMORTEM_TEXT}
    for name, value in fields.items():
        setattr(postmortem, name, (value or "").strip())
    if actions is not None:
        for item in actions:
            owner = item.get("owner")
            if owner is not None:
                _check_commander(owner)
        postmortem.actions.all().delete()
        ActionItem.objects.bulk_create(
            [
                ActionItem(
                    postmortem=postmortem,
                    description=item["description"].strip(),
                    owner=item.get("owner"),
                    due_on=item.get("due_on"),
                    done=item.get("done", False),
                )
                for item in actions
            ]
        )
    if complete is True and postmortem.completed_at is None:
        if incident.status != Status.RESOLVED:
            raise Conflict(
                "A post-mortem is completed once the incident is resolved.",
                code="not_resolved",
            )
        missing = [name for name in POSTMORTEM_NEEDS if not getattr(postmortem, name)]
        if missing:
            raise DomainError(
                "A complete post-mortem needs a summary, a root cause and the lessons.",
                errors={name: ["Required to complete."] for name in missing},
            )
        postmortem.completed_at, postmortem.completed_by = timezone.now(), by
    elif complete is False:
        postmortem.completed_at, postmortem.completed_by = None, None
    postmortem.full_clean(exclude=["incident"])
    postmortem.save()
    after = {name: getattr(postmortem, name) for name in POSTMORTEM_TEXT}
    old, new = _changes(before, after)
    audit.record(IncidentEvent, incident=incident, kind=Kind.POSTMORTEM_SAVED, actor=by,
                 before=old, after={**new, "complete": postmortem.is_complete,
                                    "actions": postmortem.actions.count()})  # fmt: skip
    return postmortem
