"""One batch per block in a context variable: bulk writes, nothing shared between tasks."""

import asyncio
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import batch
from core.batch import Sink, batched, require_saved
from core.internals import bulk_insert
from core.models import OutboxMessage
from core.notifications.services import notify_email
from support import events
from support.models import TicketEvent
from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db


def _inserts(queries, table):
    return [q for q in queries if q["sql"].startswith("INSERT") and table in q["sql"]]


def test_events_and_outbox_rows_of_a_block_go_in_with_one_insert_each(customer):
    tickets = [make_ticket(by=customer) for _ in range(5)]
    with CaptureQueriesContext(connection) as queries, batched():
        for ticket in tickets:
            events.record(ticket=ticket, kind=TicketEvent.Kind.SLA_WARNING)
            notify_email(
                key=f"ticket:{ticket.pk}:batch-test", to="x@example.com", subject="s", body="b"
            )
        assert not _inserts(queries.captured_queries, "support_ticketevent")
    assert len(_inserts(queries.captured_queries, "support_ticketevent")) == 1
    assert len(_inserts(queries.captured_queries, "core_outboxmessage")) == 1
    assert TicketEvent.objects.filter(kind="sla_warning").count() == 5
    assert OutboxMessage.objects.filter(key__endswith=":batch-test").count() == 5


def test_outside_a_block_each_row_is_written_at_once(customer):
    ticket = make_ticket(by=customer)
    event = events.record(ticket=ticket, kind=TicketEvent.Kind.SLA_WARNING)
    assert event.pk is not None


def test_an_exception_in_the_block_writes_nothing(customer):
    ticket = make_ticket(by=customer)
    before = TicketEvent.objects.count()
    with pytest.raises(RuntimeError), batched():
        events.record(ticket=ticket, kind=TicketEvent.Kind.SLA_WARNING)
        raise RuntimeError("boom")
    assert TicketEvent.objects.count() == before
    assert not batch.active()


def test_nested_blocks_join_the_outer_one():
    written = []
    sink = Sink("test:nested", written.append)
    with batched() as outer:
        with batched() as inner:
            sink.add(1)
        assert inner is outer and written == []
        sink.add(2)
    assert written == [[1, 2]]


def test_sinks_flush_in_declaration_order():
    written = []
    first = Sink("test:first", lambda rows: written.append(("first", rows)))
    second = Sink("test:second", lambda rows: written.append(("second", rows)))
    with batched():
        second.add("b")
        first.add("a")
    assert written == [("first", ["a"]), ("second", ["b"])]


def test_concurrent_asyncio_tasks_and_threads_never_share_a_batch():
    written = []
    sink = Sink("test:isolation", written.append)

    async def task(name, started, other_started):
        with batched():
            sink.add(name)
            started.set()
            await other_started.wait()  # both blocks are open at the same moment
            sink.add(name)

    async def main():
        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(task("a", a, b), task("b", b, a))

    asyncio.run(main())
    assert sorted(written) == [["a", "a"], ["b", "b"]]

    outcomes = []
    barrier = threading.Barrier(2)

    def thread(name):
        try:
            with batched():
                sink.add(name)
                barrier.wait(timeout=10)
            outcomes.append(("ok", name))
        except Exception as exc:  # collected and asserted below
            outcomes.append(("error", repr(exc)))

    with batched():  # a batch of this thread is not inherited by new threads
        threads = [threading.Thread(target=thread, args=(n,)) for n in ("c", "d")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    assert sorted(outcomes) == [("ok", "c"), ("ok", "d")]
    assert sorted(written[2:]) == [["c"], ["d"]]


def test_no_key_is_built_from_an_unsaved_id(customer):
    ticket = make_ticket(by=customer)
    with batched():
        event = events.record(ticket=ticket, kind=TicketEvent.Kind.REMINDED)
        with pytest.raises(ValueError, match="not saved"):
            require_saved(event)
        with pytest.raises(ValueError, match="not saved"):
            notify_email(
                key=f"ticket:{ticket.pk}:reminder:{event.pk}",
                to="x@example.com",
                subject="s",
                body="b",
            )
    require_saved(ticket)


def test_a_reminder_inside_a_batch_still_gets_its_own_key(customer, agent):
    from support.services.escalation import remind

    ticket = make_ticket(by=customer)
    with batched():
        remind(ticket=ticket, by=agent, target="customer", message="Any news?")
    assert (
        OutboxMessage.objects.filter(key__contains=":reminder:")
        .exclude(key__contains="None")
        .count()
        == 1
    )


def test_insert_rows_writes_what_bulk_create_writes(customer, agent):
    """`insert_rows` (one statement, its own SQL) stores the same values as `bulk_create`:
    columns with one value for all rows and columns that differ, JSON, nulls, foreign keys."""
    ticket = make_ticket(by=customer)
    kinds = [
        TicketEvent.Kind.SLA_WARNING,
        TicketEvent.Kind.SLA_BREACHED,
        TicketEvent.Kind.ESCALATED,
    ]

    def events_(note):
        return [
            TicketEvent(
                ticket=ticket,
                kind=kind,
                actor=agent if i == 1 else None,
                before={"n": i, "s": 'it\'s "quoted" \\ {x}'} if i else {},
                after={"list": [1, None, "é"]},
                note=note if i else "",
                is_internal=i != 2,
            )
            for i, kind in enumerate(kinds)
        ]

    fast, slow = events_("fast"), events_("slow")
    with CaptureQueriesContext(connection) as queries:
        bulk_insert.insert_rows(TicketEvent, fast)
    assert len(queries.captured_queries) == 1
    TicketEvent.objects.bulk_create(slow)
    assert all(e.pk is not None and not e._state.adding for e in fast)
    columns = [f.attname for f in TicketEvent._meta.concrete_fields if f.attname not in ("id",)]
    for a, b in zip(fast, slow, strict=True):
        a_row = TicketEvent.objects.filter(pk=a.pk).values(*columns).get()
        b_row = TicketEvent.objects.filter(pk=b.pk).values(*columns).get()
        a_row.pop("created_at"), b_row.pop("created_at")
        if a_row["note"]:
            assert (a_row.pop("note"), b_row.pop("note")) == ("fast", "slow")
        assert a_row == b_row


def test_insert_rows_ignoring_conflicts_returns_only_the_rows_it_wrote():
    first = OutboxMessage(key="insert-rows:1", channel="email", recipient="a@example.com")
    assert len(bulk_insert.insert_rows(OutboxMessage, [first], returning=("pk",))) == 1
    again = [
        OutboxMessage(key=f"insert-rows:{n}", channel="email", recipient="a@example.com")
        for n in (1, 2)
    ]
    returned = bulk_insert.insert_rows(
        OutboxMessage, again, ignore_conflicts=True, returning=("key",)
    )
    assert returned == [("insert-rows:2",)]
    assert again[0].pk is None  # nothing is written back when conflicts are ignored


def test_json_texts_are_what_json_dumps_writes():
    """The JSON of `insert_columns` (a flat dict of strings written without an encoder per
    value, anything else by `json.dumps`) is the text the field would have had dumped."""
    import json

    field = OutboxMessage._meta.get_field("headers")
    values = [
        {},
        {"url": "/desk/tickets/T-1/"},
        {"Message-ID": "<a@b>", "Subject": 'é "quoted" \\ \n\u2028'},
        {"n": 1, "nested": {"x": [1, None]}},
        [1, "two"],
        "text",
        None,
    ]
    texts = bulk_insert.json_texts(field, values)
    assert texts == [None if v is None else json.dumps(v) for v in values]
    assert bulk_insert.json_texts(field, [{"a": 1}, object()]) is None  # only the field can
