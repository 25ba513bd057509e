"""The audit hash chain over every domain's audit events (every concrete `AuditEvent` model).

Rows are sealed after they are written, not while: a beat job (`seal`) takes the rows older
than `SEAL_LAG` that have no seal yet, in (table, id) order and bounded batches, under one lock
on the chain's head, so the write path of tickets and documents never waits for the chain.
`verify` walks the chain: a link whose `prev_hash` is not the previous link's `chain_hash` (a
removed or altered seal), a row whose content no longer matches its latest seal (altered), a
sealed row that is gone (deleted) are each reported. A row deleted on purpose (retention, the
deletion of the ticket it belongs to) is first `retire`d: its latest seal then says it is gone.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.models.audit import AuditEvent

from .models import AuditSeal

GENESIS = "0" * 64
SEAL_LAG = timedelta(minutes=2)
BATCH = 2000
CHUNK = 2000
LOCK_ID = 22_0001  # the chain head's advisory lock (PostgreSQL)


def audit_models() -> list[type[AuditEvent]]:
    return sorted(
        (m for m in apps.get_models() if issubclass(m, AuditEvent)), key=lambda m: m._meta.label
    )


def _key() -> bytes:
    secret = getattr(settings, "AUDIT_CHAIN_KEY", "") or settings.SECRET_KEY
    return hashlib.sha256(f"audit-chain:{secret}".encode()).digest()


def canonical(row) -> dict:
    """Every concrete column of the row, as JSON-able values in a fixed order."""
    values = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        values[f.attname] = value
    return {"table": row._meta.label, **values}


def row_hash(row) -> str:
    body = json.dumps(canonical(row), sort_keys=True, default=str, separators=(",", ":"))
    return hmac.new(_key(), body.encode(), hashlib.sha256).hexdigest()


def link(prev: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}{digest}".encode()).hexdigest()


def _head() -> str:
    """The last link, locked: one writer of the chain at a time (the advisory lock also holds
    while the chain is still empty)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
    last = AuditSeal.objects.select_for_update().order_by("-pk").first()
    return last.chain_hash if last else GENESIS


def _append(rows, *, reason: str = "") -> int:
    """Seal these rows at the end of the chain (call inside a transaction)."""
    prev = _head()
    seals = []
    for row in rows:
        digest = row_hash(row)
        chained = link(prev, digest)
        seals.append(
            AuditSeal(
                table=row._meta.label,
                row_id=row.pk,
                row_hash=digest,
                prev_hash=prev,
                chain_hash=chained,
                reason=reason,
            )
        )
        prev = chained
    AuditSeal.objects.bulk_create(seals)
    return len(seals)


def seal(*, now=None, batch: int | None = None) -> int:
    """Seal up to `batch` unsealed rows older than the lag; returns how many were sealed."""
    batch = batch or BATCH
    cutoff = (now or timezone.now()) - SEAL_LAG
    sealed = 0
    with transaction.atomic():
        _head()  # the chain's lock: one sealer at a time
        for model in audit_models():
            if sealed >= batch:
                break
            label = model._meta.label
            last = (
                AuditSeal.objects.filter(table=label)
                .order_by("-row_id")
                .values_list("row_id", flat=True)
                .first()
                or 0
            )
            # A row committed late with a lower id than the last sealed one is caught by the
            # window below the last id.
            window = max(0, last - 10_000)
            done = set(
                AuditSeal.objects.filter(table=label, row_id__gt=window).values_list(
                    "row_id", flat=True
                )
            )
            rows = [
                r
                for r in model._base_manager.filter(pk__gt=window, created_at__lt=cutoff).order_by(
                    "pk"
                )[: batch - sealed + len(done)]
                if r.pk not in done
            ][: batch - sealed]
            sealed += _append(rows)
    return sealed


def retired_hash(table: str, row_id: int) -> str:
    """What the seal of a row deleted on purpose holds instead of the row's HMAC."""
    return hmac.new(_key(), f"retired:{table}:{row_id}".encode(), hashlib.sha256).hexdigest()


def retire(model, pks, *, reason: str = "retention") -> int:
    """Record in the chain that these sealed rows are deleted on purpose (retention, or the
    deletion of what they belong to): one link per row, whose `row_hash` is `retired_hash`, so
    `verify` expects the row gone. Call it in the transaction that deletes them."""
    label = model._meta.label
    sealed = sorted(
        set(
            AuditSeal.objects.filter(table=label, row_id__in=list(pks)).values_list(
                "row_id", flat=True
            )
        )
    )
    if not sealed:
        return 0
    with transaction.atomic():
        prev = _head()
        seals = []
        for row_id in sealed:
            digest = retired_hash(label, row_id)
            chained = link(prev, digest)
            seals.append(
                AuditSeal(
                    table=label,
                    row_id=row_id,
                    row_hash=digest,
                    prev_hash=prev,
                    chain_hash=chained,
                    reason=f"retired: {reason}",
                )
            )
            prev = chained
        AuditSeal.objects.bulk_create(seals)
    return len(seals)


def reseal(rows, *, reason: str) -> int:
    """Seal rows again after a sanctioned change (erasure's anonymisation)."""
    rows = [r for r in rows if AuditSeal.objects.filter(table=r._meta.label, row_id=r.pk).exists()]
    if not rows:
        return 0
    with transaction.atomic():
        return _append(rows, reason=reason)


@dataclass
class Verification:
    links: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(*, limit_problems: int = 100) -> Verification:
    """Walk the whole chain, then every sealed row against its latest seal, in bounded chunks
    (memory stays flat whatever the size of the trail)."""
    result = Verification()
    prev = GENESIS
    for s in (
        AuditSeal.objects.order_by("pk")
        .only("pk", "prev_hash", "row_hash", "chain_hash")
        .iterator(chunk_size=CHUNK)
    ):
        result.links += 1
        if s.prev_hash != prev or link(s.prev_hash, s.row_hash) != s.chain_hash:
            result.problems.append(
                f"seal {s.pk}: the chain is broken here (a seal removed or altered)"
            )
        prev = s.chain_hash
    tables = AuditSeal.objects.values_list("table", flat=True).distinct().order_by("table")
    for table in tables:
        model = apps.get_model(table)
        after = -1
        while True:
            # The latest seal of each row comes first in (row_id, -pk) order; older seals of
            # the last row of a chunk are skipped by the next chunk's `row_id > after`.
            seals = (
                AuditSeal.objects.filter(table=table, row_id__gt=after)
                .order_by("row_id", "-pk")
                .values_list("row_id", "row_hash")[:CHUNK]
            )
            chunk: dict[int, str] = {}
            for row_id, digest in seals:
                chunk.setdefault(row_id, digest)
            if not chunk:
                break
            found = {r.pk: r for r in model._base_manager.filter(pk__in=list(chunk))}
            for row_id, digest in sorted(chunk.items()):
                row = found.get(row_id)
                if digest == retired_hash(table, row_id):
                    if row is not None:
                        result.problems.append(f"{table} {row_id}: retired, and still there")
                elif row is None:
                    result.problems.append(f"{table} {row_id}: sealed, and deleted since")
                elif row_hash(row) != digest:
                    result.problems.append(f"{table} {row_id}: altered since it was sealed")
            after = max(chunk)
    del result.problems[limit_problems:]
    return result
