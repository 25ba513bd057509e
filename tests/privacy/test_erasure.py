import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics import rollups
from analytics.models import DailyRollup
from core import scheduling
from core.models import User
from insurance.models import InsuranceDocument
from privacy import services
from privacy.models import ErasureWork, PrivacyEvent, RequestStatus
from support.models import Attachment, Ticket, TicketMessage


def _text_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'jsonb', 'json', 'tsvector')"
        )
        return cursor.fetchall()


def traces(values) -> list[tuple[str, str, str]]:
    """Every (table, column, value) where one of `values` still appears, in any table."""
    found = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            for value in values:
                cursor.execute(
                    f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',
                    [f"%{value}%"],
                )
                if cursor.fetchone():
                    found.append((table, column, value))
    return found


def _erase(lead, second_lead, person):
    request = services.create_request(by=lead, kind="erasure", user=person.user)
    services.approve(request=request, by=second_lead)
    request.refresh_from_db()
    # Nothing happens during the grace period...
    scheduling.sweep(now=request.due_at - timezone.timedelta(minutes=1))
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    # ...then the scheduled work erases.
    scheduling.sweep(now=request.due_at + timezone.timedelta(minutes=1))
    request.refresh_from_db()
    return request


def _totals():
    rollups.refresh()
    return sorted(
        tuple(v for k, v in row.items() if k != "id") for row in DailyRollup.objects.values()
    )


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_identity_and_keeps_every_total(lead, second_lead, alice, bob):
    files = [a.file.name for a in Attachment.objects.filter(ticket=alice.ticket)]
    storage = Attachment._meta.get_field("file").storage
    document_file = alice.document.file.name
    before = _totals()
    ticket_count, rated = Ticket.objects.count(), alice.ticket.satisfaction_rating
    identity = [alice.user.email, alice.user.full_name, alice.user.phone]
    assert traces(identity)  # there to begin with

    request = _erase(lead, second_lead, alice)

    assert request.status == RequestStatus.DONE, request.error
    assert traces(identity) == []
    # Her words and files are gone too, and the search index no longer finds her.
    assert (
        traces([f"still {alice.token}", f"printer {alice.token} jams", f"log of {alice.token}"])
        == []
    )
    assert not any(storage.exists(name) for name in files)
    assert not InsuranceDocument.objects.get(pk=alice.document.pk).file
    assert not InsuranceDocument._meta.get_field("file").storage.exists(document_file)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM support_ticket WHERE search_document @@ to_tsquery(%s)",
            [alice.token],
        )
        assert cursor.fetchone()[0] == 0
    # Records stay for the reports: the same tickets, ratings and rollup totals.
    assert Ticket.objects.count() == ticket_count
    assert Ticket.objects.get(pk=alice.ticket.pk).satisfaction_rating == rated
    assert _totals() == before
    user = User.objects.get(pk=alice.user.pk)
    assert not user.is_active and not user.has_usable_password()
    # The other customer is untouched.
    untouched = User.objects.get(pk=bob.user.pk)
    assert (untouched.email, untouched.full_name, untouched.phone) == (
        bob.user.email,
        bob.user.full_name,
        bob.user.phone,
    )
    assert traces([bob.user.email, bob.user.full_name])
    assert TicketMessage.objects.filter(ticket=bob.ticket, body_text__contains=bob.token).exists()
    # The audit record says what was erased (counts), never what it contained.
    event = PrivacyEvent.objects.get(request=request, kind="erased")
    assert event.metadata["erased"]["support.tickets"] == 1
    assert event.metadata["erased"]["core.account"] == 1
    assert alice.token not in str(event.metadata)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("on", ["organization", "ticket"])
def test_a_legal_hold_blocks_the_erasure(lead, second_lead, alice, on):
    target = {"organization": alice.user.organization, "ticket": alice.ticket}[on]
    services.place_hold(by=lead, reason="Litigation 2026-14", **{on: target})
    request = _erase(lead, second_lead, alice)
    assert request.status == RequestStatus.BLOCKED
    assert "legal hold" in request.error
    assert User.objects.get(pk=alice.user.pk).email == alice.user.email
    assert Ticket.objects.get(pk=alice.ticket.pk).subject == alice.ticket.subject


def test_an_erasure_can_be_cancelled_in_its_grace_period(lead, second_lead, alice):
    request = services.create_request(by=lead, kind="erasure", user=alice.user)
    services.approve(request=request, by=second_lead)
    services.cancel(request=request, by=lead)
    assert ErasureWork.objects.get(request=request).state == "cancelled"
    with transaction.atomic():
        request.refresh_from_db()
        assert services.run_erasure(request).status == RequestStatus.CANCELLED
