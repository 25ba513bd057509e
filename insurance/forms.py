from django import forms

from .models import CoverageType


class PolicyForm(forms.Form):
    policy_number = forms.CharField(max_length=100)
    insurer = forms.CharField(max_length=200)
    coverage_type = forms.ChoiceField(choices=CoverageType.choices)
    coverage_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    coverage_end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="The last day covered."
    )


class SubmitForm(PolicyForm):
    file = forms.FileField(help_text="A PDF, or a photo or scan (PNG, JPEG, WebP).")


class ProvideForm(forms.Form):
    file = forms.FileField()
    note = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class InfoRequestForm(forms.Form):
    items = forms.CharField(
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One item a line; instructions after a colon (Signed page: page 2, signed).",
    )
    message = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_items(self):
        items = []
        for line in self.cleaned_data["items"].splitlines():
            needed, _, instructions = line.partition(":")
            if needed.strip():
                items.append({"needed": needed.strip(), "instructions": instructions.strip()})
        if not items:
            raise forms.ValidationError("Name at least one thing that is needed.")
        return items
