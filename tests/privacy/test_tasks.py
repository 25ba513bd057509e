"""End to end: an export built by a real Celery worker, its progress committed as it goes."""

import io
import os
import zipfile

import pytest
import redis

from privacy import services, tasks
from privacy.models import PrivacyRequest
from tests.celery_worker import launch_worker, published_to, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

WORKER_REDIS_URL = os.environ.get("PRIVACY_WORKER_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def worker(tmp_path, settings, request):
    flush = redis.Redis.from_url(WORKER_REDIS_URL).flushdb
    flush()
    request.addfinalizer(flush)
    started = launch_worker(
        tmp_path,
        settings_text=f"from {settings.SETTINGS_MODULE} import *  # noqa: F403\n",
        redis_url=WORKER_REDIS_URL,
        name="privacy-worker",
    )
    request.addfinalizer(started.stop)
    return started


def test_a_worker_builds_the_export_a_lead_asked_for(worker, lead, alice):
    with published_to(WORKER_REDIS_URL, tasks.build_export):
        request = services.create_request(by=lead, kind="export", user=alice.user)

    def done():
        return PrivacyRequest.objects.get(pk=request.pk).status == "done"

    wait_for(done, 60, lambda: worker.log()[-3000:])
    request.refresh_from_db()
    assert request.progress == 100 and request.result["tickets"] == 1
    with request.archive.open("rb") as fh:
        names = zipfile.ZipFile(io.BytesIO(fh.read())).namelist()
    assert "data.json" in names and any(n.startswith("files/attachments/") for n in names)
