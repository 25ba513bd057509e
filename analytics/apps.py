"""Support analytics (issue 16): metrics over tickets, incidents and the knowledge base, kept in
daily rollups; the top layer (it reads support, knowledge and incidents; nothing imports it)."""

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from . import privacy  # what it holds about a person (core.privacy)

        privacy.register()
