"""Automations: time-based, set-based, once per ticket and condition, safe run twice at once."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.models import OutboxMessage
from support import services
from support.models import Rule, RuleFiring, Ticket, TicketMessage
from support.models.choices import Status
from support.rules.automations import run_automations
from tests.support.factories import ResponseTemplateFactory, make_ticket

from .factories import make_automation

pytestmark = pytest.mark.django_db
DAY = 24 * 60


def shipped_auto_close() -> Rule:
    """The automation migration 0019 ships (written again if a flushing test removed it), alone:
    other automations, and copies a serialised rollback may have restored, are disabled."""
    import importlib

    from django.apps import apps

    name = "Close resolved tickets after 7 days"
    if not Rule.objects.automations().filter(name=name, author=None).exists():
        importlib.import_module("support.migrations.0019_demo_rules").ship(apps, None)
        Rule.objects.triggers().filter(author=None).update(enabled=False)
    shipped = Rule.objects.automations().filter(name=name, author=None).order_by("pk").first()
    Rule.objects.automations().exclude(pk=shipped.pk).update(enabled=False)
    return shipped


def later(**delta):
    return timezone.now() + dt.timedelta(**delta)


def test_the_shipped_auto_close_automation_closes_resolved_tickets_after_7_days_once(
    customer, lead
):
    shipped = shipped_auto_close()
    assert shipped.enabled and shipped.author is None
    ticket = make_ticket(by=customer)
    open_one = make_ticket(by=customer)
    services.change_status(ticket=ticket, to=Status.RESOLVED, by=lead)

    assert run_automations(now=later(days=6)).fired == {}
    run = run_automations(now=later(days=7, minutes=1))

    assert run.fired == {shipped.pk: 1}
    ticket.refresh_from_db()
    open_one.refresh_from_db()
    assert ticket.status == Status.CLOSED and open_one.status == Status.OPEN
    assert ticket.events.filter(kind="status_changed", after__status="closed").exists()
    assert run_automations(now=later(days=8)).fired == {}  # once


def test_waiting_on_customer_nudge_after_3_days_resolve_after_7(customer, lead):
    Rule.objects.automations().update(enabled=False)
    nudge_text = ResponseTemplateFactory(body="Still there, {{ customer.name }}?")
    waiting = [{"field": "status", "op": "is", "value": "waiting_on_customer"}]
    nudge = make_automation(
        by=lead,
        name="Nudge",
        anchor="customer_last_reply_at",
        after_minutes=3 * DAY,
        conditions=waiting,
        actions=[{"type": "reply_template", "value": nudge_text.pk}],
    )
    make_automation(
        by=lead,
        name="Resolve",
        anchor="customer_last_reply_at",
        after_minutes=7 * DAY,
        conditions=waiting,
        actions=[{"type": "set_status", "value": "resolved"}],
    )
    ticket = make_ticket(by=customer)
    services.change_status(ticket=ticket, to=Status.WAITING_ON_CUSTOMER, by=lead)

    assert run_automations(now=later(days=2)).fired == {}
    assert run_automations(now=later(days=3, minutes=1)).fired == {nudge.pk: 1}
    assert TicketMessage.objects.filter(ticket=ticket, is_internal=False).count() == 1
    # Once per ticket and anchor time (the customer's last reply), however often the job runs.
    assert run_automations(now=later(days=3, minutes=2)).fired == {}

    run_automations(now=later(days=7, minutes=1))

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_unassigned_for_30_minutes_notifies_the_lead(customer, lead):
    make_automation(
        by=lead,
        anchor="created_at",
        after_minutes=30,
        conditions=[
            {"field": "assigned", "op": "is", "value": False},
            {"field": "status", "op": "is", "value": "open"},
        ],
        actions=[{"type": "notify_users", "value": [lead.pk]}],
    )
    tickets = [make_ticket(by=customer) for _ in range(3)]

    run_automations(now=later(minutes=31))
    run_automations(now=later(minutes=45))

    rows = OutboxMessage.objects.filter(
        channel="in_app", recipient_user=lead, key__startswith="rule:a:"
    )
    assert rows.count() == 3
    assert {r.subject.split(":")[0] for r in rows} == {t.number for t in tickets}


def test_the_job_selects_only_what_is_due(customer, lead, django_assert_num_queries):
    Rule.objects.automations().update(enabled=False)
    make_automation(
        by=lead,
        anchor="created_at",
        after_minutes=30,
        actions=[{"type": "add_tags", "value": ["old"]}],
    )
    for _ in range(5):
        make_ticket(by=customer)
    # The automations, then one batch (savepoint, select, release) finding nothing due.
    with django_assert_num_queries(4):
        assert run_automations(now=later(minutes=10)).fired == {}


def test_a_failing_automation_is_disabled_and_its_batch_rolled_back(customer, lead):
    Rule.objects.automations().update(enabled=False)
    rule = make_automation(
        by=lead,
        anchor="created_at",
        after_minutes=1,
        actions=[{"type": "add_tags", "value": ["seen"]}, {"type": "set_priority", "value": "low"}],
    )
    ticket = make_ticket(by=customer)
    lead.is_active = False
    lead.save()

    run = run_automations(now=later(minutes=5))

    assert run.failed == [rule.pk]
    rule.refresh_from_db()
    assert not rule.enabled
    assert not RuleFiring.objects.filter(rule=rule).exists()
    assert not ticket.tags.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_fire_once_per_ticket(customer, lead):
    Rule.objects.automations().update(enabled=False)
    rule = make_automation(
        by=lead,
        anchor="created_at",
        after_minutes=5,
        actions=[{"type": "notify_users", "value": [lead.pk]}],  # changes nothing on the ticket
    )
    tickets = [make_ticket(by=customer) for _ in range(40)]
    now = later(minutes=10)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            barrier.wait()
            outcomes.append(run_automations(now=now, batch_size=7))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(outcomes) == 2
    assert sum(o.fired.get(rule.pk, 0) for o in outcomes) == len(tickets)
    assert RuleFiring.objects.filter(rule=rule).count() == len(tickets)
    assert OutboxMessage.objects.filter(key__startswith=f"rule:a:{rule.pk}:").count() == len(
        tickets
    )
    assert Ticket.objects.count() == len(tickets)


def test_the_resolved_email_states_the_auto_close_automations_days(lead):
    from support.rules.automations import auto_close_days

    Rule.objects.filter(kind="automation").delete()
    assert auto_close_days() is None  # nothing closes resolved tickets: nothing is promised
    make_automation(by=lead, name="Close after 3 days", anchor="resolved_at",
                    after_minutes=3 * 24 * 60,
                    conditions=[{"field": "status", "op": "is", "value": "resolved"}],
                    actions=[{"type": "set_status", "value": "closed"}])  # fmt: skip
    make_automation(by=lead, name="Only billing", anchor="resolved_at", after_minutes=60,
                    conditions=[{"field": "category", "op": "in", "value": ["billing"]}],
                    actions=[{"type": "set_status", "value": "closed"}])  # fmt: skip
    assert auto_close_days() == 3  # the conditional one closes only some: it promises nothing
