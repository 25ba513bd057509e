"""Deleting what outlived its retention period; run by the `core.tasks.housekeeping` beat job,
and stored files that no row references (`core.tasks.sweep_orphaned_files`)."""

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.attachments import get_bucket_storage
from core.models import IdempotencyRecord, Notification, OutboxMessage
from core.models.notifications import OutboxStatus

logger = logging.getLogger(__name__)


def _delete_in_batches(queryset, *, batch_size: int, max_batches: int) -> int:
    """Deletes the rows of `queryset` a batch at a time (short transactions, bounded locks)."""
    model = queryset.model
    deleted = 0
    for _ in range(max_batches):
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        _, per_model = model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            break
    return deleted


def purge_expired(now=None, *, batch_size: int = 1000, max_batches: int = 100) -> dict:
    """Deletes expired rows and returns how many of each kind went.

    * in-app notifications read more than NOTIFICATION_RETENTION_DAYS ago (by creation), and all
      of them, read or not, older than twice that;
    * outbox rows sent or failed more than OUTBOX_RETENTION_DAYS ago (pending and sending rows are
      kept whatever their age: they are work still to do). Their keys can then be written again;
    * idempotency records older than IDEMPOTENCY_KEY_TTL_HOURS.

    At most `batch_size * max_batches` rows of each kind per run; the next run continues.
    """
    now = now or timezone.now()
    limits = {"batch_size": batch_size, "max_batches": max_batches}
    notification_cutoff = now - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    counts = {
        "notifications": _delete_in_batches(
            Notification.objects.filter(
                Q(read_at__isnull=False, created_at__lt=notification_cutoff)
                | Q(created_at__lt=now - 2 * timedelta(days=settings.NOTIFICATION_RETENTION_DAYS))
            ).order_by(),
            **limits,
        ),
        "outbox": _delete_in_batches(
            OutboxMessage.objects.filter(
                status__in=[OutboxStatus.SENT, OutboxStatus.FAILED],
                created_at__lt=now - timedelta(days=settings.OUTBOX_RETENTION_DAYS),
            ).order_by(),
            **limits,
        ),
        "idempotency": _delete_in_batches(
            IdempotencyRecord.objects.filter(
                created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
            ).order_by(),
            **limits,
        ),
    }
    logger.info(
        "housekeeping purged notifications=%d outbox=%d idempotency=%d",
        counts["notifications"],
        counts["outbox"],
        counts["idempotency"],
    )
    return counts


# --- stored files that no row references ------------------------------------------------------

#: Stored objects looked at per bucket and run; a cursor makes the next run carry on after them.
ORPHAN_SWEEP_MAX_OBJECTS = 10_000
ORPHAN_SWEEP_BATCH = 500
_CURSOR_KEY = "core:orphan-sweep:{bucket}"
_CURSOR_TTL = 30 * 24 * 3600  # losing the cursor only means starting again from the beginning


def referencing_fields(bucket: str) -> list[tuple[type[models.Model], str]]:
    """The FileFields of installed models that store into `bucket`, as (model, field name).

    Found from the models themselves, so a domain's attachments join the sweep by declaring a
    FileField whose storage is the bucket's (e.g. `storage=lambda: get_bucket_storage(...)`).
    """
    storage = get_bucket_storage(bucket)
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, models.FileField) and _storage_of(field) is storage:
                found.append((model, field.name))
    return found


def _storage_of(field: models.FileField) -> Storage:
    # A callable storage is resolved once when the model is defined; calling it again gives the
    # bucket's current storage (the same object unless settings.STORAGES changed since).
    factory = getattr(field, "_storage_callable", None)
    return factory() if factory is not None else field.storage


def sweep_orphaned_files(
    now=None,
    *,
    buckets=None,
    grace: timedelta | None = None,
    max_objects: int = ORPHAN_SWEEP_MAX_OBJECTS,
    batch_size: int = ORPHAN_SWEEP_BATCH,
) -> dict[str, int]:
    """Deletes stored files of each file bucket that no row references; returns counts per bucket.

    Files are stored before the rows naming them are committed (`core.attachments`), and a
    rolled-back write usually deletes its files at once; this catches the rest (an outer
    transaction rolled back, a process killed between the two steps, rows deleted by cascade).

    Guarantees: a file is deleted only if it is older than `grace` (default
    ATTACHMENT_ORPHAN_GRACE_SECONDS), so an upload whose row is not committed yet is safe, and
    only if no FileField that stores into its bucket names it (checked after the age test, in
    the same pass). A bucket no model stores into is left alone. At most `max_objects` stored
    objects per bucket are looked at per run; a cursor in the cache makes the next run continue
    after the last one, and starts again from the beginning once the listing is exhausted.
    """
    now = now or timezone.now()
    if grace is None:
        grace = timedelta(seconds=settings.ATTACHMENT_ORPHAN_GRACE_SECONDS)
    counts = {}
    for bucket in buckets if buckets is not None else settings.FILE_BUCKETS:
        counts[bucket] = _sweep_bucket(
            bucket, cutoff=now - grace, max_objects=max_objects, batch_size=batch_size
        )
    logger.info("orphan sweep deleted %s", counts)
    return counts


def _sweep_bucket(bucket: str, *, cutoff: datetime, max_objects: int, batch_size: int) -> int:
    fields = referencing_fields(bucket)
    if not fields:
        # Nothing can reference its files, so "unreferenced" would mean everything: leave it.
        logger.info("no model stores into bucket %s; not swept", bucket)
        return 0
    storage = get_bucket_storage(bucket)
    cursor_key = _CURSOR_KEY.format(bucket=bucket)
    start_after = cache.get(cursor_key) or ""
    objects = islice(_stored_objects(storage, start_after=start_after), max_objects)
    seen = deleted = 0
    last = start_after
    while batch := list(islice(objects, batch_size)):
        seen += len(batch)
        last = batch[-1][0]
        old = [name for name, modified_at in batch if modified_at < cutoff]
        for name in _unreferenced(old, fields):
            if _delete(storage, bucket, name):
                deleted += 1
    # A short listing reached the end: the next run starts from the beginning again.
    cache.set(cursor_key, last if seen >= max_objects else "", _CURSOR_TTL)
    return deleted


def _unreferenced(names: list[str], fields) -> list[str]:
    if not names:
        return []
    referenced = set()
    for model, field_name in fields:
        referenced.update(
            model._base_manager.filter(**{f"{field_name}__in": names}).values_list(
                field_name, flat=True
            )
        )
    return [name for name in names if name not in referenced]


def _delete(storage: Storage, bucket: str, name: str) -> bool:
    try:
        storage.delete(name)
    except Exception:
        logger.warning("orphan sweep could not delete %s from %s", name, bucket, exc_info=True)
        return False
    if isinstance(storage, FileSystemStorage):
        # Keys are `YYYY/MM/<uuid>/<name>`: the per-upload folder is empty now. Nobody else
        # writes into it, and a folder that is not empty stays (rmdir refuses).
        folder = os.path.dirname(storage.path(name))
        if folder != os.path.abspath(storage.location):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
    return True


def _stored_objects(storage: Storage, *, start_after: str) -> Iterator[tuple[str, datetime]]:
    """(name, last modified) of every stored object after `start_after`, in a stable order."""
    s3_module = sys.modules.get("storages.backends.s3")
    if s3_module is not None and isinstance(storage, s3_module.S3Storage):
        return _s3_objects(storage, start_after=start_after)
    return _listed_objects(storage, start_after=start_after)


def _s3_objects(storage, *, start_after: str) -> Iterator[tuple[str, datetime]]:
    # One paginated listing (1000 keys a request, with LastModified) instead of a HEAD per key.
    location = storage.location.strip("/")
    prefix = f"{location}/" if location else ""
    params = {"Bucket": storage.bucket_name, "Prefix": prefix}
    if start_after:
        params["StartAfter"] = prefix + start_after
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(**params, PaginationConfig={"PageSize": 1000}):
        for item in page.get("Contents", ()):
            yield item["Key"][len(prefix) :], item["LastModified"]


def _listed_objects(storage: Storage, *, start_after: str) -> Iterator[tuple[str, datetime]]:
    # Depth first through `listdir`, in sorted path-component order; whole folders that lie
    # before the cursor are skipped without being listed.
    after = tuple(start_after.split("/")) if start_after else ()

    def walk(parts: tuple[str, ...]):
        try:
            folders, files = storage.listdir("/".join(parts))
        except FileNotFoundError:
            return
        entries = sorted([(name, True) for name in folders] + [(name, False) for name in files])
        for name, is_folder in entries:
            path = (*parts, name)
            if is_folder:
                if path >= after[: len(path)]:
                    yield from walk(path)
            elif path > after:
                name = "/".join(path)
                try:
                    modified_at = storage.get_modified_time(name)
                except FileNotFoundError:
                    continue  # deleted since it was listed
                yield name, modified_at

    return walk(())
