"""The Incidents domain: incidents, their timeline, post-mortems and the public status page.

See DESIGN.md. Its models arrive with its own issue.
"""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"
