"""The daily rollups: kept up to date from the ticket events, rebuilt for a range on demand.

Every ticket's contributions (`metrics.contributions`) are stored with it (`TicketFact`); the
rollup rows are always their sum. A change to a ticket takes back what it had added and adds
what it adds now, so running the same work twice changes nothing the second time, and a
rebuild from the tickets gives the same rows as the incremental job.

Every write to the rollups happens under the watermark row's lock (`FOR UPDATE SKIP LOCKED`):
a second run at the same moment finds it taken and does nothing (`busy`), the rebuild command
waits for it.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.bulk import update_rows
from support.models import Ticket, TicketEvent

from . import facts
from .metrics import COUNTS, TIMES, Contribution, bucket_of, contributions, day_bounds, time_zone
from .models import DIMENSION_FIELDS, DailyRollup, DailySlice, TicketFact, Watermark

STREAM = "ticket-events"
BATCH_EVENTS = 5000
TICKET_CHUNK = 1000
KEY_CHUNK = 200
# How long an id the watermark passed while missing may still appear (a transaction that took
# its id before, and commits after, a later one). Longer transactions than this are not ours.
GAP_PATIENCE = dt.timedelta(minutes=10)


@dataclass
class RefreshResult:
    busy: bool = False
    events: int = 0
    tickets: int = 0
    changed: int = 0
    rows_written: int = 0


def _dims(snapshot) -> tuple:
    return (
        snapshot.team_id or 0,
        snapshot.priority or "",
        snapshot.category_id or 0,
        snapshot.channel or "",
    )


def _fact_dims(fact: TicketFact) -> tuple:
    return (fact.team_id, fact.priority, fact.category_id, fact.channel)


class Delta:
    """Changes to rollup rows, by key, collected in memory and written in a few statements."""

    def __init__(self):
        self.rows: dict[tuple, dict] = {}

    def add(self, dims: tuple, found: list[Contribution], sign: int, keep=None) -> None:
        team_id, priority, category_id, channel = dims
        for contribution in found:
            if keep is not None and not keep(contribution.day):
                continue
            key = (
                contribution.day,
                team_id,
                contribution.agent_id or 0,
                priority,
                category_id,
                channel,
            )
            row = self.rows.setdefault(
                key,
                {
                    "counts": defaultdict(int),
                    "sums": defaultdict(float),
                    "hist": defaultdict(lambda: defaultdict(int)),
                },
            )
            for name, value in contribution.counts.items():
                row["counts"][name] += sign * value
            for name, values in contribution.samples.items():
                for value in values:
                    row["counts"][f"{name}_n"] += sign
                    row["sums"][f"{name}_sum"] += sign * value
                    row["hist"][name][str(bucket_of(value))] += sign
            for level, value in contribution.levels.items():
                row["hist"]["levels"][level] += sign * value

    def write(self) -> int:
        """Apply to the rollup rows and their slices (read, change, write back; rows left
        empty are deleted). Returns the rows written."""
        changes = {key: row for key, row in self.rows.items() if not _is_zero(row)}
        slices: dict[tuple, dict] = {}
        for key, change in changes.items():
            for slice_key in _slice_keys(key):
                _merge(slices.setdefault(slice_key, _empty_change()), change)
        return _write(DailyRollup, ("day", *DIMENSION_FIELDS), changes) + _write(
            DailySlice, SLICE_FIELDS, {k: v for k, v in slices.items() if not _is_zero(v)}
        )


SLICE_FIELDS = ("day", "dimension", "value")
SLICE_DIMENSIONS = ("team", "agent", "priority", "category", "channel")


def _slice_keys(key: tuple) -> list[tuple]:
    day, *values = key
    return [(day, "", "")] + [
        (day, name, str(value)) for name, value in zip(SLICE_DIMENSIONS, values, strict=True)
    ]


def _empty_change() -> dict:
    return {
        "counts": defaultdict(int),
        "sums": defaultdict(float),
        "hist": defaultdict(lambda: defaultdict(int)),
    }


def _merge(into: dict, change: dict) -> None:
    for name, value in change["counts"].items():
        into["counts"][name] += value
    for name, value in change["sums"].items():
        into["sums"][name] += value
    for name, buckets in change["hist"].items():
        for bucket, value in buckets.items():
            into["hist"][name][bucket] += value


def _write(model, fields: tuple, changes: dict) -> int:
    keys = list(changes)
    written = 0
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        # One indexed lookup per day of the chunk: the days' rows, matched here by key.
        days = {key[0] for key in chunk}
        wanted = set(chunk)
        existing = {}
        for row in model.objects.filter(day__in=days, **_narrowing(fields, chunk)):
            key = tuple(getattr(row, name) for name in fields)
            if key in wanted:
                existing[key] = row
        create, update, delete = [], [], []
        for key in chunk:
            row = existing.get(key)
            if row is None:
                row = model(**dict(zip(fields, key, strict=True)))
            _apply(row, changes[key])
            if _row_is_empty(row):
                if row.pk:
                    delete.append(row.pk)
            elif row.pk:
                update.append(row)
            else:
                create.append(row)
        if create:
            model.objects.bulk_create(create)
        if update:
            update_rows(model, update, MEASURE_FIELDS)
        if delete:
            model.objects.filter(pk__in=delete).delete()
        written += len(create) + len(update) + len(delete)
    return written


def _narrowing(fields: tuple, chunk: list[tuple]) -> dict:
    """`<field>__in` for the second key field, so a day's other rows are not read."""
    return {f"{fields[1]}__in": {key[1] for key in chunk}}


MEASURE_FIELDS = [*COUNTS, *(f"{n}_n" for n in TIMES), *(f"{n}_sum" for n in TIMES), "histograms"]


def _key_of(row: DailyRollup) -> tuple:
    return (row.day, *(getattr(row, name) for name in DIMENSION_FIELDS))


def _is_zero(change: dict) -> bool:
    return (
        not any(change["counts"].values())
        and not any(abs(v) > 1e-9 for v in change["sums"].values())
        and not any(any(b.values()) for b in change["hist"].values())
    )


def _apply(row: DailyRollup, change: dict) -> None:
    for name, value in change["counts"].items():
        setattr(row, name, getattr(row, name) + value)
    for name, value in change["sums"].items():
        setattr(row, name, getattr(row, name) + value)
    histograms = row.histograms or {}
    for name, buckets in change["hist"].items():
        kept = histograms.setdefault(name, {})
        for bucket, value in buckets.items():
            total = kept.get(bucket, 0) + value
            if total:
                kept[bucket] = total
            else:
                kept.pop(bucket, None)
        if not kept:
            histograms.pop(name)
    row.histograms = histograms


def _row_is_empty(row: DailyRollup) -> bool:
    return not row.histograms and not any(
        getattr(row, name) for name in MEASURE_FIELDS if name != "histograms"
    )


def _day_range(found: list[Contribution], fallback: dt.date) -> tuple[dt.date, dt.date]:
    days = [c.day for c in found] or [fallback]
    return min(days), max(days)


def recompute(ticket_ids, *, keep_old=None, delta: Delta | None = None, tz=None) -> int:
    """Bring the facts and rollups of these tickets up to date; returns how many changed.

    `keep_old` limits which days of the stored contributions are taken back (a range rebuild
    has already deleted its own days). Call under the watermark lock.
    """
    tz = tz or time_zone()
    ids = list(ticket_ids)
    own_delta = delta is None
    delta = delta or Delta()
    stored = {fact.ticket_id: fact for fact in TicketFact.objects.filter(ticket_id__in=ids)}
    changed, create, update = 0, [], []
    seen = set()
    for snapshot in facts.snapshots(ids):
        seen.add(snapshot.ticket_id)
        found = contributions(snapshot, tz)
        as_json = [c.as_json() for c in found]
        dims = _dims(snapshot)
        fact = stored.get(snapshot.ticket_id)
        unchanged = fact is not None and fact.contributions == as_json
        if unchanged and keep_old is None and _fact_dims(fact) == dims:
            continue
        if fact is not None:
            old = [Contribution.from_json(c) for c in fact.contributions]
            delta.add(_fact_dims(fact), old, -1, keep=keep_old)
        delta.add(dims, found, 1)
        first, last = _day_range(found, snapshot.created_at.astimezone(tz).date())
        values = dict(zip(("team_id", "priority", "category_id", "channel"), dims, strict=True))
        values.update(
            contributions=as_json, first_day=first, last_day=last, computed_at=timezone.now()
        )
        if fact is None:
            create.append(TicketFact(ticket_id=snapshot.ticket_id, **values))
        else:
            for name, value in values.items():
                setattr(fact, name, value)
            update.append(fact)
        changed += 1
    # Tickets that are gone (erased) take their contributions with them.
    gone = [fact for pk, fact in stored.items() if pk not in seen]
    for fact in gone:
        old = [Contribution.from_json(c) for c in fact.contributions]
        delta.add(_fact_dims(fact), old, -1, keep=keep_old)
    if gone:
        TicketFact.objects.filter(ticket_id__in=[f.ticket_id for f in gone]).delete()
        changed += len(gone)
    if create:
        TicketFact.objects.bulk_create(create)
    if update:
        update_rows(
            TicketFact,
            update,
            [
                "team_id",
                "priority",
                "category_id",
                "channel",
                "contributions",
                "first_day",
                "last_day",
                "computed_at",
            ],
        )
    if own_delta:
        delta.write()
    return changed


def _locked_watermark(*, wait: bool) -> Watermark | None:
    Watermark.objects.get_or_create(name=STREAM)
    queryset = Watermark.objects.filter(name=STREAM)
    queryset = (
        queryset.select_for_update() if wait else queryset.select_for_update(skip_locked=True)
    )
    return queryset.first()


def _gap_query(gaps) -> Q | None:
    match = None
    for low, high, _since in gaps:
        part = Q(id__gte=low, id__lte=high)
        match = part if match is None else match | part
    return match


def _new_gaps(ids: list[int], after: int) -> list[tuple[int, int]]:
    """The runs of ids missing from `ids` (sorted), counting from `after`."""
    gaps, expected = [], after + 1
    for pk in ids:
        if pk > expected:
            gaps.append((expected, pk - 1))
        expected = pk + 1
    return gaps


def refresh(*, now=None, batch_size: int = BATCH_EVENTS) -> RefreshResult:
    """The incremental job: fold the ticket events since the watermark into the rollups.

    Reads at most `batch_size` new events (by id, the primary key's index) and the few ids the
    watermark passed while they were missing; recomputes only the tickets they name. Its cost
    follows what changed, not the size of the tables. Idempotent; a concurrent run is `busy`.
    """
    now = now or timezone.now()
    with transaction.atomic():
        mark = _locked_watermark(wait=False)
        if mark is None:
            return RefreshResult(busy=True)
        rows = list(
            TicketEvent.objects.filter(id__gt=mark.last_event_id)
            .order_by("id")
            .values_list("id", "ticket_id")[:batch_size]
        )
        ticket_ids = {ticket_id for _, ticket_id in rows}
        gaps = [gap for gap in mark.gaps if dt.datetime.fromisoformat(gap[2]) > now - GAP_PATIENCE]
        late = _gap_query(gaps)
        if late is not None:
            for pk, ticket_id in TicketEvent.objects.filter(late).values_list("id", "ticket_id"):
                ticket_ids.add(ticket_id)
                gaps = _remove_id(gaps, pk)
        if rows:
            ids = [pk for pk, _ in rows]
            gaps += [
                [low, high, now.isoformat()] for low, high in _new_gaps(ids, mark.last_event_id)
            ]
            mark.last_event_id = ids[-1]
        delta = Delta()
        changed = recompute(ticket_ids, delta=delta)
        written = delta.write()
        mark.gaps = gaps
        mark.updated_at = now
        mark.save(update_fields=["last_event_id", "gaps", "updated_at"])
    return RefreshResult(
        events=len(rows), tickets=len(ticket_ids), changed=changed, rows_written=written
    )


def _remove_id(gaps, pk: int) -> list:
    kept = []
    for low, high, since in gaps:
        if low <= pk <= high:
            if low < pk:
                kept.append([low, pk - 1, since])
            if pk < high:
                kept.append([pk + 1, high, since])
        else:
            kept.append([low, high, since])
    return kept


def rebuild(*, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Recompute the rollups from the tickets: all of them, or the days [start, end].

    A range rebuild deletes the range's rows and adds back what every ticket created in the
    range, or whose stored facts touch it, contributes there (its other days are corrected as
    the incremental job would). Waits for a running job; returns the tickets recomputed.
    """
    tz = time_zone()
    with transaction.atomic():
        mark = _locked_watermark(wait=True)
        if start is None and end is None:
            # Everything from scratch; the events up to here are then accounted for.
            last = TicketEvent.objects.aggregate(last=Max("id"))["last"] or 0
            DailyRollup.objects.all().delete()
            DailySlice.objects.all().delete()
            TicketFact.objects.all().delete()
            ids_query = Ticket.objects.order_by("pk").values_list("pk", flat=True)
            keep_old = None
            mark.last_event_id, mark.gaps = max(mark.last_event_id, last), []
            mark.save(update_fields=["last_event_id", "gaps"])
        else:
            since, until = day_bounds(start, end, tz)
            DailyRollup.objects.filter(day__gte=start, day__lte=end).delete()
            DailySlice.objects.filter(day__gte=start, day__lte=end).delete()
            created = set(
                Ticket.objects.filter(created_at__gte=since, created_at__lt=until).values_list(
                    "pk", flat=True
                )
            )
            touching = set(
                TicketFact.objects.filter(first_day__lte=end, last_day__gte=start).values_list(
                    "ticket_id", flat=True
                )
            )
            ids_query = sorted(created | touching)

            def keep_old(day):
                return not start <= day <= end

        ids = list(ids_query)
        count = 0
        for offset in range(0, len(ids), TICKET_CHUNK):
            # In a range rebuild every ticket is written again, changed or not: its days in
            # the range went with the rows.
            count += recompute(ids[offset : offset + TICKET_CHUNK], keep_old=keep_old, tz=tz)
    return count
