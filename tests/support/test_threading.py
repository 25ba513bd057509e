import pytest

from core.models import OutboxMessage
from support.notifications import reply_to_address, ticket_id_from_reply_address

from .factories import make_ticket

pytestmark = pytest.mark.django_db


def test_ticket_e_mails_thread_back_to_their_ticket_only(customer):
    ticket = make_ticket(by=customer)
    confirmation = OutboxMessage.objects.get(key=f"ticket:{ticket.pk}:created:confirmation")
    address = confirmation.headers["Reply-To"]
    assert address == reply_to_address(ticket)
    assert confirmation.headers["Message-ID"].startswith(f"<{ticket.number.lower()}.")
    assert ticket_id_from_reply_address(address) == ticket.pk
    # A forged or altered token threads nowhere.
    local, domain = address.split("@")
    _, day, signature = local.split(".")
    other = reply_to_address(make_ticket(by=customer)).split("@")[0].split(".")[0]
    forged = f"{other}.{day}.{signature}@{domain}"  # another ticket's id, this one's signature
    assert ticket_id_from_reply_address(forged) is None
    assert ticket_id_from_reply_address("support@example.com") is None
