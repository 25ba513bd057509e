from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import (
    ApiToken,
    BusinessCalendar,
    DeliveryEvent,
    EmailOptOut,
    EmailSuppression,
    Holiday,
    Notification,
    Organization,
    OutboxMessage,
    User,
    WebhookDelivery,
    WebhookSubscription,
    WorkingInterval,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditTrailInline(ReadOnlyInline):
    """A domain's audit events (`core.models.audit.AuditEvent`) under the object they are about:
    append-only, so nothing here can be added, changed or deleted."""

    fields = ["created_at", "kind", "actor", "before", "after"]
    verbose_name_plural = "audit trail"

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "full_name", "organization", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "groups", "organization__tier"]
    list_select_related = ["organization"]
    search_fields = ["email", "full_name"]
    autocomplete_fields = ["organization"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Profile",
            {"fields": ["full_name", "phone", "sms_notifications", "time_zone", "language"]},
        ),
        ("Organisation", {"fields": ["organization", "is_organization_admin"]}),
        (
            "Roles and access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})
    ]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "email_domain", "created_at"]
    list_filter = ["tier"]
    search_fields = ["name", "slug", "email_domain"]
    prepopulated_fields = {"slug": ["name"]}


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    search_fields = ["name"]
    inlines = [WorkingIntervalInline, HolidayInline]


class DeliveryEventInline(ReadOnlyInline):
    """What the ESP reported about this message (tracking webhooks), oldest first."""

    model = DeliveryEvent
    fields = ["occurred_at", "kind", "recipient", "description", "mta_response", "received_at"]
    readonly_fields = fields
    verbose_name_plural = "delivery events"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Delivery log. Read-only: rows change only through the dispatcher."""

    list_display = [
        "created_at",
        "channel",
        "recipient",
        "subject",
        "status",
        "attempts",
        "sent_at",
        "delivery_state",
        "delivery_state_at",
    ]
    list_filter = ["status", "channel", "delivery_state"]
    search_fields = ["key", "recipient", "subject", "provider_message_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [DeliveryEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "title", "read_at"]
    list_select_related = ["recipient"]
    search_fields = ["title", "recipient__email"]
    raw_id_fields = ["recipient", "outbox_message"]
    show_full_result_count = False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Keys are never shown (only digests are stored); admins may only see and revoke."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__email", "prefix"]
    readonly_fields = ["user", "name", "prefix", "key_digest", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from .api.authentication import revoke_token

        for token in queryset:
            revoke_token(token=token)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model written only by its services (or by nobody: a log): shown, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    """Every tracking event, matched or not (an unmatched one has no outbox message)."""

    list_display = ["occurred_at", "kind", "recipient", "provider_message_id", "outbox_message"]
    list_filter = ["kind", "esp_name", ("outbox_message", admin.EmptyFieldListFilter)]
    search_fields = ["recipient", "provider_message_id"]
    raw_id_fields = ["outbox_message"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.action(description="Lift the suppression (e-mail this address again)")
def lift_suppressions(modeladmin, request, queryset):
    from .models.notifications import LiftedBy
    from .notifications.suppression import lift

    lifted = sum(
        lift(suppression=row, how=LiftedBy.STAFF, by=request.user)
        for row in queryset.filter(lifted_at__isnull=True)
    )
    modeladmin.message_user(request, f"{lifted} suppression(s) lifted.", messages.SUCCESS)


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(admin.ModelAdmin):
    """The suppression list. Rows are written by tracking events and lifted, never edited."""

    list_display = ["address", "reason", "since", "lifted_at", "lifted_how", "lifted_by"]
    list_filter = ["reason", ("lifted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["lifted_by"]
    search_fields = ["address"]
    readonly_fields = [
        "address",
        "reason",
        "since",
        "event",
        "detail",
        "lifted_at",
        "lifted_how",
        "lifted_by",
    ]
    actions = [lift_suppressions]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EmailOptOut)
class EmailOptOutAdmin(ReadOnlyAdmin):
    """Who opted out of what: changed only by the person (unsubscribe link, preferences)."""

    list_display = ["address", "category", "source", "created_at"]
    list_filter = ["category", "source"]
    search_fields = ["address"]
    show_full_result_count = False


class WebhookSubscriptionForm(forms.ModelForm):
    """The subscription's fields, checked by the webhooks service (URL safety, known events)."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "active"]

    def __init__(self, *args, **kwargs):
        from .webhooks import registry

        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(e.name, f"{e.name}: {e.description}")
                                         for e in registry.events()]  # fmt: skip

    def clean(self):
        from .errors import DomainError
        from .webhooks import services

        data = super().clean()
        if self.errors:
            return data
        try:
            data.update(services.validate(dict(data)))
        except DomainError as exc:
            for field, problems in (exc.errors or {"__all__": [exc.message]}).items():
                self.add_error(field if field in self.fields else None, problems)
        return data


class WebhookDeliveryInline(ReadOnlyInline):
    """The latest deliveries with what the receiver answered."""

    model = WebhookDelivery
    fields = ["created_at", "event", "status", "attempts", "response_code", "last_error"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    max_num = 20
    verbose_name_plural = "latest deliveries"

    def get_queryset(self, request):
        recent = WebhookDelivery.objects.order_by("-created_at", "-pk").values("pk")
        return super().get_queryset(request).filter(pk__in=recent[:200])


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Admins change webhook subscriptions here as in the desk: writes through the service
    (URL checks, re-enabling forgets failures), a "send test" action, the delivery log.

    New ones are made in the desk or the API, which show the secret once; the admin never
    shows it whole."""

    form = WebhookSubscriptionForm
    list_display = ["name", "url", "active", "consecutive_failures", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "consecutive_failures", "disabled_reason", "created_by",
                       "created_at", "updated_at"]  # fmt: skip
    inlines = [WebhookDeliveryInline]
    actions = ["send_test"]

    def _allowed(self, request) -> bool:
        from .webhooks.permissions import can_manage_webhooks

        return can_manage_webhooks(request.user)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    @admin.display(description="Secret")
    def secret_hint(self, subscription):
        return f"{subscription.secret[:4]}… (shown whole only when made or rotated)"

    def save_model(self, request, obj, form, change):
        from .webhooks import services

        data = {name: form.cleaned_data[name] for name in ("name", "url", "events", "active")}
        services.update_subscription(subscription=obj, by=request.user, data=data)

    def delete_model(self, request, obj):
        from .webhooks import services

        services.delete_subscription(subscription=obj, by=request.user)

    @admin.action(description="Send a test delivery")
    def send_test(self, request, queryset):
        from .errors import DomainError
        from .webhooks import services

        for subscription in queryset:
            try:
                services.send_test(subscription=subscription, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{subscription}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Test queued to {subscription}.", messages.SUCCESS)
