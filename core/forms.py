import re
import time
import uuid
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core import signing
from django.forms.utils import flatatt
from django.template import loader
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .api.authentication import token_expiry
from .models import User
from .notifications import consent
from .notifications.consent import EmailCategory
from .notifications.services import notify_email

COMMON_ZONES = sorted(zoneinfo.available_timezones())


class PreferencesForm(forms.ModelForm):
    """Profile and notification choices. The optional e-mail categories are opt-outs kept per
    address (`core.notifications.consent`), so the unsubscribe link of an e-mail and this page
    change the same thing; SMS is a field of the user, sent to `phone`."""

    time_zone = forms.ChoiceField(choices=[(z, z) for z in COMMON_ZONES])
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    email_updates = forms.BooleanField(
        required=False,
        label="E-mail me status updates about my requests",
        help_text="When we need your answer, and when a request is resolved.",
    )
    email_surveys = forms.BooleanField(
        required=False,
        label="E-mail me satisfaction surveys",
        help_text="One short question after a request is resolved.",
    )

    CATEGORY_FIELDS = {
        "email_updates": EmailCategory.UPDATES,
        "email_surveys": EmailCategory.SURVEYS,
    }

    class Meta:
        model = User
        fields = ["full_name", "time_zone", "language", "sms_notifications", "phone"]
        labels = {"sms_notifications": "Text me when a request changes", "phone": "Mobile number"}
        help_texts = {
            "sms_notifications": "Only the request number and a link, never what it says.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        off = consent.opted_out_categories(self.instance.email)
        for name, category in self.CATEGORY_FIELDS.items():
            self.fields[name].initial = category not in off
        # Replies to your own requests and confirmations are always sent: they are the request.

    def clean_phone(self):
        phone = " ".join(self.cleaned_data.get("phone", "").split())
        if phone and not re.fullmatch(r"\+?[0-9][0-9 ().-]{5,30}", phone):
            raise forms.ValidationError("Enter a phone number, e.g. +44 20 7946 0000.")
        return phone

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sms_notifications") and not cleaned.get("phone"):
            self.add_error("phone", "A mobile number is needed for text messages.")
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            consent.set_email_preferences(
                address=user.email,
                wanted={
                    category: self.cleaned_data[name]
                    for name, category in self.CATEGORY_FIELDS.items()
                },
                source="preferences",
            )
        return user


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


class PlainSelect(forms.Select):
    """A `<select>` written in Python, the markup of Django's template. Django renders every
    option through two included templates; a desk page with a dozen selects spent more time
    there than in its queries. Same attributes, escaping and selection as `forms.Select`."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _ in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(option["value"]),
                    flatatt(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every part is format_html-escaped


class ChoiceField(forms.ChoiceField):
    """A `ChoiceField` drawn by `PlainSelect`."""

    widget = PlainSelect


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """Reads a select's choices as one ordinary query. Django's iterator reads them through
    `QuerySet.iterator()`, which on PostgreSQL is a server-side cursor: three round trips
    (DECLARE, FETCH, CLOSE) for a dozen rows, about 5 ms of a desk page per select."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ModelChoiceField(forms.ModelChoiceField):
    """A `ModelChoiceField` for the short lists of a page (teams, categories, staff)."""

    iterator = ListedChoiceIterator
    widget = PlainSelect


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        one = super().clean
        if isinstance(data, (list, tuple)):
            return [one(item, initial) for item in data if item]
        return [one(data, initial)] if data else []


_BOT_TRAP_SALT = "core.bot-trap"
BOT_TRAP_MAX_AGE = 24 * 3600


class BotTrapForm(forms.Form):
    """A trap for form-filling bots that needs no third-party service.

    Two signals, both invisible to people: a field hidden from them (`website`: screen readers
    are told to skip it, keyboards cannot reach it) that bots fill in, and the time since the
    form was shown, signed into `form_started`: a bot posts at once or replays an old form.
    """

    website = forms.CharField(required=False, label="Leave this empty")
    form_started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["website"].widget.attrs.update(
            {"autocomplete": "off", "tabindex": "-1", "class": "trap-input"}
        )
        self.initial["form_started"] = self._started_now()

    @staticmethod
    def _started_now() -> str:
        return signing.TimestampSigner(salt=_BOT_TRAP_SALT).sign(str(int(time.time())))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(
                "Your message could not be sent. Please try again.", code="bot_trap"
            )
        try:
            shown = int(
                signing.TimestampSigner(salt=_BOT_TRAP_SALT).unsign(
                    cleaned.get("form_started") or "", max_age=BOT_TRAP_MAX_AGE
                )
            )
        except (signing.BadSignature, ValueError):
            self._refresh_started()
            raise forms.ValidationError(
                "This form was open too long. Please check it and send it again.",
                code="bot_trap",
            ) from None
        if time.time() - shown < settings.BOT_TRAP_MIN_SECONDS:
            raise forms.ValidationError(
                "That was quicker than anyone types. Please check your message and send it again.",
                code="bot_trap",
            )
        return cleaned

    def _refresh_started(self) -> None:
        # Shown again with a fresh start time, so a person sending it again gets through.
        self.data = self.data.copy()
        self.data["form_started"] = self._started_now()


class SignUpForm(BotTrapForm):
    full_name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(max_length=254, label="E-mail address")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = ["full_name", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"

    def clean(self):
        from django.contrib.auth.password_validation import validate_password

        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                validate_password(first, User(email=cleaned.get("email", ""), full_name=""))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
