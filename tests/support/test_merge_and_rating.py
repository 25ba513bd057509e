"""Merging tickets of one customer, and customer satisfaction (CSAT 1-5, optional NPS 0-10)."""

import pytest
from django.utils import timezone

from core.errors import Conflict, NotAllowed
from core.roles import Role
from support import services
from support.models import Ticket, TicketEvent, TicketLink
from support.models.choices import LinkKind, Status
from tests.factories import UserFactory

from .factories import make_ticket

pytestmark = pytest.mark.django_db

API = "/api/v1/support/tickets/"
Kind = TicketEvent.Kind


def _set(ticket, **fields):
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    ticket.refresh_from_db()
    return ticket


# --- merge -----------------------------------------------------------------------------------


def test_merge_moves_messages_and_closes_the_source(api_client, customer, agent):
    source = make_ticket(by=customer, subject="Dup")
    target = make_ticket(by=customer, subject="Main")
    services.add_message(ticket=source, by=customer, body="first")
    services.add_message(ticket=source, by=agent, body="note", internal=True)
    source_messages = list(source.messages.values_list("pk", flat=True))
    api_client.force_authenticate(agent)
    response = api_client.post(f"{API}{source.pk}/merge/", {"into": target.number})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == target.pk
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == Status.CLOSED
    assert source.merged_into == target
    assert source.closed_at is not None
    assert set(source_messages) <= set(target.messages.values_list("pk", flat=True))
    assert not source.messages.exists()
    # the source's description becomes a message of the target's conversation
    assert target.messages.filter(body_text__contains="spins for ever").count() == 1
    assert TicketLink.objects.filter(
        source=source, target=target, kind=LinkKind.MERGED_INTO
    ).exists()
    for ticket in (source, target):
        [event] = TicketEvent.objects.filter(ticket=ticket, kind=Kind.MERGED)
        assert event.actor == agent
        assert event.after["source"] == source.number
        assert event.after["target"] == target.number
    closed = TicketEvent.objects.get(ticket=source, kind=Kind.STATUS_CHANGED)
    assert closed.after == {"status": "closed"}


def test_merge_moves_attachments(customer, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    source, target = make_ticket(by=customer), make_ticket(by=customer)
    services.add_message(
        ticket=source, by=customer, body="f", attachments=[SimpleUploadedFile("a.txt", b"x\n")]
    )
    services.merge_tickets(source=source, target=target, by=agent)
    assert target.attachments.count() == 1
    assert not source.attachments.exists()


def test_merge_of_different_customers_is_409(api_client, customer, agent):
    source = make_ticket(by=customer)
    target = make_ticket(by=UserFactory(roles=[Role.CUSTOMER]))
    services.add_message(ticket=source, by=customer, body="first")
    api_client.force_authenticate(agent)
    response = api_client.post(f"{API}{source.pk}/merge/", {"into": str(target.pk)})
    assert response.status_code == 409
    assert response.json()["code"] == "merge_customer"
    source.refresh_from_db()
    assert source.status == Status.OPEN and source.merged_into is None
    assert source.messages.count() == 1
    assert not TicketEvent.objects.filter(kind=Kind.MERGED).exists()
    assert not TicketLink.objects.exists()


def test_merge_of_anonymous_tickets_needs_the_same_address(agent):
    a = make_ticket(by=None, customer_email="a@example.org")
    b = make_ticket(by=None, customer_email="b@example.org")
    c = make_ticket(by=None, customer_email="a@example.org")
    with pytest.raises(Conflict):
        services.merge_tickets(source=a, target=b, by=agent)
    services.merge_tickets(source=a, target=c, by=agent)
    a.refresh_from_db()
    assert a.merged_into == c


def test_merge_into_itself_or_a_closed_ticket_is_refused(customer, agent):
    source, target = make_ticket(by=customer), make_ticket(by=customer)
    with pytest.raises(Exception) as info:
        services.merge_tickets(source=source, target=source, by=agent)
    assert info.value.code == "self_merge"
    _set(target, status=Status.CLOSED)
    with pytest.raises(Conflict):
        services.merge_tickets(source=source, target=target, by=agent)


def test_customers_cannot_merge(api_client, customer):
    source, target = make_ticket(by=customer), make_ticket(by=customer)
    with pytest.raises(NotAllowed):
        services.merge_tickets(source=source, target=target, by=customer)
    api_client.force_authenticate(customer)
    response = api_client.post(f"{API}{source.pk}/merge/", {"into": target.number})
    assert response.status_code == 403


def test_merge_target_outside_the_agents_scope_is_404(api_client, customer, agent, lead):
    from .factories import TeamFactory

    source = make_ticket(by=customer)
    hidden = make_ticket(by=lead, customer=customer, team=TeamFactory())
    api_client.force_authenticate(agent)
    response = api_client.post(f"{API}{source.pk}/merge/", {"into": hidden.number})
    assert response.status_code == 404


# --- satisfaction ----------------------------------------------------------------------------


def _rate(api_client, ticket, **data):
    return api_client.post(f"{API}{ticket.pk}/rate/", data, format="json")


@pytest.mark.parametrize(
    "status",
    [Status.OPEN, Status.IN_PROGRESS, Status.WAITING_ON_CUSTOMER, Status.CANCELLED],
)
def test_rating_before_resolution_is_409(api_client, customer, status):
    ticket = _set(make_ticket(by=customer), status=status)
    api_client.force_authenticate(customer)
    response = _rate(api_client, ticket, rating=5)
    assert response.status_code == 409
    assert response.json()["code"] == "not_resolved"
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating is None


def test_customer_rates_changes_while_resolved_and_it_is_final_once_closed(api_client, customer):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    api_client.force_authenticate(customer)
    response = _rate(api_client, ticket, rating=2, comment="slow", nps_score=3)
    assert response.status_code == 200, response.content
    assert response.json()["satisfaction"]["rating"] == 2
    assert response.json()["satisfaction"]["nps_score"] == 3
    response = _rate(api_client, ticket, rating=5, comment="fixed after all")
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating == 5
    assert ticket.satisfaction_comment == "fixed after all"
    assert ticket.nps_score is None  # optional, and this answer left it out
    events = TicketEvent.objects.filter(ticket=ticket, kind=Kind.RATED).order_by("pk")
    assert [e.after["rating"] for e in events] == [2, 5]
    assert events[1].before["rating"] == 2
    assert api_client.post(f"{API}{ticket.pk}/close/", {}).status_code == 200
    response = _rate(api_client, ticket, rating=1)
    assert response.status_code == 409
    assert response.json()["code"] == "rating_final"
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating == 5


def test_a_closed_unrated_ticket_can_be_rated_once(api_client, customer):
    ticket = _set(make_ticket(by=customer), status=Status.CLOSED, closed_at=timezone.now())
    api_client.force_authenticate(customer)
    assert _rate(api_client, ticket, rating=4).status_code == 200
    assert _rate(api_client, ticket, rating=1).status_code == 409
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating == 4


def test_only_the_customer_rates(api_client, customer, agent):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    api_client.force_authenticate(agent)
    response = _rate(api_client, ticket, rating=5)
    assert response.status_code == 403
    with pytest.raises(NotAllowed):
        services.rate_ticket(ticket=ticket, by=agent, rating=5)
    api_client.force_authenticate(UserFactory(roles=[Role.CUSTOMER]))
    assert _rate(api_client, ticket, rating=5).status_code == 404
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating is None


def test_organisation_admin_sees_but_cannot_rate_a_colleagues_ticket(
    api_client, customer, organization
):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    org_admin = UserFactory(
        roles=[Role.CUSTOMER], organization=organization, is_organization_admin=True
    )
    api_client.force_authenticate(org_admin)
    assert _rate(api_client, ticket, rating=5).status_code == 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 5, "nps_score": 11}, "nps_score"),
        ({"rating": 5, "nps_score": -1}, "nps_score"),
        ({}, "rating"),
    ],
)
def test_out_of_range_scores_are_400(api_client, customer, data, field):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    api_client.force_authenticate(customer)
    response = _rate(api_client, ticket, **data)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.satisfaction_rating is None


@pytest.mark.parametrize("nps", [0, 10, None])
def test_nps_bounds_are_accepted(api_client, customer, nps):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    api_client.force_authenticate(customer)
    response = _rate(api_client, ticket, rating=3, nps_score=nps)
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.nps_score == nps


def test_service_refuses_out_of_range_nps(customer):
    ticket = _set(make_ticket(by=customer), status=Status.RESOLVED, resolved_at=timezone.now())
    from core.errors import DomainError

    with pytest.raises(DomainError):
        services.rate_ticket(ticket=ticket, by=customer, rating=3, nps_score=11)
    with pytest.raises(DomainError):
        services.rate_ticket(ticket=ticket, by=customer, rating=9)


def test_merge_moves_read_receipts_so_unread_counts_follow_the_messages(
    api_client, customer, agent
):
    from support.models import MessageRecipient

    source = _set(make_ticket(by=customer), assigned_to=agent)
    target = _set(make_ticket(by=customer), assigned_to=agent)
    services.add_message(ticket=source, by=customer, body="unread one")
    services.merge_tickets(source=source, target=target, by=agent)
    assert not MessageRecipient.objects.filter(ticket=source).exists()
    assert MessageRecipient.objects.filter(ticket=target, recipient=agent).count() == 1
    api_client.force_authenticate(agent)
    rows = {r["id"]: r for r in api_client.get(API).json()["results"]}
    assert rows[target.pk]["unread_count"] == 1
    assert rows[source.pk]["unread_count"] == 0
    api_client.get(f"{API}{target.pk}/messages/")
    rows = {r["id"]: r for r in api_client.get(API).json()["results"]}
    assert rows[target.pk]["unread_count"] == 0
