"""The rules editor's form: rows of conditions and actions typed as text, parsed into JSON.

Each row is a field (or action type), an operator and a value typed as text: lists comma
separated, `true`/`false` for yes-no fields, ids as numbers, an e-mail action as
`to | subject | body`. The parsed definition then goes through the same services (and their
checks) as the API's.
"""

from django import forms

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


def editor_rows(rule_conditions, rule_actions) -> dict:
    """The rows the editor shows: the rule's, then blank ones up to ROWS."""
    condition_rows = [
        {"field": c["field"], "op": c["op"], "value": condition_text(c)} for c in rule_conditions
    ]
    action_rows = [{"type": a["type"], "value": action_text(a)} for a in rule_actions]
    condition_rows += [{"field": "", "op": "", "value": ""}] * max(1, ROWS - len(condition_rows))
    action_rows += [{"type": "", "value": ""}] * max(1, ROWS - len(action_rows))
    return {
        "condition_rows": condition_rows,
        "action_rows": action_rows,
        "fields": list(conditions.FIELDS.values()),
        "ops": list(dict.fromkeys(op for f in conditions.FIELDS.values() for op in f.ops)),
        "action_types": list(actions.TYPES.items()),
    }
