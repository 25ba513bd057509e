"""The Django admin for bookings: every booking with its record, contact attempts and review.

Read-only: a booking changes only through `bookings.services`, which keep the record, the
tickets and the notifications; the one action here (start the follow-up) calls that service.
"""

from django.contrib import admin, messages

from core.admin import AuditTrailInline, ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError

from . import selectors, services
from .models import Booking, BookingEvent, ContactAttempt, Review


class EventInline(AuditTrailInline):
    model = BookingEvent


class ContactAttemptInline(ReadOnlyInline):
    model = ContactAttempt
    fields = ["attempted_at", "method", "reached", "agent", "notes"]
    readonly_fields = fields


@admin.action(description="Start the follow-up (a support ticket) now")
def start_follow_up(modeladmin, request, queryset):
    started = 0
    for booking in queryset[:100]:
        try:
            services.initiate_follow_up(booking=booking, by=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{booking.number}: {exc.message}", messages.WARNING)
        else:
            started += 1
    modeladmin.message_user(request, f"Follow-up started for {started} booking(s).")


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["number", "service", "customer", "technician", "scheduled_at", "status",
                    "completion_deadline", "escalated_at", "completion_outcome"]  # fmt: skip
    list_filter = ["status", "completion_outcome"]
    search_fields = ["number", "service", "customer__email", "technician__email"]
    list_select_related = ["customer", "technician"]
    show_full_result_count = False
    actions = [start_follow_up]
    inlines = [ContactAttemptInline, EventInline]

    def get_queryset(self, request):
        return selectors.bookings_for(request.user)


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdmin):
    list_display = ["attempted_at", "booking", "method", "reached", "agent"]
    list_filter = ["method", "reached"]
    list_select_related = ["booking", "agent"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["booking", "rating", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["booking"]


@admin.register(BookingEvent)
class BookingEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "booking", "kind", "actor"]
    list_filter = ["kind"]
    list_select_related = ["booking", "actor"]
    show_full_result_count = False
