"""Actions a rule may take: checked against the author's rights, planned, then executed.

An action is `{"type": ..., "value": ...}`. `plan(action, facts)` says what it would do to a
ticket (an effect, or None when it would change nothing); the dry run shows these plans and a
real run executes the same plans and records them on the firing, so the two cannot differ.

Field-setting actions (priority, category, team, tags) can apply to a ticket being created in
its own transaction (`apply_to_new`); every other action needs the ticket saved and runs after
the commit. Every action acts as the rule's author through the same services a person uses,
so a rule does only what its author may.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.errors import DomainError, NotAllowed
from core.models import User
from core.permissions import allowed

from .. import permissions
from ..models import Category, ResponseTemplate, Team
from ..models.choices import Priority, Status
from ..workflow import check_transition
from .conditions import Facts

FIELD_SETTING = ("set_priority", "set_category", "set_team", "add_tags", "remove_tags")
TYPES = {
    "set_priority": "Set priority",
    "set_category": "Set category (slug)",
    "set_team": "Set team (id)",
    "add_tags": "Add tags",
    "remove_tags": "Remove tags",
    "set_status": "Set status",
    "assign": "Assign through the team's strategy",
    "reply_template": "Reply to the customer with a template (id)",
    "note_template": "Add an internal note from a template (id)",
    "notify_users": "Notify staff members (ids)",
    "notify_team": "Notify a team's members (id)",
    "notify_email": "E-mail an address",
    "notify_slack": "Post to Slack",
    "notify_teams": "Post to Microsoft Teams",
    "call_webhook": "Call a webhook subscription (id)",
}
MAX_TEXT = 2000


class RuleError(Exception):
    """A rule cannot do what it says (its author lost a right, a team is gone): disable it."""


def _bad(message: str, index: int) -> DomainError:
    return DomainError(
        message, code="invalid_rule", errors={"actions": [f"#{index + 1}: {message}"]}
    )


def _text(value, index: int, name: str, *, required=True, limit=MAX_TEXT) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise _bad(f"{name} is text of up to {limit} characters.", index)
    return value.strip()


def _id(value, index: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad("Give an id (a number).", index)
    return value


def _tags(value, index: int) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 20:
        raise _bad("Give 1 to 20 tags.", index)
    tags = sorted({_text(t, index, "A tag", limit=50).lower() for t in value})
    return tags


def _require(predicate, author, index: int) -> None:
    if author is not None and not predicate(author):
        raise NotAllowed(f"Action #{index + 1}: {predicate.message}")


def clean(actions, *, author, for_automation: bool = False) -> list[dict]:
    """The actions in canonical form; 400 for a malformed one, 403 for one the author may not.

    `author` None is the system (shipped rules, data migrations)."""
    from core.models import WebhookSubscription
    from core.webhooks import permissions as webhook_permissions

    from ..templating import validate_template_text

    if not isinstance(actions, list) or not actions:
        raise DomainError(
            "A rule needs at least one action.",
            code="invalid_rule",
            errors={"actions": ["Required."]},
        )
    if len(actions) > 20:
        raise _bad("At most 20 actions.", 20)
    cleaned = []
    for index, action in enumerate(actions):
        if not isinstance(action, dict) or action.get("type") not in TYPES:
            raise _bad(f"Each action has a type, one of: {', '.join(TYPES)}.", index)
        kind, value = action["type"], action.get("value")
        if kind == "set_priority":
            if value not in Priority.values:
                raise _bad(f"Priority is one of: {', '.join(Priority.values)}.", index)
            _require(permissions.can_change_priority, author, index)
        elif kind == "set_category":
            if not Category.objects.filter(slug=value, is_active=True).exists():
                raise _bad("No active category has this slug.", index)
            _require(permissions.can_edit, author, index)
        elif kind in ("set_team", "notify_team"):
            if not Team.objects.filter(pk=_id(value, index)).exists():
                raise _bad("No such team.", index)
            _require(
                permissions.can_edit if kind == "set_team" else permissions.can_see_agents,
                author,
                index,
            )
        elif kind in ("add_tags", "remove_tags"):
            value = _tags(value, index)
            _require(permissions.can_edit, author, index)
        elif kind == "set_status":
            if value not in Status.values:
                raise _bad(f"Status is one of: {', '.join(Status.values)}.", index)
            _require(permissions.can_work, author, index)
        elif kind == "assign":
            value = None
            _require(permissions.can_assign, author, index)
        elif kind in ("reply_template", "note_template"):
            if not ResponseTemplate.objects.filter(pk=_id(value, index)).exists():
                raise _bad("No such response template.", index)
            _require(permissions.can_use_templates, author, index)
            if author is None:
                raise _bad("A reply or note needs a rule with an author.", index)
        elif kind == "notify_users":
            if not isinstance(value, list) or not value or len(value) > 20:
                raise _bad("Give 1 to 20 user ids.", index)
            value = sorted({_id(v, index) for v in value})
            pickable = (
                permissions.pickable_escalation_users(author, None)
                if author
                else permissions.active_staff()
            )
            if pickable.filter(pk__in=value).count() != len(value):
                # The same answer for a customer's id as for a missing one.
                raise _bad("Some of these users cannot be notified.", index)
        elif kind == "notify_email":
            if not isinstance(value, dict):
                raise _bad("Give to, subject and body.", index)
            to = _text(value.get("to"), index, "to", limit=254).lower()
            try:
                validate_email(to)
            except ValidationError:
                raise _bad("to is not an e-mail address.", index) from None
            subject = _text(value.get("subject"), index, "subject", limit=200)
            body = _text(value.get("body"), index, "body")
            validate_template_text(subject + body)
            value = {"to": to, "subject": subject, "body": body}
            _require(permissions.can_see_internal, author, index)
        elif kind in ("notify_slack", "notify_teams"):
            text = value.get("text") if isinstance(value, dict) else value
            text = _text(text, index, "text")
            validate_template_text(text)
            value = {"text": text}
            _require(permissions.can_see_internal, author, index)
        elif kind == "call_webhook":
            if not WebhookSubscription.objects.filter(pk=_id(value, index), active=True).exists():
                raise _bad("No such active webhook subscription.", index)
            if author is not None:
                webhook_permissions.can_manage_webhooks.require(author)
        if (
            kind in FIELD_SETTING
            and kind not in ("add_tags", "remove_tags")
            and kind != "set_category"
        ):
            value = _id(value, index) if kind == "set_team" else value
        cleaned.append({"type": kind, "value": value})
    if for_automation and not cleaned:
        raise DomainError("An automation needs an action.", code="invalid_rule")
    return cleaned


# --- planning ---------------------------------------------------------------------------------


def plan(action: dict, facts: Facts, *, tags: set[str] | None = None) -> dict | None:
    """What `action` would do to `facts.ticket` now; None when it would change nothing."""
    ticket, kind, value = facts.ticket, action["type"], action["value"]
    if kind == "set_priority":
        return (
            None
            if ticket.priority == value
            else {"type": kind, "from": ticket.priority, "to": value}
        )
    if kind == "set_category":
        old = ticket.category.slug if ticket.category_id else None
        return None if old == value else {"type": kind, "from": old, "to": value}
    if kind == "set_team":
        return (
            None if ticket.team_id == value else {"type": kind, "from": ticket.team_id, "to": value}
        )
    if kind in ("add_tags", "remove_tags"):
        have = tags if tags is not None else facts.tag_names()
        changed = sorted(set(value) - have) if kind == "add_tags" else sorted(set(value) & have)
        return {"type": kind, "tags": changed} if changed else None
    if kind == "set_status":
        if ticket.status == value:
            return None
        try:
            check_transition(ticket.status, value, staff=True)
        except DomainError:
            return None  # not a move this ticket can make: nothing to do
        return {"type": kind, "from": ticket.status, "to": value}
    if kind == "assign":
        if ticket.assigned_to_id is not None or ticket.team_id is None:
            return None
        return {"type": kind, "team": ticket.team_id}
    if kind in ("reply_template", "note_template", "notify_team", "call_webhook"):
        return {"type": kind, "id": value}
    if kind == "notify_users":
        return {"type": kind, "users": value}
    if kind == "notify_email":
        return {"type": kind, "to": value["to"]}
    return {"type": kind}


# --- applying ---------------------------------------------------------------------------------


def apply_to_new(effect: dict, ticket, tags: set[str], objects: dict) -> None:
    """Apply a field-setting effect to a ticket not yet saved (its creating transaction)."""
    kind = effect["type"]
    if kind == "set_priority":
        ticket.priority = effect["to"]
    elif kind == "set_category":
        category = objects["categories"].get(effect["to"])
        if category is None:
            raise RuleError(f"Category {effect['to']!r} no longer exists or is inactive.")
        ticket.category = category
    elif kind == "set_team":
        team = objects["teams"].get(effect["to"])
        if team is None:
            raise RuleError(f"Team {effect['to']} no longer exists.")
        ticket.team = team
    elif kind == "add_tags":
        tags.update(effect["tags"])
    elif kind == "remove_tags":
        tags.difference_update(effect["tags"])


def _actor_required(actor, what: str):
    if actor is None:
        raise RuleError(f"{what} needs a rule with an author.")
    return actor


def execute(effect: dict, action: dict, *, ticket, actor, rule, key: str) -> None:
    """Do one planned effect on a saved ticket as `actor` (None: the system), through services.

    Raises (NotAllowed, DomainError, RuleError) when the rule cannot do it; the engine then
    rolls the rule's work back and disables it.
    """
    from core import notifications as outbox

    from .. import services
    from ..notifications import desk_ticket_path
    from ..templating import context_for, render

    kind, value = effect["type"], action["value"]
    note = f"Rule: {rule.name}"
    if kind == "set_priority":
        services.change_priority(
            ticket=ticket,
            by=_actor_required(actor, "Setting a priority"),
            priority=effect["to"],
            note=note,
        )
    elif kind == "set_category":
        category = Category.objects.filter(slug=effect["to"], is_active=True).first()
        if category is None:
            raise RuleError(f"Category {effect['to']!r} no longer exists or is inactive.")
        services.update_ticket(
            ticket=ticket, by=_actor_required(actor, "Setting a category"), category=category
        )
    elif kind == "set_team":
        team = Team.objects.filter(pk=effect["to"]).first()
        if team is None:
            raise RuleError(f"Team {effect['to']} no longer exists.")
        services.update_ticket(
            ticket=ticket, by=_actor_required(actor, "Setting a team"), team=team
        )
    elif kind in ("add_tags", "remove_tags"):
        have = set(ticket.tags.values_list("name", flat=True))
        new = have | set(effect["tags"]) if kind == "add_tags" else have - set(effect["tags"])
        services.update_ticket(
            ticket=ticket, by=_actor_required(actor, "Changing tags"), tags=sorted(new)
        )
    elif kind == "set_status":
        services.change_status(
            ticket=ticket, to=effect["to"], by=actor, note=note, system=actor is None
        )
    elif kind == "assign":
        if actor is not None:
            permissions.can_assign.require(actor, ticket)
        services.auto_assign(ticket=ticket)
    elif kind in ("reply_template", "note_template"):
        actor = _actor_required(actor, "A reply")
        permissions.can_use_templates.require(actor)
        template = ResponseTemplate.objects.filter(pk=value).first()
        if template is None:
            raise RuleError(f"Response template {value} no longer exists.")
        body = render(template.body, context_for(ticket=ticket, agent=actor))
        services.add_message(ticket=ticket, by=actor, body=body, internal=kind == "note_template")
    elif kind in ("notify_users", "notify_team"):
        if kind == "notify_team":
            users = list(User.objects.filter(support_teams=value, is_active=True).order_by("pk"))
        else:
            scope = (
                permissions.pickable_escalation_users(actor, ticket)
                if actor
                else permissions.active_staff()
            )
            users = list(scope.filter(pk__in=value).order_by("pk"))
            if len(users) != len(value):
                raise RuleError(
                    "Some of the users to notify are no longer staff the author may notify."
                )
        title = f"{ticket.number}: {rule.name}"
        for user in users:
            if allowed("support.see_internal", user, ticket):
                outbox.notify_in_app(
                    key=f"{key}:user:{user.pk}",
                    user=user,
                    title=title,
                    body=ticket.subject,
                    url=desk_ticket_path(ticket),
                )
    elif kind == "notify_email":
        context = context_for(ticket=ticket, agent=actor)
        outbox.notify_email(
            key=f"{key}:email",
            to=value["to"],
            subject=render(value["subject"], context),
            body=render(value["body"], context),
        )
    elif kind in ("notify_slack", "notify_teams"):
        text = render(value["text"], context_for(ticket=ticket, agent=actor))
        send = outbox.notify_slack if kind == "notify_slack" else outbox.notify_teams
        send(key=f"{key}:{kind}", text=text)
    elif kind == "call_webhook":
        from core.models import WebhookSubscription
        from core.webhooks import services as webhooks

        subscription = WebhookSubscription.objects.filter(pk=value, active=True).first()
        if subscription is None:
            raise RuleError(f"Webhook subscription {value} is gone or disabled.")
        if actor is not None:
            from core.webhooks.permissions import can_manage_webhooks

            can_manage_webhooks.require(actor)
        from ..webhooks import ticket_payload

        webhooks.deliver_to(
            subscription,
            event="ticket.rule",
            data={"rule": rule.name, "ticket": ticket_payload(ticket)},
            key=key,
        )
    else:  # pragma: no cover - clean() refuses unknown types
        raise RuleError(f"Unknown action {kind!r}")
