"""AI assist: providers behind one interface, models trained on the organisation's own tickets,
every call logged. A Django app of its own (label `support_assist`) inside `support`, so its
migrations never collide with support's; it stands on `support` and `knowledge`, and the apps
above it (bookings, incidents) register their tools into `support.assist.tools` from their own
`ready()`.
"""
