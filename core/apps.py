from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with the product's site (`core.admin_site`)."""

    default = False  # "core" itself is CoreConfig
    default_site = "core.admin_site.SupportAdminSite"


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from . import privacy_parts  # what it holds about a person (core.privacy)

        privacy_parts.register()
        from anymail.signals import tracking
        from django.db.models.signals import post_migrate

        from . import observability
        from .notifications.tracking import on_tracking
        from .roles import sync_role_permissions

        observability.connect_celery_signals()
        # After every migrate, once all apps' permissions exist, so later apps' rights are granted.
        post_migrate.connect(sync_role_permissions, dispatch_uid="core.sync_role_permissions")
        # The ESP's delivery events (anymail's tracking webhook) onto their outbox rows.
        tracking.connect(on_tracking, dispatch_uid="core.record_delivery_event")
