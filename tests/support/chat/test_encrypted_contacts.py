"""A chat visitor's name and address are encrypted at rest (`core.crypto`), found by exact
match through their keyed hashes, and survive key rotation."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from core import crypto, privacy
from support.chat.privacy import sessions_of
from support.models import ChatSession

from .factories import chat_world, start

pytestmark = pytest.mark.django_db
ADDRESS, NAME = "olive.oyl@sea.example", "Olive Oyl"


def _raw(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT visitor_email, visitor_email_hash, visitor_name, visitor_name_hash "
            "FROM support_chatsession WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_the_visitor_round_trips_is_found_exactly_and_survives_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    widget, _ = chat_world()
    session, _ = start(widget, email=ADDRESS.upper(), name=NAME)
    other, _ = start(widget, email="popeye@sea.example", name="Popeye")
    email, email_hash, name, name_hash = _raw(session.pk)
    assert email.startswith(crypto.TOKEN_PREFIX) and name.startswith(crypto.TOKEN_PREFIX)
    assert "olive" not in (email + name).lower() and "sea.example" not in email
    assert email_hash == crypto.keyed_hash(ADDRESS) and name_hash == crypto.keyed_hash(NAME)
    assert ChatSession.objects.get(pk=session.pk).visitor_email == ADDRESS
    assert list(ChatSession.objects.with_visitor_email(f" {ADDRESS.upper()}")) == [session]
    assert list(sessions_of(privacy.Subject(email=ADDRESS))) == [session]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("reencrypt_fields", stdout=io.StringIO())
    assert _raw(session.pk)[0] != email
    settings.FIELD_ENCRYPTION_KEYS = [new]
    again = ChatSession.objects.get(pk=session.pk)
    assert (again.visitor_email, again.visitor_name) == (ADDRESS, NAME)
    assert list(ChatSession.objects.with_visitor_email(ADDRESS)) == [session]
    assert ChatSession.objects.get(pk=other.pk).visitor_name == "Popeye"
