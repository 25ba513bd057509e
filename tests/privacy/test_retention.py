import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from core import scheduling
from privacy import retention, services
from privacy.models import PrivacyEvent, RetentionWork
from support.models import Attachment, Ticket, TicketMessage
from support.services import change_status


def _close_long_ago(ticket, agent, days=400):
    change_status(ticket=ticket, to="closed", by=agent)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - dt.timedelta(days=days))


@pytest.fixture
def closed(staff, alice, bob):
    for person in (alice, bob):
        _close_long_ago(person.ticket, staff.agent)
    return alice, bob


def test_a_run_does_exactly_what_the_dry_run_listed_and_respects_legal_hold(lead, staff, closed):
    alice, bob = closed
    services.place_hold(by=lead, reason="Dispute", ticket=bob.ticket)
    retention.set_policy(
        by=lead, kind="support.closed_tickets", days=365, action="anonymise", enabled=True
    )
    retention.set_policy(by=lead, kind="support.attachments", days=0, action="delete", enabled=True)
    plans = {p.kind: p for p in retention.dry_run()}
    assert plans["support.closed_tickets"].ids == [alice.ticket.pk]
    alice_files = set(Attachment.objects.filter(ticket=alice.ticket).values_list("pk", flat=True))
    assert set(plans["support.attachments"].ids) == alice_files  # bob's are held

    done = retention.run_once()

    assert done == {k: p.ids for k, p in plans.items() if p.ids}
    anonymised = Ticket.objects.get(pk=alice.ticket.pk)
    assert anonymised.customer_id is None and alice.user.email not in anonymised.customer_email
    assert not TicketMessage.objects.filter(
        ticket=alice.ticket, body_text__contains=f"still {alice.token}"
    )
    # The contact is encrypted, so the agent's reply naming the customer is scrubbed by a
    # comparison in Python; the placeholder address is encrypted with its hash.
    reply = TicketMessage.objects.get(ticket=alice.ticket, body_text__startswith="Hello")
    assert reply.body_text == "Hello [erased], try a reset."
    assert anonymised.customer_email == f"erased-t{anonymised.pk}@erased.invalid"
    assert anonymised.customer_name == "" and anonymised.customer_email_hash
    assert list(Ticket.objects.with_customer_email(anonymised.customer_email)) == [anonymised]
    held = Ticket.objects.get(pk=bob.ticket.pk)
    assert held.customer_email == bob.user.email
    assert Attachment.objects.filter(ticket=bob.ticket).exists()
    assert all(p.count == 0 for p in retention.dry_run())  # nothing left to do
    assert PrivacyEvent.objects.filter(kind="retention_run").count() == 1


def test_deleting_closed_tickets_leaves_recent_ones(lead, staff, closed):
    alice, bob = closed
    Ticket.objects.filter(pk=bob.ticket.pk).update(closed_at=timezone.now())
    retention.set_policy(
        by=lead, kind="support.closed_tickets", days=365, action="delete", enabled=True
    )
    assert retention.dry_run()[0].ids == [alice.ticket.pk]
    retention.run_once()
    assert list(Ticket.objects.filter(pk__in=[alice.ticket.pk, bob.ticket.pk])) == [
        Ticket.objects.get(pk=bob.ticket.pk)
    ]


def test_the_scheduled_run_works_in_bounded_batches(lead, staff, closed, monkeypatch):
    alice, bob = closed
    monkeypatch.setattr(retention, "BATCH_SIZE", 1)
    retention.set_policy(
        by=lead, kind="support.closed_tickets", days=365, action="anonymise", enabled=True
    )
    retention.schedule_daily_run()
    for _ in range(5):  # each sweep works the rows due when it starts
        scheduling.sweep()
    # The first row worked one ticket and scheduled the next batch, which worked the other.
    keys = sorted(RetentionWork.objects.values_list("idempotency_key", "state"))
    assert [state for _, state in keys] == ["done", "done", "done"]
    assert retention.dry_run()[0].count == 0
    assert PrivacyEvent.objects.filter(kind="retention_run").count() == 2


def test_policies_are_off_until_enabled(closed):
    assert retention.dry_run() == []
    assert retention.run_once() == {}


def test_the_command_prints_the_dry_run(lead, closed, capsys):
    from django.core.management import call_command

    alice, _ = closed
    retention.set_policy(
        by=lead, kind="support.closed_tickets", days=365, action="anonymise", enabled=True
    )
    call_command("privacy_retention")
    out = capsys.readouterr().out
    assert "support.closed_tickets: 2 rows" in out and str(alice.ticket.pk) in out
    assert Ticket.objects.get(pk=alice.ticket.pk).customer_email == alice.user.email


def test_inactive_customers_are_erased_everywhere_unless_held_or_still_in_touch(
    lead, staff, alice, bob
):
    from core.models import User

    long_ago = timezone.now() - dt.timedelta(days=2000)
    User.objects.filter(pk__in=[alice.user.pk, bob.user.pk]).update(
        last_login=long_ago, date_joined=long_ago
    )
    Ticket.objects.filter(pk__in=[alice.ticket.pk, bob.ticket.pk]).update(updated_at=long_ago)
    services.place_hold(by=lead, reason="Audit", organization=bob.user.organization)
    retention.set_policy(
        by=lead, kind="privacy.inactive_contacts", days=1095, action="anonymise", enabled=True
    )
    plan = next(p for p in retention.dry_run() if p.kind == "privacy.inactive_contacts")
    assert plan.ids == [alice.user.pk]  # not bob (held), not the staff
    assert retention.run_once()["privacy.inactive_contacts"] == [alice.user.pk]
    erased = User.objects.get(pk=alice.user.pk)
    assert not erased.is_active and alice.user.email not in erased.email
    assert alice.user.email not in Ticket.objects.get(pk=alice.ticket.pk).customer_email
    assert User.objects.get(pk=bob.user.pk).email == bob.user.email


def _seal_everything():
    from privacy import chain

    chain.seal(now=timezone.now() + dt.timedelta(hours=1))
    assert chain.verify().ok


def test_old_audit_events_are_deleted_and_retired_in_the_chain_unless_held(lead, closed):
    from core.privacy_parts import unguarded
    from privacy import chain
    from support.models import TicketEvent

    alice, bob = closed
    services.place_hold(by=lead, reason="Dispute", ticket=bob.ticket)
    long_ago = timezone.now() - dt.timedelta(days=3000)
    both = [alice.ticket.pk, bob.ticket.pk]
    unguarded(TicketEvent).filter(ticket_id__in=both).update(created_at=long_ago)
    _seal_everything()
    retention.set_policy(
        by=lead, kind="audit.support.ticketevent", days=2555, action="delete", enabled=True
    )
    alice_events = sorted(
        TicketEvent.objects.filter(ticket=alice.ticket).values_list("pk", flat=True)
    )
    [plan] = [p for p in retention.dry_run() if p.kind == "audit.support.ticketevent"]
    assert plan.ids == alice_events  # not bob's: his ticket is held

    assert retention.run_once()["audit.support.ticketevent"] == alice_events
    assert not TicketEvent.objects.filter(ticket=alice.ticket).exists()
    assert TicketEvent.objects.filter(ticket=bob.ticket).exists()
    assert chain.verify().ok  # retired, not missing
    # A retired row that comes back is reported.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO support_ticketevent (id, ticket_id, kind, before, after, metadata, "
            "note, is_internal, created_at) VALUES (%s, %s, 'created', '{}', '{}', '{}', '', "
            "false, now())",
            [alice_events[0], alice.ticket.pk],
        )
    assert chain.verify().problems == [
        f"support.TicketEvent {alice_events[0]}: retired, and still there"
    ]


def test_deleting_closed_tickets_retires_their_history_in_the_chain(lead, closed):
    from privacy import chain

    alice, _ = closed
    _seal_everything()
    retention.set_policy(
        by=lead, kind="support.closed_tickets", days=365, action="delete", enabled=True
    )
    retention.run_once()
    assert not Ticket.objects.filter(pk=alice.ticket.pk).exists()
    assert chain.verify().ok
