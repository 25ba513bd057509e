from django import forms

from core.models import User
from core.roles import Role

from .models import SUPPORT_OUTCOMES, ContactMethod, Outcome
from .permissions import is_customer_kind

TEXT = {"required": False, "max_length": 5000}


class ApproveForm(forms.Form):
    feedback = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 2}),
                               label="Anything to add (optional)")  # fmt: skip


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                             label="What is not done or not right?")  # fmt: skip


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} of 5") for n in range(5, 0, -1)], coerce=int, label="Your rating"
    )
    comment = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 3}))


class RequestCompletionForm(forms.Form):
    note = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 3}),
                           label="What was done (the customer sees this)")  # fmt: skip


# The desk's booking page holds several forms: each has its own prefix, so field ids differ.
class ContactAttemptForm(forms.Form):
    prefix = "contact"
    method = forms.ChoiceField(choices=ContactMethod.choices)
    reached = forms.TypedChoiceField(
        choices=[("no", "Not reached"), ("yes", "Reached")],
        coerce=lambda value: value == "yes",
        label="Result",
    )
    notes = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 2}))


class CompleteForm(forms.Form):
    prefix = "complete"
    outcome = forms.ChoiceField(choices=[(o.value, Outcome(o).label) for o in SUPPORT_OUTCOMES])
    notes = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(forms.Form):
    prefix = "cancel"
    reason = forms.CharField(**TEXT, widget=forms.Textarea(attrs={"rows": 2}))


class BookingForm(forms.Form):
    """Support books a job for a customer account (found by its address)."""

    customer_email = forms.EmailField(label="Customer's e-mail address")
    technician = forms.ModelChoiceField(queryset=User.objects.none())
    service = forms.CharField(max_length=200, help_text="What the job is.")
    location = forms.CharField(max_length=300, required=False, help_text="Address or location.")
    scheduled_at = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In your time zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = User.objects.filter(
            is_active=True, groups__name=Role.TECHNICIAN
        ).order_by("full_name", "pk")

    def clean_customer_email(self):
        email = self.cleaned_data["customer_email"]
        customer = User.objects.with_email(email).filter(is_active=True).first()
        if customer is None or not is_customer_kind(customer):
            raise forms.ValidationError("No customer account has this address.")
        self.cleaned_data["customer"] = customer
        return email
