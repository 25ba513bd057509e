"""The help center as a visitor without an account and as a signed-in customer: the contact
form, the e-mailed link to one request, my requests, "this solved it" and the rating."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import OutboxMessage
from support import services
from support.models import Attachment, Ticket, TicketAccessLink
from support.models.choices import Status
from tests.factories import UserFactory

from .factories import make_ticket
from .test_conversation import png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

LINK = re.compile(r"http://[^/\s]+(/help/access/[^/\s]+/)")


@pytest.fixture(autouse=True)
def no_typing_delay(settings):
    settings.BOT_TRAP_MIN_SECONDS = 0


def _contact(client, **fields):
    form = client.get("/help/tickets/new/")
    started = re.search(r'name="form_started" value="([^"]+)"', form.content.decode()).group(1)
    data = {
        "name": "Vera Visitor",
        "email": "Vera@Example.org",
        "subject": "My invoice is wrong",
        "description": "Line one\nsee https://example.org/invoice/7.\n\nSecond paragraph",
        "form_started": started,
        "website": "",
        **fields,
    }
    return client.post("/help/tickets/new/", data)


def _link_in_confirmation(ticket) -> str:
    mail = OutboxMessage.objects.get(key=f"ticket:{ticket.pk}:created:confirmation")
    return LINK.search(mail.body).group(1)


def test_a_visitor_files_by_the_contact_form_and_sees_the_number(client):
    response = _contact(client, files=[SimpleUploadedFile("shot.png", png_bytes(), "image/png")])
    assert response.status_code == 302 and response.url == "/help/tickets/sent/"
    ticket = Ticket.objects.get(subject="My invoice is wrong")
    assert ticket.customer is None
    assert (ticket.customer_email, ticket.channel) == ("vera@example.org", "web")
    page = client.get(response.url).content.decode()
    assert ticket.number in page and "vera@example.org" in page
    # Line breaks and links as typed; the file kept with the request.
    assert "Line one<br>" in ticket.description
    assert '<a href="https://example.org/invoice/7"' in ticket.description
    assert Attachment.objects.get(ticket=ticket, message=None).original_name == "shot.png"
    # Filing does not open the request in this browser: the e-mailed link does.
    assert client.get(f"/help/tickets/{ticket.number}/").status_code == 403


def test_the_bot_trap_refuses_a_filled_hidden_field_and_an_instant_post(client, settings):
    assert _contact(client, website="http://spam.example").status_code == 200
    settings.BOT_TRAP_MIN_SECONDS = 60
    response = _contact(client, subject="Too fast")
    assert "quicker than anyone types" in response.content.decode()
    forged = _contact(client, subject="Forged", form_started="1700000000:forged")
    assert "open too long" in forged.content.decode()
    assert not Ticket.objects.exists()


def test_the_contact_form_is_rate_limited_per_address(client, settings):
    settings.CONTACT_LIMIT_PER_ACCOUNT = "2/h"
    assert _contact(client, subject="one").status_code == 302
    assert _contact(client, subject="two").status_code == 302
    refused = _contact(client, subject="three")
    assert refused.status_code == 429
    assert Ticket.objects.count() == 2


def test_the_e_mailed_link_opens_that_request_once_and_lets_the_visitor_reply(client):
    _contact(client)
    ticket = Ticket.objects.get()
    path = _link_in_confirmation(ticket)
    landing = client.get(path)  # what a mail scanner does: changes nothing
    assert landing.status_code == 200 and b"Open " + ticket.number.encode() in landing.content
    assert TicketAccessLink.objects.get().used_at is None
    opened = client.post(path)
    assert opened.url == f"/help/tickets/{ticket.number}/"
    page = client.get(opened.url).content.decode()
    assert "My invoice is wrong" in page and "Opened from your e-mailed link" in page
    client.post(
        opened.url,
        {"body": "Here it is", "files": [SimpleUploadedFile("a.png", png_bytes(), "image/png")]},
    )
    reply = ticket.messages.get()
    assert (reply.sender_type, reply.author, reply.attachments.count()) == ("customer", None, 1)
    file_url = f"/help/tickets/{ticket.number}/files/{reply.attachments.get().pk}/"
    assert client.get(file_url).status_code == 200
    # Single use: a second browser gets nothing from the same link.
    from django.test import Client

    other = Client()
    assert other.post(path).status_code == 410
    assert other.get(f"/help/tickets/{ticket.number}/").status_code == 403


def test_a_link_grants_nothing_but_its_own_ticket(client):
    _contact(client)
    mine = Ticket.objects.get()
    someone_else = make_ticket(by=UserFactory(roles=["customer"]), subject="Not yours")
    client.post(_link_in_confirmation(mine))
    assert client.get(f"/help/tickets/{mine.number}/").status_code == 200
    assert client.get(f"/help/tickets/{someone_else.number}/").status_code == 403
    assert client.get("/help/tickets/").status_code == 302  # the list needs an account
    assert client.get(f"/api/v1/support/tickets/{mine.pk}/").status_code in (401, 403)
    assert client.get("/desk/").status_code == 302


def test_a_tampered_or_expired_link_opens_nothing(client):
    _contact(client)
    ticket = Ticket.objects.get()
    path = _link_in_confirmation(ticket)
    assert client.post(path[:-3] + "xx/").status_code == 410
    TicketAccessLink.objects.update(expires_at=timezone.now())
    assert client.post(path).status_code == 410
    assert client.get(f"/help/tickets/{ticket.number}/").status_code == 403


def test_a_new_link_is_sent_only_to_the_requests_own_address(client):
    _contact(client)
    ticket = Ticket.objects.get()
    before = OutboxMessage.objects.count()
    wrong = client.post("/help/access/", {"email": "other@example.org", "number": ticket.number})
    right = client.post("/help/access/", {"email": "VERA@example.org", "number": ticket.number})
    # The same answer either way; one new e-mail, to the request's address.
    assert wrong.status_code == right.status_code == 200
    assert b"we have e-mailed it a new link" in wrong.content
    [mail] = OutboxMessage.objects.order_by("-pk")[: OutboxMessage.objects.count() - before]
    assert mail.recipient == "vera@example.org" and "/help/access/" in mail.body
    assert TicketAccessLink.objects.count() == 2


def test_setting_a_password_revokes_the_links_and_the_account_gets_the_requests(client):
    _contact(client)
    ticket = Ticket.objects.get()
    client.post(_link_in_confirmation(ticket))
    assert client.get(f"/help/tickets/{ticket.number}/").status_code == 200
    user = UserFactory(roles=["customer"], email="vera@example.org")
    user.set_password("a-new-password-123")
    user.save()
    assert TicketAccessLink.objects.get().revoked_at is not None
    assert client.get(f"/help/tickets/{ticket.number}/").status_code == 403
    ticket.refresh_from_db()
    assert ticket.customer == user
    # A new link is not sent any more: the address is told to sign in.
    client.post("/help/access/", {"email": "vera@example.org", "number": ticket.number})
    assert "sign in" in OutboxMessage.objects.order_by("-pk").first().body.lower()
    assert TicketAccessLink.objects.count() == 1


def test_a_signed_in_customers_confirmation_has_no_link(customer):
    ticket = make_ticket(by=customer)
    mail = OutboxMessage.objects.get(key=f"ticket:{ticket.pk}:created:confirmation")
    assert "/help/access/" not in mail.body
    assert not TicketAccessLink.objects.exists()


def test_my_requests_sorted_by_last_update_with_filters(client, customer, agent):
    older = make_ticket(by=customer, subject="Older one")
    newer = make_ticket(by=customer, subject="Newer one")
    services.add_message(ticket=older, by=agent, body="An answer")  # updates the older one
    services.wait_on_customer(ticket=older, by=agent)
    make_ticket(by=UserFactory(roles=["customer"]), subject="Request of a stranger")
    client.force_login(customer)
    page = client.get("/help/tickets/").content.decode()
    assert page.index("Older one") < page.index("Newer one")
    assert "Request of a stranger" not in page
    waiting = client.get("/help/tickets/?state=waiting").content.decode()
    assert "Older one" in waiting and "Newer one" not in waiting
    assert "Waiting for you" in waiting
    found = client.get(f"/help/tickets/?q={newer.number.lower()}").content.decode()
    assert "Newer one" in found and "Older one" not in found


def test_an_organisation_admin_sees_colleagues_requests_with_the_requester(client):
    from core.models import Organization

    org = Organization.objects.create(name="Acme", slug="acme")
    admin = UserFactory(roles=["customer"], organization=org, is_organization_admin=True)
    colleague = UserFactory(roles=["customer"], organization=org, full_name="Colin Colleague")
    make_ticket(by=colleague, subject="Request of a colleague")
    client.force_login(admin)
    page = client.get("/help/tickets/").content.decode()
    assert "Request of a colleague" in page and "Requester" in page and "Colin Colleague" in page
    only = client.get(f"/help/tickets/?requester={admin.pk}").content.decode()
    assert "Request of a colleague" not in only


def test_this_solved_it_closes_an_open_request_and_the_rating_is_shown(client, customer, agent):
    ticket = make_ticket(by=customer, subject="Solved by the first answer")
    services.add_message(ticket=ticket, by=agent, body="Try turning it off and on")
    client.force_login(customer)
    page = client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "This solved it" in page and "Received" in page
    client.post(f"/help/tickets/{ticket.number}/action/", {"action": "solved"})
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.resolved_at is not None
    rate = client.post(
        f"/help/tickets/{ticket.number}/action/",
        {"action": "rate", "rating": "4", "comment": "Quick"},
    )
    assert rate.status_code == 302
    page = client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "Your rating" in page and "4/5" in page and "How did we do?" not in page
    # The timeline shows the statuses, never who or why.
    assert "Solved, says the customer" not in page


def test_the_customer_cannot_resolve_through_the_generic_action(client, customer):
    ticket = make_ticket(by=customer)
    client.force_login(customer)
    client.post(f"/help/tickets/{ticket.number}/action/", {"action": "close"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
