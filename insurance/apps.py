"""The Insurance domain: insurance-document review, audit trail and reminders (DESIGN §7)."""

from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "insurance"
    verbose_name = "Insurance"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)

        privacy.register()
        from core import scheduling
        from core.roles import Role, register_role_permissions

        from . import workflow  # noqa: F401  (registers the state machine)
        from .models import Reminder
        from .reminders import send_due_reminder

        scheduling.register(
            Reminder,
            send_due_reminder,
            max_attempts=5,
            backoff=scheduling.exponential_backoff(),
        )
        register_role_permissions(Role.REVIEWER, REVIEWER_PERMISSIONS)


# What reviewers may do in the Django admin: read everything, correct nothing by hand (every
# change goes through the services, which keep the record).
REVIEWER_PERMISSIONS = {
    "insurance.view_insurancedocument",
    "insurance.view_inforequest",
    "insurance.view_inforequestitem",
    "insurance.view_documentactivity",
    "insurance.view_reminder",
}
