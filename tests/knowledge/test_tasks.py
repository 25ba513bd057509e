"""The knowledge base's periodic task, called as beat calls it."""

import uuid

import pytest
from django.conf import settings

from knowledge import services, viewcounts
from knowledge.models import Article, Category, Status
from knowledge.tasks import flush_view_counts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"kb-tasks-{uuid.uuid4().hex}"
    settings.CACHES = caches


def test_beat_flushes_view_counts_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["knowledge-flush-view-counts"]
    assert entry == {"task": "knowledge.tasks.flush_view_counts", "schedule": 60.0}
    assert flush_view_counts.name == "knowledge.tasks.flush_view_counts"


def test_flush_view_counts_moves_the_counted_views_once(lead):
    article = services.create_article(by=lead, title="Reset", category=Category.HOW_TO)
    article = services.change_status(article=article, by=lead, to=Status.PUBLISHED)
    viewcounts.add_view(article.pk, 4)
    assert flush_view_counts() == 4
    assert flush_view_counts() == 0  # a redelivered run finds nothing left
    assert Article.objects.get(pk=article.pk).view_count == 4


def test_flush_view_counts_ignores_an_article_deleted_meanwhile(lead):
    article = services.create_article(by=lead, title="Gone soon", category=Category.FAQ)
    viewcounts.add_view(article.pk, 2)
    Article.objects.filter(pk=article.pk).delete()
    assert flush_view_counts() == 2  # taken from the cache; there is no row to add them to
    assert viewcounts.pending() == {}
