"""Article views: counted in the cache once per viewer, bots skipped, flushed without loss."""

import uuid

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from knowledge import services, viewcounts
from knowledge.models import Article, Category, Status

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """This test's counters only (the Redis of the suite outlives a test)."""
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"kb-views-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def local_memory_cache(settings):
    """The embedded mode's cache: private to this process."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"kb-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def published(lead):
    def make(title="Reset your password"):
        made = services.create_article(
            by=lead, title=title, category=Category.HOW_TO, content="Open Settings."
        )
        return services.change_status(article=made, by=lead, to=Status.PUBLISHED)

    return make


def browser(user_agent=BROWSER, **extra):
    return Client(HTTP_USER_AGENT=user_agent, **extra)


def view(client, article):
    assert client.get(f"/help/kb/{article.slug}/").status_code == 200


def views_in_db(article) -> int:
    return Article.objects.values_list("view_count", flat=True).get(pk=article.pk)


def test_a_view_is_counted_once_per_viewer_and_written_by_the_flush(published, customer):
    article = published()
    visitor, other, signed_in = browser(), browser(REMOTE_ADDR="10.0.0.9"), browser()
    signed_in.force_login(customer)
    for client in (visitor, visitor, other, signed_in, signed_in, visitor):
        view(client, article)
    assert viewcounts.pending() == {article.pk: 3}
    assert views_in_db(article) == 0  # nothing written yet

    assert viewcounts.flush() == 3
    assert views_in_db(article) == 3 and viewcounts.pending() == {}
    assert viewcounts.flush() == 0
    view(visitor, article)  # still inside the 30 minutes: not again
    assert viewcounts.pending() == {}


def test_a_page_view_writes_nothing_to_the_database(published):
    article = published()
    with CaptureQueriesContext(connection) as captured:
        view(browser(), article)
    writes = [
        q["sql"] for q in captured if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]
    assert writes == []
    assert viewcounts.pending() == {article.pk: 1}


def test_the_viewer_is_counted_again_after_the_window(published, monkeypatch):
    article = published()
    monkeypatch.setattr(viewcounts, "DEDUPE_SECONDS", 1)
    client = browser()
    view(client, article)
    import time

    time.sleep(1.1)
    view(client, article)
    assert viewcounts.pending() == {article.pk: 2}


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp)",
        "Baiduspider+(+http://www.baidu.com/search/spider.htm)",
        "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "Mozilla/5.0 AppleWebKit (KHTML, like Gecko) Chrome Safari (Discord link preview)",
        "curl/8.5.0",
        "Wget/1.21",
        "python-requests/2.32",
        "CCBot crawler",
        "",  # no browser sends nothing
    ],
)
def test_bots_are_not_counted(published, agent):
    article = published()
    view(browser(agent), article)
    assert viewcounts.pending() == {}


def test_counts_of_several_articles_flush_together(published):
    first, second = published("First"), published("Second")
    for n in range(3):
        view(browser(REMOTE_ADDR=f"10.0.0.{n}"), first)
    view(browser(), second)
    assert viewcounts.flush() == 4
    assert (views_in_db(first), views_in_db(second)) == (3, 1)


def test_two_flushes_at_once_count_each_view_once(published, monkeypatch):
    """The second flush reads the counter, the first takes it all meanwhile: the second keeps
    only what is really there (views that arrived in between)."""
    article = published()
    for _ in range(5):
        viewcounts.add_view(article.pk)
    counter = viewcounts._COUNTER.format(article.pk)
    backend = caches["default"]
    real_get = backend.get
    overlapped = []

    def get(key, *args, **kwargs):
        value = real_get(key, *args, **kwargs)
        if key == counter and not overlapped:
            overlapped.append(None)
            overlapped.append(viewcounts._take(article.pk))  # the other flush, in between
            viewcounts.add_view(article.pk, 2)  # and two views arrive
        return value

    monkeypatch.setattr(backend, "get", get)
    taken = viewcounts._take(article.pk)
    monkeypatch.undo()
    assert overlapped == [None, 5] and taken == 2  # read 5; only the 2 new views were there
    assert real_get(counter) == 0
    assert viewcounts.flush() == 0


def test_two_whole_flushes_at_once_lose_and_double_nothing(published, monkeypatch):
    article = published()
    for _ in range(4):
        viewcounts.add_view(article.pk)
    real_add_views = services.add_views
    nested = []

    def add_views(counts):
        if not nested:  # while the first flush writes, another runs and views arrive
            nested.append(True)
            viewcounts.add_view(article.pk, 3)
            viewcounts.flush()
        real_add_views(counts)

    monkeypatch.setattr(services, "add_views", add_views)
    viewcounts.flush()
    assert views_in_db(article) == 7 and viewcounts.pending() == {}


def test_a_failed_write_puts_the_views_back(published, monkeypatch):
    article = published()
    view(browser(), article)

    def broken(counts):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "add_views", broken)
    with pytest.raises(RuntimeError):
        viewcounts.flush()
    monkeypatch.undo()
    assert viewcounts.pending() == {article.pk: 1}
    assert viewcounts.flush() == 1 and views_in_db(article) == 1


def test_the_hourly_audit_finds_views_the_log_lost(published):
    article = published()
    view(browser(), article)
    viewcounts.cache.delete(viewcounts._SLOT.format(1))  # the log's slot, lost
    assert viewcounts.flush() == 0
    assert viewcounts.flush_due() == 1  # the first run of the hour audits every article
    assert views_in_db(article) == 1
    view(browser(REMOTE_ADDR="10.0.0.2"), article)
    assert viewcounts.flush_due() == 1  # the log again; no audit until the hour is over
    assert views_in_db(article) == 2


def test_embedded_mode_flushes_from_the_web_process(published, local_memory_cache):
    """The local-memory cache is the web process's own: no worker can read it, so the first
    view of each minute writes what was counted."""
    article = published()
    view(browser(), article)
    assert views_in_db(article) == 1
    view(browser(REMOTE_ADDR="10.0.0.2"), article)
    assert views_in_db(article) == 1 and viewcounts.pending() == {article.pk: 1}
    assert viewcounts.flush() == 1 and views_in_db(article) == 2
