"""Article views counted in the cache and written to the articles once a minute.

A page view costs cache operations, never a database write:

- a viewer (a signed-in user, else the visitor's session, else their address and browser) is
  counted once per article per `DEDUPE_SECONDS` (`cache.add` of a dedupe key: only the first
  add within the window succeeds); crawlers and link previews are not counted at all;
- the article's counter (`kb:views:<id>`) is incremented; the increment that takes it from 0
  to 1 also notes the article id in an append-only log of slots (`kb:views:slot:<n>`, `n` from
  an incremented counter), which is how the flush finds the articles with views to write.

`flush()` (the `knowledge.tasks.flush_view_counts` beat task) reads the log, then for each
article takes what its counter holds by *decrementing it by what it read*. Two flushes that
overlap may read the same value; the decrement is atomic, so the second one sees the counter
go below zero, keeps only what was really there and gives the rest back. Nothing is counted
twice and nothing is lost: every view is either still in a counter or was added by exactly one
flush. A counter left above zero (views arriving during a flush) goes back in the log, and
once an hour `audit()` reads every article's counter, for what the log may have missed.

Only `add`, `get`, `get_many`, `set`, `delete_many`, `incr` and `decr` are used, which are
atomic where it matters on Redis (production, tests) and on the local-memory cache (embedded
mode). The local-memory cache is private to a process, so a Celery worker cannot read what the
web process counted: there the web process flushes itself, at most once a minute, from a page
view (`record_view`). Counts that are in the cache and not yet flushed are lost if the cache is
(a Redis restart without persistence, the embedded process exiting): at most a minute of views.
"""

import hashlib
import re

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from core.clients import client_address

from . import services
from .models import Article

DEDUPE_SECONDS = 30 * 60
FLUSH_EVERY_SECONDS = 60  # the beat entry's period; the embedded mode's in-process flush
FLUSH_BATCH = 500  # log slots, or articles, read per round of a flush
AUDIT_EVERY_SECONDS = 3600
BOTS = re.compile(r"bot|crawl|spider|slurp|preview|curl|wget|python-requests", re.IGNORECASE)

_COUNTER = "kb:views:{}"
_SLOT = "kb:views:slot:{}"
_SLOTS = "kb:views:slots"  # the last slot handed out
_FLUSHED = "kb:views:flushed"  # the last slot a flush has read
_SEEN = "kb:viewed:{}:{}"
_SELF_FLUSH = "kb:views:self-flush"
_AUDITED = "kb:views:audited"


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOTS.search(user_agent))


def viewer_of(request) -> str:
    """Who is viewing, as a digest: the user, the session, or address and browser."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        who = f"user:{user.pk}"
    elif getattr(request, "session", None) is not None and request.session.session_key:
        who = f"session:{request.session.session_key}"
    else:
        agent = request.META.get("HTTP_USER_AGENT", "")
        who = f"client:{client_address(request)}:{agent}"
    return hashlib.sha256(who.encode()).hexdigest()[:32]


def record_view(request, article) -> bool:
    """Count this request as a view of `article` unless it is a bot's or a repeat. True if
    counted."""
    if is_bot(request.META.get("HTTP_USER_AGENT", "")):
        return False
    if not cache.add(_SEEN.format(article.pk, viewer_of(request)), 1, DEDUPE_SECONDS):
        return False
    add_view(article.pk)
    if _process_local():
        _flush_now_and_then()
    return True


def add_view(article_id: int, views: int = 1) -> None:
    key = _COUNTER.format(article_id)
    cache.add(key, 0, timeout=None)
    try:
        now = cache.incr(key, views)
    except ValueError:  # evicted between the add and the increment
        now = views if cache.add(key, views, timeout=None) else cache.incr(key, views)
    if now == views:  # it was empty: the flush must learn of this article
        _note_dirty(article_id)


def _note_dirty(article_id: int) -> None:
    cache.add(_SLOTS, 0, timeout=None)
    slot = cache.incr(_SLOTS)
    cache.set(_SLOT.format(slot), article_id, timeout=None)


def pending() -> dict[int, int]:
    """The counts waiting for a flush, by article id (for tests and the shell)."""
    ids = _logged_ids(0, cache.get(_SLOTS) or 0)
    values = cache.get_many([_COUNTER.format(i) for i in ids])
    return {i: values.get(_COUNTER.format(i), 0) for i in ids if values.get(_COUNTER.format(i))}


def _logged_ids(after: int, upto: int) -> list[int]:
    keys = [_SLOT.format(n) for n in range(after + 1, upto + 1)]
    return sorted(set(cache.get_many(keys).values())) if keys else []


def _take(article_id: int) -> int:
    """Take what the article's counter holds, leaving it at zero unless views came in."""
    key = _COUNTER.format(article_id)
    read = cache.get(key) or 0
    if read <= 0:
        return 0
    try:
        after = cache.decr(key, read)
    except ValueError:  # the counter is gone (evicted): nothing to take
        return 0
    # Below zero, another flush took part of what we read: keep only what was there.
    taken = read if after >= 0 else max(0, read + after)
    if taken < read:
        after = cache.incr(key, read - taken)
    if after > 0:  # views arrived meanwhile, or a give-back: stay in the log
        _note_dirty(article_id)
    return taken


def _give_back(counts: dict[int, int]) -> None:
    for article_id, views in counts.items():
        add_view(article_id, views)
        _note_dirty(article_id)


def flush() -> int:
    """Move the counted views of the logged articles into the articles; the number moved.

    Safe to run twice at once (see the module's docstring). If the database write fails, the
    views go back into the cache for the next flush.
    """
    moved = 0
    while True:
        upto = cache.get(_SLOTS) or 0
        after = cache.get(_FLUSHED) or 0
        if upto < after:  # the slot counter was lost (the cache restarted): the log starts again
            after = 0
        if upto == after:
            return moved
        upto = min(upto, after + FLUSH_BATCH)
        ids = _logged_ids(after, upto)
        cache.set(_FLUSHED, upto, timeout=None)
        cache.delete_many([_SLOT.format(n) for n in range(after + 1, upto + 1)])
        moved += _move(ids)


def audit() -> int:
    """Move the counted views of every article, logged or not; the number moved.

    The log can miss an article: a slot read by a flush in the instant between its number
    being handed out and the article id being written, or a slot the cache evicted. Its
    counter then waits here, hourly (`AUDIT_EVERY_SECONDS`), at one `get_many` per batch.
    """
    moved, last = 0, 0
    while True:
        ids = list(
            Article.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:FLUSH_BATCH]
        )
        if not ids:
            return moved
        last = ids[-1]
        values = cache.get_many([_COUNTER.format(i) for i in ids])
        moved += _move([i for i in ids if (values.get(_COUNTER.format(i)) or 0) > 0])


def flush_due() -> int:
    """The beat task's work: the log every run, every article once an hour."""
    moved = flush()
    if cache.add(_AUDITED, 1, AUDIT_EVERY_SECONDS):
        moved += audit()
    return moved


def _move(ids) -> int:
    counts = {article_id: _take(article_id) for article_id in ids}
    counts = {article_id: views for article_id, views in counts.items() if views}
    try:
        services.add_views(counts)
    except Exception:
        _give_back(counts)
        raise
    return sum(counts.values())


def _process_local() -> bool:
    # The local-memory cache lives in this process only: no worker can read it.
    return isinstance(caches["default"], LocMemCache)


def _flush_now_and_then() -> None:
    if cache.add(_SELF_FLUSH, 1, FLUSH_EVERY_SECONDS):
        flush_due()
