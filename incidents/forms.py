"""The desk's incident forms: they read what a person typed; the services decide."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.forms import ModelChoiceField
from support.models import Team
from support.permissions import active_staff

from .models import INCIDENT_STATE_CHOICES, Category, Component, Impact, Severity

MAX_ACTIONS = 100
# Empty rows the post-mortem editor offers for new action items.
SPARE_ACTION_ROWS = 3


def form_errors(form, exc) -> None:
    """A service's refusal on the form: by field where it names fields the form has."""
    if isinstance(exc, ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    else:
        errors = exc.errors or {None: [exc.message]}
    for name, field_errors in errors.items():
        form.add_error(name if name in form.fields else None, field_errors)


def _staff_choice(**kwargs):
    return ModelChoiceField(
        queryset=active_staff().order_by("full_name", "pk"), required=False, **kwargs
    )


class ComponentStatesMixin:
    """A choice per component: not affected, or the state the incident puts it in."""

    def add_component_fields(self, current=None):
        current = current or {}
        self.components = list(Component.objects.order_by("group", "order", "name", "pk"))
        for component in self.components:
            self.fields[self.component_field(component)] = forms.ChoiceField(
                label=component.name,
                choices=[("", "Not affected"), *INCIDENT_STATE_CHOICES],
                required=False,
                initial=current.get(component.pk, ""),
            )

    @staticmethod
    def component_field(component) -> str:
        return f"component_{component.pk}"

    def component_fields(self):
        return [self[self.component_field(component)] for component in self.components]

    def component_states(self) -> dict:
        states = {}
        for component in self.components:
            state = self.cleaned_data.get(self.component_field(component))
            if state:
                states[component] = state
        return states


class ComponentStatesForm(ComponentStatesMixin, forms.Form):
    def __init__(self, *args, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_component_fields(current)


class IncidentForm(ComponentStatesMixin, forms.Form):
    """Declare an incident, with the state it puts each affected component in."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                  max_length=20000)  # fmt: skip
    severity = forms.ChoiceField(choices=Severity.choices)
    category = forms.ChoiceField(choices=Category.choices)
    impact = forms.ChoiceField(choices=Impact.choices)
    is_public = forms.BooleanField(required=False, initial=True,
                                   label="Show on the public status page")  # fmt: skip
    commander = _staff_choice(help_text="Left empty, whoever acknowledges it commands it.")
    team = ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
    reported_by = forms.CharField(max_length=200, required=False, label="Reported by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_component_fields()

    def incident_fields(self) -> dict:
        data = self.cleaned_data
        names = ("title", "description", "severity", "category", "impact", "is_public",
                 "commander", "team", "reported_by")  # fmt: skip
        return {name: data[name] for name in names}


class PostMortemForm(forms.Form):
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                              max_length=20000)  # fmt: skip
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                 max_length=20000, label="Root cause")  # fmt: skip
    contributing_factors = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                                           required=False, max_length=20000,
                                           label="Contributing factors")  # fmt: skip
    lessons = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              max_length=20000)  # fmt: skip
    complete = forms.BooleanField(
        required=False,
        label="Complete (needs a summary, a root cause and the lessons; the incident resolved)",
    )


class ActionItemForm(forms.Form):
    description = forms.CharField(max_length=500, required=False)
    owner = _staff_choice()
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                             label="Due")  # fmt: skip
    done = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if not data.get("description") and any(data.get(n) for n in ("owner", "due_on", "done")):
            self.add_error("description", "An action item needs a description.")
        return data


ActionItemFormSet = forms.formset_factory(
    ActionItemForm, extra=SPARE_ACTION_ROWS, max_num=MAX_ACTIONS, validate_max=True
)


def action_items(formset) -> list[dict]:
    """The filled rows of a valid formset (an empty row is no action item)."""
    return [
        {
            "description": row.cleaned_data["description"],
            "owner": row.cleaned_data.get("owner"),
            "due_on": row.cleaned_data.get("due_on"),
            "done": row.cleaned_data.get("done", False),
        }
        for row in formset
        if row.cleaned_data.get("description")
    ]


class MetricsRangeForm(forms.Form):
    """The metrics page's range: detected from `since` up to and including `until` (UTC days)."""

    period = forms.ChoiceField(
        choices=[("month", "By month"), ("week", "By week"), ("day", "By day")], required=False
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 3 * 366

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The range ends before it starts.")
        elif since and until and (until - since).days > self.MAX_DAYS:
            self.add_error("since", "At most three years at a time.")
        return cleaned

    def range(self):
        """(period, since, until) as the metrics take them; the default is the last year."""
        today = timezone.now().date()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        until_day = data.get("until") or today
        since_day = data.get("since") or until_day - timedelta(days=365)
        return (
            data.get("period") or "month",
            datetime.combine(since_day, time.min, tzinfo=UTC),
            datetime.combine(until_day + timedelta(days=1), time.min, tzinfo=UTC),
        )
