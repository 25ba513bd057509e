"""What the public status page shows, built once per change and cached.

Every change the page shows bumps a version key when it commits (`invalidate`); the page, feed
and JSON are cached under that version, so a change is visible on the next request and nothing
is rebuilt in between, however busy the desk is.
"""

from django.core.cache import cache

VERSION_KEY = "incidents:statuspage:version"


def version() -> int:
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        value = cache.get(VERSION_KEY) or 1
    return value


def invalidate() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: start one past any page cached under the default
        cache.set(VERSION_KEY, 2, timeout=None)
