"""The Bookings domain: job completion and follow-up.

See DESIGN.md. Its models arrive with its own issue.
"""

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"
