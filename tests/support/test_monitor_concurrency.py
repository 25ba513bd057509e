"""The SLA monitor run twice at the same moment on PostgreSQL: each breach handled exactly once.

Two threads, each with its own database connection, start `run_monitor` together (a barrier)
over the same breaching tickets, in small batches so that the runs interleave. `FOR UPDATE SKIP
LOCKED` must hand each row to one run only: every warning, breach, notification and escalation
exists once in total, and the two runs' counts add up to the work there was.
"""

import pytest
from django.db import connection
from django.utils import timezone

from support.monitor import run_monitor
from tests.concurrency import assert_outcomes, run_concurrently

from .test_monitor_worker import (
    assert_exactly_once,
    breached_tickets,
    clone_tickets,
    escalation_staff,
)

pytestmark = pytest.mark.django_db(transaction=True)

TICKETS = 200
BATCH = 10  # 20 batches per check: plenty of turns for the two runs to take rows in between


def test_two_monitor_runs_at_once_handle_every_breach_exactly_once(customer):
    assert connection.vendor == "postgresql"
    agent, lead = escalation_staff()
    [template_id] = breached_tickets(customer, agent, 1)
    ids = [template_id, *clone_tickets(template_id, TICKETS - 1)]
    now = timezone.now()

    def monitor():
        run = run_monitor(now=now, batch_size=BATCH)
        return run.warned, run.breached, run.escalated

    first, second = assert_outcomes(run_concurrently(monitor, [(), ()]), succeeded=2)

    # Two clocks per ticket, each warned and breached once; one escalation per ticket.
    assert tuple(map(sum, zip(first, second, strict=True))) == (2 * TICKETS, 2 * TICKETS, TICKETS)
    # Both runs took part (one that ran after the other would have found nothing left).
    assert first[0] > 0 and second[0] > 0, (first, second)
    assert_exactly_once(ids, agent, lead)
    # And a third run finds nothing to do.
    run = run_monitor(now=now, batch_size=BATCH)
    assert (run.warned, run.breached, run.escalated) == (0, 0, 0)
