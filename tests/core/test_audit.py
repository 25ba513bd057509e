"""Audit events are append-only at the ORM and in the admin, and carry who, what and the request."""

import pytest
from django.test import RequestFactory

from core.admin import AuditTrailInline
from core.audit import AppendOnlyError, record
from core.observability import request_id_var
from support.admin import TicketEventInline
from support.models import Ticket, TicketEvent
from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_an_event_records_actor_kind_before_after_and_the_request(customer, agent):
    ticket = make_ticket(by=customer)
    token = request_id_var.set("req-42")
    try:
        event = record(
            TicketEvent,
            ticket=ticket,
            kind=TicketEvent.Kind.UPDATED,
            actor=agent,
            before={"subject": "a"},
            after={"subject": "b"},
        )
    finally:
        request_id_var.reset(token)
    stored = TicketEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.kind, stored.before, stored.after) == (
        agent,
        "updated",
        {"subject": "a"},
        {"subject": "b"},
    )
    assert stored.metadata == {"request_id": "req-42"}


def test_a_kind_the_domain_did_not_declare_is_refused(customer):
    ticket = make_ticket(by=customer)
    with pytest.raises(ValueError, match="not a kind"):
        record(TicketEvent, ticket=ticket, kind="invented")


def test_events_cannot_be_changed_or_removed_through_the_orm(customer):
    ticket = make_ticket(by=customer)
    event = ticket.events.get()
    event.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        TicketEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        ticket.events.all().delete()
    with pytest.raises(AppendOnlyError):
        TicketEvent.objects.bulk_update([event], ["note"])
    assert TicketEvent.objects.get(pk=event.pk).note == ""


def test_removing_the_ticket_still_takes_its_history(customer):
    ticket = make_ticket(by=customer)
    Ticket.objects.filter(pk=ticket.pk).delete()
    assert not TicketEvent.objects.filter(ticket_id=ticket.pk).exists()


@pytest.mark.parametrize("inline", [AuditTrailInline, TicketEventInline])
def test_the_admin_offers_no_way_to_add_change_or_delete_events(inline, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    from django.contrib import admin

    instance = inline(Ticket, admin.site) if inline is TicketEventInline else None
    if instance is None:
        instance = type("Trail", (AuditTrailInline,), {"model": TicketEvent})(Ticket, admin.site)
    assert not instance.has_add_permission(request)
    assert not instance.has_change_permission(request)
    assert not instance.has_delete_permission(request)
    assert set(instance.fields) <= set(instance.get_readonly_fields(request))


def test_a_recorded_event_is_the_instance_the_constructor_builds(customer, agent):
    """`record` builds its event with `core.internals.rows.new_instance` (no `Model.__init__`):
    the same attributes, the related objects cached, a new unsaved row; the constructor for
    anything it does not know."""
    from datetime import timedelta

    from django.db.models import signals

    from core.internals.rows import new_instance
    from support.models import TicketEscalation

    ticket = make_ticket(by=customer)
    values = {"ticket": ticket, "kind": "updated", "actor": agent, "after": {"a": 1}}
    for fast, slow in [
        (new_instance(TicketEvent, **values), TicketEvent(**values)),
        (new_instance(TicketEvent, ticket_id=ticket.pk), TicketEvent(ticket_id=ticket.pk)),
        (
            new_instance(TicketEscalation, ticket=ticket, level=1, actor=None, target_team=None),
            TicketEscalation(ticket=ticket, level=1, actor=None, target_team=None),
        ),
    ]:
        fast_fields = {k: v for k, v in vars(fast).items() if k != "_state"}
        slow_fields = {k: v for k, v in vars(slow).items() if k != "_state"}
        assert abs(fast_fields.pop("created_at") - slow_fields.pop("created_at")) < timedelta(
            seconds=5
        )
        assert fast_fields == slow_fields
        assert fast._state.adding and fast._state.db is None
        assert fast._state.fields_cache == slow._state.fields_cache
    assert new_instance(TicketEvent, **values).ticket is ticket
    with pytest.raises(ValueError):
        new_instance(TicketEvent, ticket="not a ticket")  # the constructor's own error
    with pytest.raises(TypeError):
        new_instance(TicketEvent, no_such_field=1)

    seen = []

    def listener(sender, **kwargs):
        seen.append(sender)

    signals.post_init.connect(listener, sender=TicketEvent)
    try:
        new_instance(TicketEvent, **values)
    finally:
        signals.post_init.disconnect(listener, sender=TicketEvent)
    assert seen == [TicketEvent]  # someone listens: the constructor runs
    event = record(TicketEvent, ticket=ticket, kind="updated", actor=agent, immediate=True)
    assert TicketEvent.objects.get(pk=event.pk).actor == agent
