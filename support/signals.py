"""Signals support sends for the apps above it (which it cannot import)."""

from django.dispatch import Signal

# A person filed a request on the help center's contact form. Arguments: `ticket`, `user` (the
# request's user, maybe anonymous), `session_key` ("" without a session), `at`. Incidents counts
# it against the banner that was shown to them (`incidents.deflection`).
request_filed = Signal()
