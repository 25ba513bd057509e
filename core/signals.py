"""Signals the kernel sends for the apps above it (core imports no app)."""

from django.dispatch import Signal

# An active account now has a usable password (set, changed or reset, or a sign-up confirmed):
# whatever let its address in without one (support's e-mailed ticket links) should end.
# Sent with `user`.
password_in_use = Signal()
