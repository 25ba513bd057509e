from django import forms
from django.db.models import Q

from core.forms import BotTrapForm, ModelChoiceField, MultipleFileField

from .models import Category
from .models.choices import ACTIVE_STATUSES, FINAL_STATUSES, Priority, Status
from .services.tickets import customer_priorities


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label="Message", max_length=100_000
    )
    internal = forms.BooleanField(required=False, label="Internal note (staff only)")
    files = forms.FileField(required=False, label="Attach a file")


class NewTicketForm(forms.Form):
    subject = forms.CharField(max_length=200)
    category = ModelChoiceField(
        queryset=Category.objects.filter(is_active=True), required=False, to_field_name="slug"
    )
    # A capped choice (`CUSTOMER_MAX_PRIORITY`); blank lets the rules decide (category, tier).
    priority = forms.ChoiceField(choices=(), required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=100_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Priority.choices)
        self.fields["priority"].choices = [("", "Let us decide")] + [
            (value, labels[value]) for value in customer_priorities()
        ]

    def clean_priority(self):
        return self.cleaned_data["priority"] or None


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int, choices=[(n, n) for n in range(5, 0, -1)], widget=forms.RadioSelect
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )


class ContactForm(BotTrapForm, NewTicketForm):
    """The help center's contact form: open to anyone, with files; the visitor's name and
    address when not signed in."""

    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(max_length=254, label="Your e-mail address")
    files = MultipleFileField(
        required=False,
        label="Attach files",
        help_text="Screenshots, PDFs or logs; up to 10 files.",
    )
    field_order = ["name", "email", "subject", "category", "priority", "description", "files"]

    def __init__(self, *args, signed_in: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["description"].label = "How can we help?"
        self.fields["category"].empty_label = "Not sure"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        if signed_in:
            del self.fields["name"], self.fields["email"]
            # The trap is for the open form; a signed-in customer is already known.
            del self.fields["website"], self.fields["form_started"]

    def clean(self):
        if "website" not in self.fields:
            return forms.Form.clean(self)
        return super().clean()


class HelpReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label="Your message", max_length=100_000
    )
    files = MultipleFileField(required=False, label="Attach files")


class AccessRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Your e-mail address")
    number = forms.CharField(
        max_length=40, label="Request number", help_text="e.g. TKT-20261201-0042"
    )


class RequestFilterForm(forms.Form):
    """The filters of "my requests"."""

    STATES = {
        "open": "Open",
        "waiting": "Waiting for you",
        "resolved": "Resolved",
        "closed": "Closed",
    }
    state = forms.ChoiceField(
        choices=[("", "Any status"), *STATES.items()], required=False, label="Status"
    )
    q = forms.CharField(
        max_length=200, required=False, label="Search", help_text="Number or words of the subject"
    )
    requester = ModelChoiceField(queryset=None, required=False, empty_label="Anyone")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.colleagues_shown = bool(user.is_organization_admin and user.organization_id)
        if self.colleagues_shown:
            from core.models import User

            self.fields["requester"].queryset = User.objects.filter(
                organization_id=user.organization_id, is_active=True
            ).order_by("full_name", "email")
        else:
            del self.fields["requester"]

    def apply(self, tickets):
        data = self.cleaned_data
        state = data.get("state")
        if state == "open":
            tickets = tickets.filter(status__in=ACTIVE_STATUSES).exclude(
                status=Status.WAITING_ON_CUSTOMER
            )
        elif state == "waiting":
            tickets = tickets.filter(status=Status.WAITING_ON_CUSTOMER)
        elif state == "resolved":
            tickets = tickets.filter(status=Status.RESOLVED)
        elif state == "closed":
            tickets = tickets.filter(status__in=FINAL_STATUSES)
        query = (data.get("q") or "").strip()
        if query:
            tickets = tickets.filter(Q(number=query.upper()) | Q(subject__icontains=query))
        if data.get("requester"):
            tickets = tickets.filter(customer=data["requester"])
        return tickets
