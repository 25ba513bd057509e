"""A ticket's contact address and name are encrypted at rest (`core.crypto`), found by exact
match through their keyed hashes, and survive key rotation; migration 0022 encrypts the rows
written before it."""

import io
from importlib import import_module

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from core import crypto
from support.models import Ticket
from support.services import access

from .factories import make_ticket

pytestmark = pytest.mark.django_db
ADDRESS, NAME = "wile.coyote@acme.example", "Wile E. Coyote"


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [first]
    return first, second


def _raw(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_email, customer_email_hash, customer_name, customer_name_hash "
            "FROM support_ticket WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_the_contact_round_trips_and_the_columns_hold_no_plaintext(keys, lead):
    ticket = make_ticket(by=lead, customer_email=ADDRESS.upper(), customer_name=NAME)
    email, email_hash, name, name_hash = _raw(ticket.pk)
    assert email.startswith(crypto.TOKEN_PREFIX) and name.startswith(crypto.TOKEN_PREFIX)
    assert "coyote" not in (email + name).lower() and "acme" not in email.lower()
    assert email_hash == crypto.keyed_hash(ADDRESS) and name_hash == crypto.keyed_hash(NAME)
    again = Ticket.objects.get(pk=ticket.pk)
    assert (again.customer_email, again.customer_name) == (ADDRESS, NAME)
    # A change through a save keeps the hash in step.
    again.customer_name = "Road Runner"
    again.save()
    assert _raw(ticket.pk)[3] == crypto.keyed_hash("road runner")


def test_exact_lookups_go_through_the_hash(keys, lead, client, monkeypatch):
    ticket = make_ticket(by=lead, customer_email=ADDRESS, customer_name=NAME, subject="Anvil")
    other = make_ticket(by=lead, customer_email="road@acme.example", subject="Rocket")
    assert list(Ticket.objects.with_customer_email(f"  {ADDRESS.upper()} ")) == [ticket]
    assert list(Ticket.objects.with_customer("wile e. coyote")) == [ticket]
    assert not Ticket.objects.with_customer_email("wile@acme.example").exists()
    assert not Ticket.objects.with_customer("").exists()
    client.force_login(lead)
    for customer in (ADDRESS, NAME):
        page = client.get("/desk/", {"view": "all", "customer": customer}).content.decode()
        assert ticket.number in page and other.number not in page, customer
    page = client.get("/desk/", {"view": "all", "q": ADDRESS}).content.decode()
    assert ticket.number in page and other.number not in page
    # The help center's "send me a new link" matches number and address by the hash too.
    sent = []
    monkeypatch.setattr(access.notifications, "access_link", lambda t, link: sent.append(t.pk))
    access.request_new_link(email=ADDRESS.upper(), number=ticket.number)
    access.request_new_link(email="road@acme.example", number=ticket.number)
    assert sent == [ticket.pk]


def test_contacts_survive_key_rotation(keys, lead, settings):
    old, new = keys
    ticket = make_ticket(by=lead, customer_email=ADDRESS, customer_name=NAME)
    before = _raw(ticket.pk)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("reencrypt_fields", stdout=io.StringIO())
    after = _raw(ticket.pk)
    assert after[0] != before[0] and after[2] != before[2]
    assert (after[1], after[3]) == (before[1], before[3])  # the hash key is not rotated
    settings.FIELD_ENCRYPTION_KEYS = [new]
    again = Ticket.objects.get(pk=ticket.pk)
    assert (again.customer_email, again.customer_name) == (ADDRESS, NAME)
    assert list(Ticket.objects.with_customer_email(ADDRESS)) == [ticket]


def test_the_migration_encrypts_rows_written_in_plain_and_fills_their_hashes(keys, lead):
    ticket = make_ticket(by=lead, customer_email=ADDRESS, customer_name=NAME)
    with connection.cursor() as cursor:  # as a row from before the migration
        cursor.execute(
            "UPDATE support_ticket SET customer_email = %s, customer_name = %s, "
            "customer_email_hash = '', customer_name_hash = '' WHERE id = %s",
            [ADDRESS, NAME, ticket.pk],
        )
    assert Ticket.objects.get(pk=ticket.pk).customer_email == ADDRESS  # plain reads as itself
    migration = import_module("support.migrations.0025_privacy_encrypted_contacts")
    with connection.schema_editor() as editor:
        migration.encrypt_contacts(None, editor)
    email, email_hash, name, name_hash = _raw(ticket.pk)
    assert email.startswith(crypto.TOKEN_PREFIX) and "coyote" not in email.lower()
    assert email_hash == crypto.keyed_hash(ADDRESS) and name_hash == crypto.keyed_hash(NAME)
    assert Ticket.objects.get(pk=ticket.pk).customer_name == NAME
    # Run again (a migration stopped half-way): the same values, under the current key.
    with connection.schema_editor() as editor:
        migration.encrypt_contacts(None, editor)
    assert Ticket.objects.with_customer_email(ADDRESS).get().customer_name == NAME
