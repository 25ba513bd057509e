"""The people and the ticket the `.eml` fixtures are written for, and ways to feed them in.

The fixtures are real-world shaped mails (see fixtures/); those that answer a ticket carry
placeholders the tests fill: {{NUMBER}} the ticket number, {{THREAD_ID}} the Message-ID of our
confirmation mail, {{REPLY_TO}} the ticket's signed reply address, {{TICKET_ID}} its id.
"""

import base64
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from core.roles import Role
from support import services
from support.inbound.parse import message_from_bytes
from support.inbound.services import receive
from support.models.choices import Channel
from support.notifications import reply_to_address, thread_message_id
from tests.factories import OrganizationFactory, UserFactory

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_URL = "/anymail/sendgrid/inbound/"
WEBHOOK_AUTH = "Basic " + base64.b64encode(b"anymail-test:webhook-secret").decode()


def eml(name: str, ticket=None, **values) -> bytes:
    """The fixture's bytes, placeholders filled from `ticket` or given by name."""
    raw = (FIXTURES / name).read_bytes()
    if ticket is not None:
        values = {
            "NUMBER": ticket.number,
            "THREAD_ID": thread_message_id(ticket),
            "REPLY_TO": reply_to_address(ticket),
            "TICKET_ID": str(ticket.pk),
            **values,
        }
    for placeholder, value in values.items():
        raw = raw.replace(b"{{" + placeholder.encode() + b"}}", value.encode())
    assert b"{{" not in raw, f"{name} needs a ticket for its placeholders"
    return raw


def feed(raw: bytes):
    """Through the service, as the command does."""
    return receive(message_from_bytes(raw), raw=raw)


def post_webhook(client, raw: bytes, *, auth=WEBHOOK_AUTH, envelope_to="help@support.example.com"):
    """What SendGrid's Inbound Parse posts with "send raw" on: the MIME text in `email`."""
    data = {
        "email": raw.decode("utf-8"),
        "envelope": json.dumps({"to": [envelope_to], "from": "bounce@mail.example"}),
        "spam_score": "0.1",
    }
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(WEBHOOK_URL, data, **headers)


def ingest(*paths) -> str:
    from io import StringIO

    out = StringIO()
    call_command("ingest_email", *[str(path) for path in paths], stdout=out)
    return out.getvalue()


@pytest.fixture
def acme(db):
    return OrganizationFactory(name="Acme Corp", email_domain="acme-corp.com")


@pytest.fixture
def jane(acme):
    return UserFactory(
        email="jane.doe@acme-corp.com",
        full_name="Jane Doe",
        organization=acme,
        roles=[Role.CUSTOMER],
    )


@pytest.fixture
def avery(db):
    """The agent whose address the spoofed mail wears."""
    return UserFactory(
        email="avery.agent@ourcompany.com", full_name="Avery Agent", roles=[Role.AGENT]
    )


@pytest.fixture
def jane_ticket(jane):
    return services.create_ticket(
        by=jane,
        subject="CSV export stops at 10,000 rows",
        description="<p>The export stops.</p>",
        channel=Channel.EMAIL,
    )
