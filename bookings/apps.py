"""The Bookings domain: job completion, the customer's verdict, support's follow-up (DESIGN §8)."""

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)

        privacy.register()
        from core import scheduling
        from core.demo import register_seeder
        from core.roles import Role, register_role_permissions

        from . import demo, services, workflow  # noqa: F401  (registers the state machine)
        from .models import FollowUpCheck

        register_seeder(70, "bookings", demo.seed_bookings)
        scheduling.register(
            FollowUpCheck,
            services.check_follow_up,
            max_attempts=5,
            backoff=scheduling.exponential_backoff(),
        )

        for role in (Role.AGENT, Role.SUPPORT_LEAD):
            register_role_permissions(role, STAFF_PERMISSIONS)

        # The assistant's booking lookup, run as the caller (support.assist.tools).
        from support.assist import tools

        from .assist_tools import booking_lookup_tool

        tools.register(booking_lookup_tool())


# Support staff read bookings in the Django admin; every change goes through the services.
STAFF_PERMISSIONS = {
    "bookings.view_booking",
    "bookings.view_bookingevent",
    "bookings.view_contactattempt",
    "bookings.view_review",
    "bookings.view_followupcheck",
}
