"""The forms of the desk's ticket workspace. Each one only collects input; what it does goes
through support's services, with the same permission predicates as the API."""

from django import forms
from django.db import transaction

from core.errors import DomainError
from core.forms import ChoiceField, ModelChoiceField, MultipleFileField
from core.models import Organization, User

from . import services
from .models import Category, ResponseTemplate, Team, Ticket
from .models.choices import FINAL_STATUSES, Channel, Priority, Status, TemplateChannel
from .permissions import active_staff, pickable_assignees


class ComposerForm(forms.Form):
    """A reply or an internal note, in Markdown, with files; optionally a status to set after."""

    THEN = {
        "": "Send",
        Status.WAITING_ON_CUSTOMER: "Send and wait on customer",
        Status.RESOLVED: "Send and resolve",
    }
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "data-composer": "body"}),
        label="Message",
        max_length=100_000,
        help_text="Markdown: **bold**, *italic*, lists, links. Ctrl+Enter sends.",
    )
    internal = forms.BooleanField(required=False, label="Internal note (staff only)")
    files = MultipleFileField(required=False, label="Attach files")
    then = ChoiceField(choices=list(THEN.items()), required=False)

    def __init__(self, *args, allow_internal: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_internal:
            del self.fields["internal"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("internal") and cleaned.get("then"):
            # A note is for colleagues; it must not move the customer's ticket by accident.
            self.add_error("then", "A note cannot set the status: send a reply to do that.")
        return cleaned


def templates_for_reply():
    """The canned responses an agent may insert into a reply or a note."""
    return ResponseTemplate.objects.filter(is_active=True).exclude(channel=TemplateChannel.SMS)


class PropertiesForm(forms.Form):
    """Assignee, team, priority, category and tags, edited in place; each change is audited by
    the service that makes it."""

    assignee = ModelChoiceField(queryset=None, required=False, empty_label="Unassigned")
    team = ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="No team"
    )
    priority = ChoiceField(choices=Priority.choices)
    category = ModelChoiceField(
        queryset=Category.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="No category",
    )
    tags = forms.CharField(
        required=False, max_length=1000, help_text="Separated by commas.", label="Tags"
    )

    def __init__(self, *args, ticket: Ticket, user, **kwargs):
        self.ticket, self.user = ticket, user
        initial = {
            "assignee": ticket.assigned_to_id,
            "team": ticket.team_id,
            "priority": ticket.priority,
            "category": ticket.category_id,
            "tags": ", ".join(sorted(tag.name for tag in ticket.tags.all())),
        }
        super().__init__(*args, initial=initial, **kwargs)
        assignees = pickable_assignees(user, ticket).order_by("full_name", "email")
        if ticket.assigned_to_id:
            # The current assignee stays selectable (shown) even if this user could not pick them.
            assignees = assignees | User.objects.filter(pk=ticket.assigned_to_id)
        self.fields["assignee"].queryset = assignees.distinct()
        self.fields["assignee"].label_from_instance = lambda u: u.display_name

    def clean_tags(self):
        names = [name.strip() for name in self.cleaned_data["tags"].split(",")]
        return sorted({name for name in names if name})

    @transaction.atomic
    def save(self) -> list[str]:
        """Apply what changed, each through its service; all or nothing. Returns what changed."""
        ticket, by, data = self.ticket, self.user, self.cleaned_data
        changed = []
        fields = {}
        if data["team"] != ticket.team:
            fields["team"] = data["team"]
        if data["category"] != ticket.category:
            fields["category"] = data["category"]
        current_tags = sorted(tag.name for tag in ticket.tags.all())
        if data["tags"] != current_tags:
            fields["tags"] = data["tags"]
        if fields:
            ticket = services.update_ticket(ticket=ticket, by=by, **fields)
            changed += list(fields)
        if data["priority"] != ticket.priority:
            ticket = services.change_priority(ticket=ticket, by=by, priority=data["priority"])
            changed.append("priority")
        assignee = data["assignee"]
        if (assignee.pk if assignee else None) != ticket.assigned_to_id:
            if assignee is None:
                services.unassign_ticket(ticket=ticket, by=by)
            else:
                services.assign_ticket(ticket=ticket, agent=assignee, by=by)
            changed.append("assignee")
        return changed


class StatusForm(forms.Form):
    """A status move; none pre-selected, and one that cannot be undone needs a confirmation."""

    status = ChoiceField(choices=())
    note = forms.CharField(required=False, max_length=2000, label="Note (internal)")
    confirm = forms.BooleanField(required=False, label="Yes, I understand this cannot be undone")

    def __init__(self, *args, targets, labels, **kwargs):
        kwargs.setdefault("auto_id", "move_%s")  # ids apart from the other forms on the page
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Choose a status…")] + [
            (target, labels[target]) for target in targets
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") in FINAL_STATUSES and not cleaned.get("confirm"):
            label = dict(self.fields["status"].choices)[cleaned["status"]]
            self.add_error(
                "confirm",
                f"{label} cannot be undone: tick the box to confirm.",
            )
        return cleaned


class TicketPickForm(forms.Form):
    """Merge into, or link to, another ticket the user can see, named by its number."""

    ACTIONS = {"merge": "Merge this ticket into", "link": "Link to"}
    action = ChoiceField(choices=list(ACTIONS.items()))
    number = forms.CharField(max_length=40, label="Ticket number")
    confirm = forms.BooleanField(required=False, label="Yes, merge (cannot be undone)")

    def __init__(self, *args, ticket: Ticket, user, **kwargs):
        self.ticket, self.user = ticket, user
        kwargs.setdefault("auto_id", "pick_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("number") or "").strip().upper()
        if not number:
            return cleaned
        other = Ticket.objects.visible_to(self.user).filter(number=number).first()
        if other is None:
            self.add_error("number", f"No ticket {number} that you can see.")
        elif other.pk == self.ticket.pk:
            self.add_error("number", "That is this ticket.")
        elif cleaned.get("action") == "merge" and not cleaned.get("confirm"):
            self.add_error("confirm", "Merging closes this ticket: tick the box to confirm.")
        cleaned["other"] = other
        return cleaned

    def save(self):
        other, by = self.cleaned_data["other"], self.user
        if self.cleaned_data["action"] == "merge":
            return services.merge_tickets(source=self.ticket, target=other, by=by)
        services.link_tickets(source=self.ticket, target=other, by=by)
        return self.ticket


class QueueFilterForm(forms.Form):
    """The queue's filters; each narrows the view's queryset, nothing widens it."""

    status = ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    priority = ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False)
    category = ModelChoiceField(
        queryset=Category.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="Any category",
    )
    channel = ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    team = ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="Any team"
    )
    agent = ModelChoiceField(queryset=None, required=False, empty_label="Any agent")
    tag = forms.CharField(required=False, max_length=50)
    customer = forms.CharField(
        required=False, max_length=254, help_text="E-mail address or name, exactly as on the ticket"
    )
    organization = ModelChoiceField(
        queryset=Organization.objects.order_by("name"),
        required=False,
        empty_label="Any organisation",
    )
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = active_staff().order_by("full_name", "email")
        self.fields["agent"].label_from_instance = lambda u: u.display_name

    def apply(self, tickets):
        data = self.cleaned_data
        for name in ("status", "priority", "channel"):
            if data.get(name):
                tickets = tickets.filter(**{name: data[name]})
        for name in ("category", "team", "organization"):
            if data.get(name):
                tickets = tickets.filter(**{name: data[name]})
        if data.get("agent"):
            tickets = tickets.filter(assigned_to=data["agent"])
        if data.get("tag"):
            tickets = tickets.filter(tags__name=data["tag"].strip().lower())
        if data.get("customer"):
            tickets = tickets.with_customer(data["customer"])
        if data.get("created_from"):
            tickets = tickets.filter(created_at__date__gte=data["created_from"])
        if data.get("created_to"):
            tickets = tickets.filter(created_at__date__lte=data["created_to"])
        return tickets

    def active_filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: getattr(value, "pk", value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


class BulkForm(forms.Form):
    """One action on the selected tickets, each through its service."""

    ACTIONS = {
        "assign_me": "Assign to me",
        "assign": "Assign to…",
        "status": "Set status…",
        "priority": "Set priority…",
        "tag": "Add tag…",
        "merge": "Merge into the first selected",
    }
    action = ChoiceField(choices=[("", "Bulk action…"), *ACTIONS.items()])
    tickets = forms.ModelMultipleChoiceField(queryset=None, to_field_name="number")
    agent = ModelChoiceField(queryset=None, required=False)
    status = ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    priority = ChoiceField(choices=[("", "—"), *Priority.choices], required=False)
    tag = forms.SlugField(required=False, max_length=50)
    confirm = forms.BooleanField(required=False)

    NEEDS = {"assign": "agent", "status": "status", "priority": "priority", "tag": "tag"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["tickets"].queryset = Ticket.objects.visible_to(user)
        self.fields["agent"].queryset = active_staff()

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        needed = self.NEEDS.get(action)
        if needed and not cleaned.get(needed):
            self.add_error(needed, "Choose a value for this action.")
        final = action == "status" and cleaned.get("status") in FINAL_STATUSES
        if (action == "merge" or final) and not cleaned.get("confirm"):
            self.add_error("confirm", "This cannot be undone: tick the box to confirm.")
        if action == "merge" and len(cleaned.get("tickets") or []) < 2:
            self.add_error("tickets", "Select at least two tickets to merge.")
        return cleaned

    def save(self) -> tuple[int, list[str]]:
        """Apply the action to each ticket; returns (done, problems) — one refusal (a state
        that does not allow it, a permission) does not stop the others."""
        data, by = self.cleaned_data, self.user
        tickets = sorted(data["tickets"], key=lambda t: t.number)
        action = data["action"]
        done, problems = 0, []
        target = tickets[0] if action == "merge" else None
        for ticket in tickets:
            try:
                if action == "assign_me":
                    services.assign_ticket(ticket=ticket, agent=by, by=by)
                elif action == "assign":
                    services.assign_ticket(ticket=ticket, agent=data["agent"], by=by)
                elif action == "status":
                    services.change_status(ticket=ticket, to=data["status"], by=by)
                elif action == "priority":
                    services.change_priority(ticket=ticket, by=by, priority=data["priority"])
                elif action == "tag":
                    names = sorted({*ticket.tags.values_list("name", flat=True), data["tag"]})
                    services.update_ticket(ticket=ticket, by=by, tags=names)
                elif action == "merge":
                    if ticket.pk == target.pk:
                        continue
                    services.merge_tickets(source=ticket, target=target, by=by)
                done += 1
            except DomainError as exc:
                problems.append(f"{ticket.number}: {exc.message}")
        return done, problems
