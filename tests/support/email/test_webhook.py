"""The ESP's inbound webhook end to end: what SendGrid's Inbound Parse posts ("send raw" on)
reaches `receive` only with the webhook secret (HTTP basic auth)."""

import base64

import pytest

from support.models import InboundEmail, Ticket, TicketMessage
from support.models.choices import Channel, SenderType

from .conftest import WEBHOOK_AUTH, eml, post_webhook

pytestmark = [
    pytest.mark.django_db,
    # anymail 15 warns that SendGrid lost official support; its inbound view is unchanged.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]
Outcome = InboundEmail.Outcome


def test_a_new_mail_posted_by_the_esp_opens_a_ticket(client, jane):
    response = post_webhook(client, eml("new_contact_multipart_alternative.eml"))

    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert record.outcome == Outcome.TICKET_CREATED
    assert record.ticket.channel == Channel.EMAIL
    assert record.ticket.subject == "Bestellung für März – Lieferung fehlt"
    assert "help@support.example.com" in record.recipients  # the envelope's too


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Basic " + base64.b64encode(b"anymail-test:wrong-secret").decode(),
        "Basic " + base64.b64encode(b"someone:webhook-secret").decode(),
    ],
    ids=["no-auth", "wrong-secret", "wrong-user"],
)
def test_without_the_webhook_secret_nothing_is_created(client, jane, auth):
    response = post_webhook(client, eml("new_plain_known_customer.eml"), auth=auth)

    assert response.status_code in (400, 403)
    assert not InboundEmail.objects.exists()
    assert not Ticket.objects.exists()


def test_a_reply_through_the_webhook_lands_on_the_ticket(client, jane, jane_ticket):
    response = post_webhook(client, eml("gmail_reply_signed_address.eml", jane_ticket))

    assert response.status_code == 200
    [message] = jane_ticket.messages.all()
    assert (message.sender_type, message.author) == (SenderType.CUSTOMER, jane)
    assert message.body_text == "Here is the report ID you asked for: R-2026-02-77."


def test_the_signed_address_in_the_envelope_alone_is_enough(client, jane, jane_ticket):
    from support.notifications import reply_to_address

    raw = eml("reply_references_only.eml", jane_ticket, THREAD_ID="<nothing@elsewhere.example>")

    post_webhook(client, raw, envelope_to=reply_to_address(jane_ticket))

    assert InboundEmail.objects.get().message.ticket == jane_ticket


def test_the_esp_retrying_a_delivery_adds_nothing(client, jane, jane_ticket):
    raw = eml("outlook_reply.eml", jane_ticket)

    assert post_webhook(client, raw).status_code == 200
    assert post_webhook(client, raw).status_code == 200

    assert jane_ticket.messages.count() == 1
    assert InboundEmail.objects.count() == 1


def test_a_spoofed_agent_through_the_webhook_is_no_agent_reply(client, jane, jane_ticket, avery):
    post_webhook(client, eml("spoofed_agent.eml", jane_ticket))

    assert not TicketMessage.objects.filter(sender_type=SenderType.AGENT).exists()
    jane_ticket.refresh_from_db()
    assert jane_ticket.first_responded_at is None and not jane_ticket.messages.exists()


def test_an_auto_reply_through_the_webhook_is_recorded_and_ignored(client, jane, jane_ticket):
    response = post_webhook(client, eml("out_of_office.eml", jane_ticket))

    assert response.status_code == 200
    assert InboundEmail.objects.get().outcome == Outcome.IGNORED_AUTOREPLY
    assert not jane_ticket.messages.exists()


def test_the_desk_shows_the_trimmed_reply_marked_by_e_mail(client, jane, jane_ticket, agent):
    from django.urls import reverse

    post_webhook(client, eml("outlook_reply.eml", jane_ticket))
    client.force_login(agent)

    page = client.get(reverse("desk-ticket", args=[jane_ticket.number])).text

    assert "the export works again with the new limit" in page
    assert "· by e-mail" in page
    assert "We raised the export limit to 100,000" not in page


def test_the_esps_parsed_mode_works_too(client, jane):
    """SendGrid without "send raw": headers, text and html as separate fields."""
    headers = (
        "From: Jane Doe <jane.doe@acme-corp.com>\n"
        "To: help@support.example.com\n"
        "Subject: Parsed mode works\n"
        "Message-ID: <parsed-mode-1@acme-corp.com>\n"
    )
    response = client.post(
        "/anymail/sendgrid/inbound/",
        {
            "headers": headers,
            "text": "Plain words.\n\n-- \nJane",
            "html": "<p>Plain <b>words</b>.</p>",
        },
        HTTP_AUTHORIZATION=WEBHOOK_AUTH,
    )

    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert record.email_message_id == "<parsed-mode-1@acme-corp.com>"
    assert record.ticket.description == "<p>Plain <b>words</b>.</p>"
