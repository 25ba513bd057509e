from django import forms

from .models import SUPPORT_OUTCOMES, ContactMethod, Outcome

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
