import uuid
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader

from .api.authentication import token_expiry
from .models import User
from .notifications.services import notify_email

COMMON_ZONES = sorted(zoneinfo.available_timezones())


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(z, z) for z in COMMON_ZONES])
    language = forms.ChoiceField(choices=settings.LANGUAGES)

    class Meta:
        model = User
        fields = ["full_name", "time_zone", "language"]


class ApiTokenForm(forms.Form):
    """A new API token from the tokens page: a name, a lifetime, and the password again."""

    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “CI” or “laptop”.")
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        help_text="Leave empty for the longest lifetime allowed.",
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        longest = settings.API_TOKEN_MAX_LIFETIME_DAYS
        self.fields["expires_in_days"].widget.attrs["max"] = longest
        self.fields[
            "expires_in_days"
        ].help_text = f"Leave empty for the longest lifetime allowed ({longest} days)."

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("The password is not right.", code="wrong_password")
        return password

    def clean(self):
        cleaned = super().clean()
        if "expires_in_days" in cleaned and not self.errors:
            try:
                cleaned["expires_at"] = token_expiry(expires_in_days=cleaned["expires_in_days"])
            except forms.ValidationError as error:
                self.add_error(None, error)
        return cleaned


class OutboxPasswordResetForm(PasswordResetForm):
    """Password-reset e-mails go through the outbox like every other message."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html_body = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else ""
        )
        notify_email(
            key=f"password-reset:{context['user'].pk}:{uuid.uuid4().hex}",
            to=to_email,
            subject=subject,
            body=body,
            html_body=html_body,
            user=context["user"],
        )
