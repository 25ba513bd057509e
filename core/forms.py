import uuid
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader

from .models import User
from .notifications.services import notify_email

COMMON_ZONES = sorted(zoneinfo.available_timezones())


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(z, z) for z in COMMON_ZONES])
    language = forms.ChoiceField(choices=settings.LANGUAGES)

    class Meta:
        model = User
        fields = ["full_name", "time_zone", "language"]


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
