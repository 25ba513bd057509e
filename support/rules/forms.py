"""The rules editor's form: rows of conditions and actions typed as text, parsed into JSON.

Each row is a field (or action type), an operator and a value typed as text: lists comma
separated, `true`/`false` for yes-no fields, ids as numbers, an e-mail action as
`to | subject | body`. The parsed definition then goes through the same services (and their
checks) as the API's.
"""

from django import forms

from core.models import WebhookSubscription

from .. import permissions
from ..models import Category, ResponseTemplate, Team
from ..models.rules import Anchor, Match, TriggerEvent
from . import actions, conditions

ROWS = 5
LIST_OPS = ("in", "not_in", "contains_any", "contains_all", "contains_none")
INT_ACTIONS = ("set_team", "notify_team", "reply_template", "note_template", "call_webhook")
LIST_ACTIONS = ("add_tags", "remove_tags")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str):
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def parse_condition(field: str, op: str, text: str) -> dict:
    spec = conditions.FIELDS.get(field)
    if spec is not None and spec.kind == "bool":
        value = text.strip().lower() in ("true", "yes", "1", "on")
    elif op in LIST_OPS or (spec is not None and spec.kind in ("set", "words")):
        value = _split(text)
        if spec is not None and spec.kind == "int":
            value = [_number(v) for v in value]
    elif spec is not None and spec.kind == "int":
        value = _number(text)
    else:
        value = text.strip()
    return {"field": field, "op": op, "value": value}


def parse_action(kind: str, text: str) -> dict:
    if kind in INT_ACTIONS:
        value = _number(text)
    elif kind in LIST_ACTIONS:
        value = _split(text)
    elif kind == "notify_users":
        value = [_number(v) for v in _split(text)]
    elif kind == "notify_email":
        to, _, rest = text.partition("|")
        subject, _, body = rest.partition("|")
        value = {"to": to.strip(), "subject": subject.strip(), "body": body.strip()}
    elif kind in ("notify_slack", "notify_teams"):
        value = {"text": text.strip()}
    elif kind == "assign":
        value = None
    else:
        value = text.strip()
    return {"type": kind, "value": value}


def condition_text(condition: dict) -> str:
    value = condition.get("value")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def action_text(action: dict) -> str:
    value = action.get("value")
    if isinstance(value, dict):
        if "to" in value:
            return f"{value['to']} | {value['subject']} | {value['body']}"
        return value.get("text", "")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    match = forms.ChoiceField(choices=Match.choices, initial=Match.ALL)
    events = forms.MultipleChoiceField(
        choices=TriggerEvent.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    stop_processing = forms.BooleanField(required=False, label="Stop processing later triggers")
    anchor = forms.ChoiceField(choices=[("", "—"), *Anchor.choices], required=False)
    after_minutes = forms.IntegerField(required=False, min_value=1, label="After (minutes)")


OP_LABELS = {
    "is": "is",
    "is_not": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains_any": "contains any of",
    "contains_all": "contains all of",
    "contains_none": "contains none of",
}
# What the value box expects for each kind of action, and the list of known values it offers.
ACTION_HINTS = {
    "set_priority": ("low, medium, high or urgent", "priorities"),
    "set_category": ("a category's slug", "categories"),
    "set_team": ("a team's id", "teams"),
    "add_tags": ("tags, comma separated", None),
    "remove_tags": ("tags, comma separated", None),
    "set_status": ("a status, e.g. in_progress", "statuses"),
    "assign": ("no value needed", None),
    "reply_template": ("a response template's id", "templates"),
    "note_template": ("a response template's id", "templates"),
    "notify_users": ("staff ids, comma separated", "staff"),
    "notify_team": ("a team's id", "teams"),
    "notify_email": ("to | subject | body", None),
    "notify_slack": ("message text; {{ ticket.number }} works", None),
    "notify_teams": ("message text; {{ ticket.number }} works", None),
    "call_webhook": ("a webhook subscription's id", "webhooks"),
}


def condition_hint(field: conditions.Field | None) -> tuple[str, str | None]:
    """The value box's placeholder for a condition on this field, and its list of known values."""
    if field is None:
        return "choose a field first", None
    if field.kind == "bool":
        return "true or false", None
    if field.name == "team":
        return "a team's id (or ids, comma separated)", "teams"
    if field.name == "category":
        return "a category's slug (or slugs, comma separated)", "categories"
    if field.choices:
        shown = [c or "none" for c in field.choices[:6]]
        return "one of: " + ", ".join(shown), None
    if field.kind in ("set", "words"):
        return "words, comma separated", None
    if field.kind == "int":
        return "an id (or ids, comma separated)", None
    return "a value", None


def known_values(user) -> dict[str, list[tuple[str, str]]]:
    """The datalists the value boxes offer: ids and slugs with the names they stand for."""
    from ..models.choices import Priority, Status

    return {
        "priorities": [(v, v) for v in Priority.values],
        "statuses": [(v, v) for v in Status.values],
        "categories": list(
            Category.objects.filter(is_active=True).order_by("name").values_list("slug", "name")
        ),
        "teams": [
            (str(pk), name) for pk, name in Team.objects.order_by("name").values_list("pk", "name")
        ],
        "templates": [
            (str(pk), name)
            for pk, name in ResponseTemplate.objects.order_by("name").values_list("pk", "name")[
                :200
            ]
        ],
        "staff": [
            (str(u.pk), u.display_name)
            for u in permissions.pickable_escalation_users(user, None).order_by("pk")[:200]
        ],
        "webhooks": [
            (str(pk), url)
            for pk, url in WebhookSubscription.objects.filter(active=True)
            .order_by("pk")
            .values_list("pk", "url")[:200]
        ],
    }


def rows_from_post(post, prefix: str, names: tuple[str, str, str]) -> list[tuple[str, str, str]]:
    rows = []
    for index in range(ROWS * 2):
        parts = [post.get(f"{prefix}-{index}-{name}", "").strip() for name in names]
        if parts[0]:
            rows.append(tuple(parts))
    return rows


def definition_from_post(post, *, kind: str) -> tuple[RuleForm, dict | None]:
    """The form, and the rule definition it describes (None while the form is invalid)."""
    form = RuleForm(post)
    if not form.is_valid():
        return form, None
    data = dict(form.cleaned_data)
    data["conditions"] = [
        parse_condition(field, op, value)
        for field, op, value in rows_from_post(post, "condition", ("field", "op", "value"))
    ]
    data["actions"] = [
        parse_action(kind_, value)
        for kind_, value, _ in rows_from_post(post, "action", ("type", "value", "_"))
    ]
    data["enabled"] = post.get("enabled") == "on"
    if kind == "automation":
        data.pop("events", None)
    return form, data


def _condition_row(field_name: str, op: str, value: str) -> dict:
    field = conditions.FIELDS.get(field_name)
    hint, values = condition_hint(field)
    ops = field.ops if field else tuple(OP_LABELS)
    return {
        "field": field_name,
        "op": op,
        "value": value,
        "ops": [(o, OP_LABELS.get(o, o)) for o in ops],
        "hint": hint,
        "list": values,
    }


def _action_row(kind: str, value: str) -> dict:
    hint, values = ACTION_HINTS.get(kind, ("choose an action first", None))
    return {"type": kind, "value": value, "hint": hint, "list": values}


def editor_rows(rule_conditions, rule_actions, *, user) -> dict:
    """The rows the editor shows (the rule's, then blank ones up to ROWS) and their vocabulary.

    Each field and action type carries its operators and value hint, so that the page's script
    can narrow a row to them when the choice changes; without the script the server's check
    still says which operators a field takes.
    """
    condition_rows = [
        _condition_row(c["field"], c["op"], condition_text(c)) for c in rule_conditions
    ]
    action_rows = [_action_row(a["type"], action_text(a)) for a in rule_actions]
    condition_rows += [_condition_row("", "", "")] * max(1, ROWS - len(condition_rows))
    action_rows += [_action_row("", "")] * max(1, ROWS - len(action_rows))
    fields = [
        {
            "name": f.name,
            "label": f.label,
            "ops": ",".join(f.ops),
            "hint": condition_hint(f)[0],
            "list": condition_hint(f)[1] or "",
        }
        for f in conditions.FIELDS.values()
    ]
    action_types = [
        {
            "name": name,
            "label": label,
            "hint": ACTION_HINTS[name][0],
            "list": ACTION_HINTS[name][1] or "",
        }
        for name, label in actions.TYPES.items()
    ]
    return {
        "condition_rows": condition_rows,
        "action_rows": action_rows,
        "fields": fields,
        "op_labels": list(OP_LABELS.items()),
        "action_types": action_types,
        "known_values": known_values(user),
    }
