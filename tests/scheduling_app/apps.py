from django.apps import AppConfig


class SchedulingAppConfig(AppConfig):
    """A test-only app with one concrete kind of scheduled work (installed by the test settings)."""

    name = "tests.scheduling_app"
    label = "scheduling_app"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import scheduling

        from .handlers import send_reminder
        from .models import Reminder

        scheduling.register(Reminder, send_reminder, batch_size=20, max_attempts=3)
