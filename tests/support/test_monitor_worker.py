"""End to end: the SLA monitor run by a real Celery worker, redelivered, and killed mid-run.

A worker subprocess consumes `support.tasks.check_sla_breaches` from Redis db 11 and runs it
against the test database (so these tests commit their rows). The deliveries the monitor enqueues
are routed to a queue this worker does not consume: the tests count outbox rows (one per
notification key), not sent messages. Whatever the test process itself publishes (ticket
creation e-mails) goes to Redis db 12, which nobody consumes. Both are flushed afterwards.
"""

import datetime as dt
import re
import time
from collections import Counter
from unittest import mock

import pytest
import redis
from django.db import connection
from django.utils import timezone

from core.models import OutboxMessage
from core.tasks import deliver_outbox_message, deliver_outbox_messages
from support.models import EscalationLevel, EscalationPolicy, SLAPolicy, Ticket, TicketEscalation
from support.models.choices import Priority
from support.monitor import BATCH_SIZE
from support.services import assign_ticket
from support.tasks import check_sla_breaches
from tests.celery_worker import WORKER_APPLICATION_NAME, launch_worker, published_to, wait_for

from ..factories import UserFactory
from .factories import make_ticket

# One xdist process runs every real-worker test in turn: they share Redis databases (which they
# flush) and would otherwise compete for the two cores.
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

WORKER_REDIS_URL = "redis://127.0.0.1:6379/11"
SINK_REDIS_URL = "redis://127.0.0.1:6379/12"
CLOCKS = ("response", "resolution")
SLA_FLAGS = ("response_warned", "resolution_warned", "response_breached", "resolution_breached")

WORKER_SETTINGS = """\
from {settings_module} import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Deliveries wait in a queue this worker does not consume: the monitor task is never queued
# behind thousands of them, and the tests count outbox rows instead.
CELERY_TASK_ROUTES = {{
    "core.tasks.deliver_outbox_message": {{"queue": "outbox-parked"}},
    "core.tasks.deliver_outbox_messages": {{"queue": "outbox-parked"}},
}}
"""


# Test only, for the worker that is killed: the monitor's second flag flip (the UPDATE of its
# second batch's tickets, written with the batch's other rows when it flushes) runs, then the
# worker says so in Redis and waits, its batch transaction open, until it is killed. The hook
# wraps the worker's SQL (Django's execute wrappers), so the monitor's code runs unchanged.
HOLD_SECOND_BATCH = """
import re
import redis as _redis
from django.db.backends.signals import connection_created as _connection_created

_flips = []


def _hold_second_batch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if re.match(r'UPDATE "support_ticket" (AS t )?SET "response_warned" = ', sql):
        _flips.append(sql)
        if len(_flips) == 2:
            signal = _redis.Redis.from_url({redis_url!r})
            signal.set({in_flight_key!r}, "1")
            signal.blpop([{release_key!r}], timeout=120)  # never released: the test kills us
    return result


def _install_hold(sender, connection, **kwargs):
    if _hold_second_batch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_hold_second_batch)


_connection_created.connect(_install_hold, weak=False)
"""
IN_FLIGHT_KEY = "test:monitor:second-batch-in-flight"
RELEASE_KEY = "test:monitor:release"


@pytest.fixture(autouse=True)
def redis_dbs():
    for url in (WORKER_REDIS_URL, SINK_REDIS_URL):
        redis.Redis.from_url(url).flushdb()
    with published_to(SINK_REDIS_URL, deliver_outbox_message, deliver_outbox_messages):
        yield
    for url in (WORKER_REDIS_URL, SINK_REDIS_URL):
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def start_worker(tmp_path, settings):
    """Starts Celery workers (solo pool) on Redis db 11 against the test database."""
    workers = []

    def start(*, hold_second_batch=False):
        settings_text = WORKER_SETTINGS.format(settings_module=settings.SETTINGS_MODULE)
        if hold_second_batch:
            settings_text += HOLD_SECOND_BATCH.format(
                redis_url=WORKER_REDIS_URL, in_flight_key=IN_FLIGHT_KEY, release_key=RELEASE_KEY
            )
        worker = launch_worker(
            tmp_path,
            settings_text=settings_text,
            redis_url=WORKER_REDIS_URL,
            name=f"monitor-worker-{len(workers)}",
            env={"SLACK_WEBHOOK_URL": "", "TEAMS_WEBHOOK_URL": ""},
        )
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


def publish_monitor() -> str:
    with published_to(WORKER_REDIS_URL, check_sla_breaches):
        return check_sla_breaches.apply_async().id


def wait_succeeded(worker, task_id, timeout=30):
    wait_for(
        lambda: f"[{task_id}] succeeded" in worker.log(),
        timeout,
        lambda: f"task {task_id}; worker log:\n{worker.log()[-5000:]}",
    )
    return re.search(rf"\[{task_id}\] succeeded in [\d.]+s: (.*)", worker.log()).group(1)


@pytest.fixture
def staff(db):
    return escalation_staff()


def escalation_staff():
    """An agent to assign, and a lead that level 1 of the urgent escalation policy notifies at
    once (no delay after the breach)."""
    agent = UserFactory(roles=["agent"])
    lead = UserFactory(roles=["support_lead"])
    policy = EscalationPolicy.objects.create(name="Urgent escalation")
    level = EscalationLevel.objects.create(policy=policy, level=1, delay_minutes=0)
    level.notify_users.add(lead)
    SLAPolicy.objects.filter(priority=Priority.URGENT).update(escalation_policy=policy)
    return agent, lead


def breached_tickets(customer, agent, count, hours_ago=6):
    """Urgent tickets (15/240 min) made through the services `hours_ago` hours ago: all due."""
    created = timezone.now() - dt.timedelta(hours=hours_ago)
    ids = []
    with mock.patch("django.utils.timezone.now", return_value=created):
        for n in range(count):
            ticket = make_ticket(
                by=customer, priority=Priority.URGENT, created_at=created, subject=f"Down #{n}"
            )
            assign_ticket(ticket=ticket, agent=agent, by=agent)
            ids.append(ticket.pk)
    return ids


def expected_keys(ticket_ids, agent, lead, *, escalated=True):
    """The outbox key of every notification the monitor owes these tickets, each exactly once."""
    keys = set()
    for pk in ticket_ids:
        for clock in CLOCKS:
            keys.add(f"ticket:{pk}:sla:{clock}-warning:user:{agent.pk}:in-app")
            for channel in ("in-app", "email"):
                keys.add(f"ticket:{pk}:sla:{clock}-breach:user:{agent.pk}:{channel}")
        if escalated:
            # The level names the lead; the assignee already had the breach alert.
            for user in (lead,):
                for channel in ("in-app", "email"):
                    keys.add(f"ticket:{pk}:escalation:1:user:{user.pk}:{channel}")
    return keys


def monitor_keys():
    return list(
        OutboxMessage.objects.filter(key__regex=r":(sla|escalation):").values_list("key", flat=True)
    )


def sla_events():
    """(ticket, kind, clock) of every SLA event, with how often each occurs."""
    from support.models import TicketEvent

    rows = TicketEvent.objects.filter(kind__in=["sla_warning", "sla_breached"]).values_list(
        "ticket_id", "kind", "after__clock"
    )
    return Counter(rows)


def snapshot():
    from support.models import TicketEvent

    return {
        "events": TicketEvent.objects.count(),
        "escalations": TicketEscalation.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "tickets": list(
            Ticket.objects.order_by("pk").values_list(
                "pk", *SLA_FLAGS, "escalation_level", "next_escalation_at", "updated_at"
            )
        ),
    }


def assert_exactly_once(ticket_ids, agent, lead):
    events = sla_events()
    expected = {
        (pk, kind, clock)
        for pk in ticket_ids
        for kind in ("sla_warning", "sla_breached")
        for clock in CLOCKS
    }
    assert set(events) == expected
    assert set(events.values()) == {1}, [k for k, n in events.items() if n > 1][:5]
    escalations = Counter(TicketEscalation.objects.values_list("ticket_id", "level"))
    assert escalations == {(pk, 1): 1 for pk in ticket_ids}
    keys = monitor_keys()
    assert len(keys) == len(set(keys))
    assert set(keys) == expected_keys(ticket_ids, agent, lead)
    tickets = Ticket.objects.filter(pk__in=ticket_ids)
    assert all(
        t.response_breached and t.resolution_breached and t.escalation_level == 1 for t in tickets
    )
    assert not tickets.filter(next_escalation_at__isnull=False).exists()


def test_breaches_are_found_notified_once_and_escalated_and_redelivery_changes_nothing(
    customer, staff, start_worker
):
    agent, lead = staff
    ids = breached_tickets(customer, agent, 30)
    assert monitor_keys() == []
    worker = start_worker()

    # a) One run: every ticket warned and breached on both clocks, escalated to level 1.
    started = time.monotonic()
    result = wait_succeeded(worker, publish_monitor())
    elapsed = time.monotonic() - started
    assert result == "{'warned': 60, 'breached': 60, 'escalated': 30}", worker.log()
    assert_exactly_once(ids, agent, lead)
    assert elapsed < 30

    # b) The same task delivered three more times (redelivery, a late beat) changes nothing.
    before = snapshot()
    task_ids = [publish_monitor() for _ in range(3)]
    for task_id in task_ids:
        assert wait_succeeded(worker, task_id) == "{'warned': 0, 'breached': 0, 'escalated': 0}"
    assert snapshot() == before
    assert_exactly_once(ids, agent, lead)


def clone_tickets(template_id, count):
    """`count` copies of a ticket made through the services (same clocks, all due), in bulk."""
    template = Ticket.objects.get(pk=template_id)
    copies = []
    for n in range(count):
        copy = Ticket.objects.get(pk=template_id)
        copy.pk = None
        copy.number = f"{template.number}-{n}"
        copies.append(copy)
    return [t.pk for t in Ticket.objects.bulk_create(copies, batch_size=1000)]


def other_backends():
    """Database sessions the test workers still hold (other sessions, e.g. a live server's,
    are not theirs to wait for)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def worker_session_states():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return [state for (state,) in cursor.fetchall()]


def progress():
    """How many (ticket, flag) pairs are set: committed batches only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            + " + ".join(f"count(*) FILTER (WHERE {flag})" for flag in SLA_FLAGS)
            + " FROM support_ticket"
        )
        return cursor.fetchone()[0]


def assert_consistent(ticket_ids, agent, lead):
    """Every flag that is set has its event and its notifications, and nothing more is written."""
    events = sla_events()
    assert set(events.values()) <= {1}
    flagged = set()
    for row in Ticket.objects.filter(pk__in=ticket_ids).values("pk", *SLA_FLAGS):
        for flag in SLA_FLAGS:
            clock, stage = flag.split("_")
            if row[flag]:
                flagged.add(
                    (row["pk"], "sla_warning" if stage == "warned" else "sla_breached", clock)
                )
    assert set(events) == flagged
    keys = set(monitor_keys())
    owed = set()
    for pk, kind, clock in flagged:
        if kind == "sla_warning":
            owed.add(f"ticket:{pk}:sla:{clock}-warning:user:{agent.pk}:in-app")
        else:
            owed |= {
                f"ticket:{pk}:sla:{clock}-breach:user:{agent.pk}:{c}" for c in ("in-app", "email")
            }
    escalated = set(TicketEscalation.objects.values_list("ticket_id", flat=True))
    assert escalated == set(
        Ticket.objects.filter(pk__in=ticket_ids, escalation_level=1).values_list("pk", flat=True)
    )
    owed |= {
        f"ticket:{pk}:escalation:1:user:{user.pk}:{c}"
        for pk in escalated
        for user in (lead,)
        for c in ("in-app", "email")
    }
    assert keys == owed
    return len(flagged)


def test_a_worker_killed_mid_run_leaves_whole_batches_and_the_next_run_finishes(
    customer, staff, start_worker
):
    agent, lead = staff
    count = BATCH_SIZE + 40  # a first batch that commits, and a second one held open
    [template_id] = breached_tickets(customer, agent, 1)
    ids = [template_id, *clone_tickets(template_id, count - 1)]

    # c) Kill the worker (SIGKILL, whole process group) while its second batch is provably in
    # flight: its flags flipped, its transaction open, the first batch committed.
    worker = start_worker(hold_second_batch=True)
    signal = redis.Redis.from_url(WORKER_REDIS_URL)
    task_id = publish_monitor()
    wait_for(
        lambda: signal.get(IN_FLIGHT_KEY) or worker.process.poll() is not None,
        60,
        lambda: f"the second batch to be in flight; worker log:\n{worker.log()[-5000:]}",
    )
    assert signal.get(IN_FLIGHT_KEY), f"the worker died first:\n{worker.log()[-5000:]}"
    assert f"[{task_id}] succeeded" not in worker.log()
    assert worker_session_states() == ["idle in transaction"]  # the held batch, uncommitted
    worker.kill()
    assert f"[{task_id}] succeeded" not in worker.log(), "the run finished: not killed mid-run"
    # The killed worker's connection goes away and PostgreSQL rolls its open batch back.
    wait_for(lambda: other_backends() == 0, 10, "the killed worker's database session to end")

    # Exactly the first batch stays: its flags, events and notifications, nothing of the second.
    assert progress() == BATCH_SIZE
    assert assert_consistent(ids, agent, lead) == BATCH_SIZE

    # A new worker and the next beat tick (the old message stays unacknowledged) finish the work.
    worker = start_worker()
    wait_succeeded(worker, publish_monitor(), timeout=45)
    assert_exactly_once(ids, agent, lead)
    # And once more changes nothing.
    before = snapshot()
    assert wait_succeeded(worker, publish_monitor()) == (
        "{'warned': 0, 'breached': 0, 'escalated': 0}"
    )
    assert snapshot() == before
