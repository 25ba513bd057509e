"""What customers receive by e-mail and SMS: headers, parts, consent, and never an internal note."""

import re

import pytest
from django.core import mail
from django.test import Client

from core.models import OutboxMessage
from core.models.notifications import Channel, EmailCategory
from core.notifications import consent, dispatch
from support import notifications, services
from support.notifications import reply_to_address, ticket_id_from_reply_address
from support.services.escalation import remind
from tests.factories import UserFactory

from .factories import make_ticket

pytestmark = pytest.mark.django_db

NOTE = "SECRET-NOTE-the-customer-is-difficult"
REPLY = "Clear the browser cache and try the export again."
OPTIONAL = ("waiting", "resolved", "survey", "reminder")


def customer_rows(ticket):
    return OutboxMessage.objects.filter(
        channel=Channel.EMAIL, recipient=ticket.customer_email
    ).order_by("pk")


def kind_of(row) -> str:
    for kind in ("created", "survey", "resolved", "waiting", "reminder", "message"):
        if f":{kind}" in row.key or row.key.endswith(f"{kind}-email"):
            return kind
    raise AssertionError(row.key)


@pytest.fixture
def lifecycle(customer, agent):
    """A ticket taken through every customer e-mail: created, reply, waiting, nudge, resolved
    (and its survey), with an internal note written along the way."""
    ticket = make_ticket(by=customer, subject="Export to CSV never finishes")
    services.add_message(ticket=ticket, by=agent, body=f"<p>{NOTE}</p>", internal=True)
    services.add_message(ticket=ticket, by=agent, body=f"<p>{REPLY}</p>")
    services.wait_on_customer(ticket=ticket, by=agent, note=f"{NOTE} (status note)")
    remind(ticket=ticket, by=agent, target="customer", message="Any news?")
    services.resolve_ticket(ticket=ticket, by=agent, note=f"{NOTE} (resolution note)")
    ticket.refresh_from_db()
    return ticket


def test_every_customer_e_mail_has_both_parts_the_number_and_threading_headers(lifecycle):
    ticket = lifecycle
    rows = list(customer_rows(ticket))
    assert sorted(kind_of(row) for row in rows) == sorted(
        ["created", "message", "waiting", "reminder", "resolved", "survey"]
    )
    for row in rows:
        assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    assert len(mail.outbox) == len(rows)
    root = notifications.thread_message_id(ticket)
    message_ids = set()
    for row, sent in zip(rows, mail.outbox, strict=True):
        kind = kind_of(row)
        headers = sent.extra_headers
        assert sent.subject.startswith(f"[{ticket.number}] ")
        assert sent.body.strip()
        assert [mimetype for _, mimetype in sent.alternatives] == ["text/html"]
        assert sent.to == [ticket.customer_email]
        assert len(sent.reply_to) == 1
        assert ticket_id_from_reply_address(sent.reply_to[0]) == ticket.pk
        message_ids.add(headers["Message-ID"])
        if kind == "created":
            assert headers["Message-ID"] == root
            assert "In-Reply-To" not in headers
        else:
            assert headers["In-Reply-To"] == root
            assert headers["References"] == root
        if kind in OPTIONAL:
            assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            link = headers["List-Unsubscribe"].strip("<>")
            assert link in sent.body and link in sent.alternatives[0][0]
        else:
            assert "List-Unsubscribe" not in headers
            assert "unsubscribe" not in sent.body.lower()
    assert len(message_ids) == len(rows)  # one Message-ID each: clients drop repeats


def test_the_satisfaction_request_links_to_the_rating_form_and_rating_needs_a_post(lifecycle):
    survey = next(row for row in customer_rows(lifecycle) if kind_of(row) == "survey")
    rate_url = f"/help/tickets/{lifecycle.number}/#rate"
    assert rate_url in survey.body
    assert rate_url in survey.html_body
    resolved = next(row for row in customer_rows(lifecycle) if kind_of(row) == "resolved")
    assert "#rate" not in resolved.body  # the survey is its own, separately unsubscribable e-mail
    client = Client()
    client.force_login(lifecycle.customer)
    assert client.get(rate_url.split("#")[0]).status_code == 200
    lifecycle.refresh_from_db()
    assert lifecycle.satisfaction_rating is None


def test_internal_notes_never_reach_the_customer(lifecycle):
    rows = list(OutboxMessage.objects.filter(recipient_user=lifecycle.customer)) + list(
        customer_rows(lifecycle)
    )
    assert rows
    for row in rows:
        for text in (row.subject, row.body, row.html_body, str(row.headers)):
            assert NOTE not in text, row.key
    note = lifecycle.messages.get(is_internal=True)
    assert not OutboxMessage.objects.filter(key__contains=f":message:{note.pk}:customer").exists()
    assert any(REPLY in row.body for row in rows)  # the public reply did go


def test_optional_e_mail_respects_the_address_opt_outs_required_mail_does_not(customer, agent):
    consent.opt_out(address=customer.email, category=EmailCategory.UPDATES, source="test")
    ticket = make_ticket(by=customer)
    services.add_message(ticket=ticket, by=agent, body="<p>A public answer</p>")
    services.wait_on_customer(ticket=ticket, by=agent)
    services.resolve_ticket(ticket=ticket, by=agent)
    assert sorted(kind_of(row) for row in customer_rows(ticket)) == ["created", "message", "survey"]

    consent.opt_out(address=customer.email, category=EmailCategory.SURVEYS, source="test")
    services.reopen_ticket(ticket=ticket, by=agent)
    services.resolve_ticket(ticket=ticket, by=agent)
    assert sorted(kind_of(row) for row in customer_rows(ticket)) == ["created", "message", "survey"]


def test_a_contact_without_an_account_unsubscribes_by_the_link(agent):
    ticket = make_ticket(by=agent, customer_email="Walk-In@Example.com", customer_name="Wally")
    assert ticket.customer is None
    services.wait_on_customer(ticket=ticket, by=agent)
    waiting = next(row for row in customer_rows(ticket) if kind_of(row) == "waiting")
    link = waiting.headers["List-Unsubscribe"].strip("<>").replace("http://127.0.0.1:8000", "")
    assert Client().post(link, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert consent.opted_out("walk-in@example.com", EmailCategory.UPDATES)
    services.add_message(ticket=ticket, by=agent, body="<p>Answer</p>")
    services.resolve_ticket(ticket=ticket, by=agent)
    kinds = [kind_of(row) for row in customer_rows(ticket)]
    assert "resolved" not in kinds and "message" in kinds and "survey" in kinds


def test_sms_when_chosen_carries_only_the_number_and_a_link(organization, agent):
    customer = UserFactory(
        roles=["customer"], organization=organization, phone="+15550100", sms_notifications=True
    )
    ticket = make_ticket(by=customer, subject="Invoice 4711 is wrong", description="<p>VAT</p>")
    services.add_message(ticket=ticket, by=agent, body=f"<p>{REPLY}</p>")
    services.wait_on_customer(ticket=ticket, by=agent)
    services.resolve_ticket(ticket=ticket, by=agent)
    texts = list(OutboxMessage.objects.filter(channel=Channel.SMS, recipient="+15550100"))
    assert len(texts) == 3
    url = f"http://127.0.0.1:8000/help/tickets/{ticket.number}/"
    for text in texts:
        assert ticket.number in text.body and url in text.body
        without = text.body.replace(ticket.number, "").replace(url, "")
        for content in ("Invoice", "4711", "VAT", "cache", "export", ticket.subject):
            assert content.lower() not in without.lower()
        assert text.subject == "" and text.html_body == ""


def test_no_sms_unless_the_customer_turned_it_on(organization, agent):
    customer = UserFactory(roles=["customer"], organization=organization, phone="+15550101")
    ticket = make_ticket(by=customer)
    services.add_message(ticket=ticket, by=agent, body="<p>Answer</p>")
    services.resolve_ticket(ticket=ticket, by=agent)
    assert not OutboxMessage.objects.filter(channel=Channel.SMS).exists()


# --- the reply address -------------------------------------------------------------------------


class _Ticket:
    def __init__(self, pk):
        self.pk = pk


@pytest.mark.parametrize("pk", [1, 35, 36, 4_200_000, 10**12])
def test_the_reply_address_fits_a_local_part_and_decodes_to_its_ticket(pk):
    address = reply_to_address(_Ticket(pk))
    local, domain = address.split("@")
    assert len(local) <= 64
    assert re.fullmatch(r"[A-Za-z0-9.+_-]+", local)
    assert ticket_id_from_reply_address(address) == pk
    assert ticket_id_from_reply_address(address.upper()) == pk  # a mail system changed the case


def test_the_reply_address_expires(monkeypatch, settings):
    settings.SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS = 90
    address = reply_to_address(_Ticket(42))
    today = notifications._today()
    monkeypatch.setattr(notifications, "_today", lambda: today + 90)
    assert ticket_id_from_reply_address(address) == 42
    monkeypatch.setattr(notifications, "_today", lambda: today + 91)
    assert ticket_id_from_reply_address(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "support@example.com",
        "reply+@support.example.com",
        "reply+1.2@support.example.com",
        "reply+zz.zz.zz@support.example.com",
        "reply+1.2.3.4@support.example.com",
        "",
    ],
)
def test_anything_else_is_no_reply_address(address):
    assert ticket_id_from_reply_address(address) is None


def test_a_reply_address_with_a_moved_day_is_refused():
    local, domain = reply_to_address(_Ticket(7)).split("@")
    ticket_part, day, signature = local.split(".")
    later = notifications._base36(int(day, 36) + 1)
    assert ticket_id_from_reply_address(f"{ticket_part}.{later}.{signature}@{domain}") is None
