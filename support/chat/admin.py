"""Django admin for live chat's widgets (imported by `support.admin`, which the admin discovers).

Leads and admins set up widgets here: where they may be embedded, which team answers, when,
their queue's limits and whether the assistant answers first. The embed snippet is shown on the
change page. A widget is switched off (`is_active`), never deleted: its chats keep it.
"""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from .models import ChatWidget

PRE_CHAT_FIELDS = ("name", "email")


def _origin(value) -> str:
    parts = urlsplit(str(value).strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise forms.ValidationError(
            f"{value!r} is not an origin: write the scheme and host only, e.g. https://shop.example."
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


class ChatWidgetForm(forms.ModelForm):
    class Meta:
        model = ChatWidget
        fields = [
            "name",
            "allowed_origins",
            "team",
            "calendar",
            "pre_chat_fields",
            "max_queue",
            "queue_timeout_s",
            "inactivity_minutes",
            "bot_enabled",
            "is_active",
        ]

    def clean_allowed_origins(self):
        value = self.cleaned_data.get("allowed_origins") or []
        if not isinstance(value, list):
            raise forms.ValidationError('A list of origins, e.g. ["https://shop.example"].')
        return sorted({_origin(v) for v in value})

    def clean_pre_chat_fields(self):
        value = self.cleaned_data.get("pre_chat_fields") or []
        if not isinstance(value, list) or any(v not in PRE_CHAT_FIELDS for v in value):
            raise forms.ValidationError('A list of "name" and "email" (either, both or none).')
        return [v for v in PRE_CHAT_FIELDS if v in value]

    def clean_inactivity_minutes(self):
        value = self.cleaned_data["inactivity_minutes"]
        if value < 1:
            raise forms.ValidationError("At least one minute.")
        return value


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    form = ChatWidgetForm
    list_display = ["name", "public_key", "team", "bot_enabled", "is_active"]
    list_filter = ["is_active", "bot_enabled"]
    list_select_related = ["team"]
    search_fields = ["name", "public_key"]
    readonly_fields = ["public_key", "embed_snippet"]

    def get_fields(self, request, obj=None):
        fields = list(ChatWidgetForm.Meta.fields)
        return [*fields, "public_key", "embed_snippet"] if obj else fields

    def has_delete_permission(self, request, obj=None):
        return False  # its chats keep it; switch it off instead

    @admin.display(description="Embed on a page")
    def embed_snippet(self, obj):
        src = settings.SITE_URL.rstrip("/") + "/chat/widget.js"
        return format_html(
            '<code>&lt;script src="{}" data-widget="{}" async&gt;&lt;/script&gt;</code>',
            src,
            obj.public_key,
        )
