from django import forms

from .models import Category
from .models.choices import Priority
from .services.tickets import customer_priorities


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label="Message", max_length=100_000
    )
    internal = forms.BooleanField(required=False, label="Internal note (staff only)")
    files = forms.FileField(required=False, label="Attach a file")


class NewTicketForm(forms.Form):
    subject = forms.CharField(max_length=200)
    category = forms.ModelChoiceField(
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
