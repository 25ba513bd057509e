"""The Insurance domain: insurance-document review, audit trail and reminders.

See DESIGN.md. Its models arrive with its own issue.
"""

from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "insurance"
    verbose_name = "Insurance"
