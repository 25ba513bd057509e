"""Who else has a ticket open on the desk, and whether they are writing: collision warnings.

Each open workspace reports every few seconds (a small POST from the page); the reports live
in the cache for `PRESENCE_SECONDS`, never in the database. A report that stops (tab closed,
network gone) simply expires.
"""

import time

from django.core.cache import cache

PRESENCE_SECONDS = 45
STATES = ("viewing", "replying")


def _key(ticket_id: int) -> str:
    return f"support:presence:{ticket_id}"


def report(ticket, user, *, state: str) -> list[dict]:
    """Record that `user` has `ticket` open (`state`: viewing or replying) and return the
    others who do, most recent first."""
    state = state if state in STATES else "viewing"
    now = time.time()
    key = _key(ticket.pk)
    present = {
        user_id: entry
        for user_id, entry in (cache.get(key) or {}).items()
        if now - entry["at"] < PRESENCE_SECONDS
    }
    present[str(user.pk)] = {"name": user.display_name, "state": state, "at": now}
    cache.set(key, present, PRESENCE_SECONDS)
    others = [entry for user_id, entry in present.items() if user_id != str(user.pk)]
    return sorted(others, key=lambda entry: -entry["at"])
