import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from core import crypto
from incidents.models import StatusSubscriber
from incidents.subscribers import subscribe


def _raw(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, email_hash FROM incidents_statussubscriber WHERE id = %s", [pk]
        )
        return cursor.fetchone()


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [first]
    return first, second


def test_an_encrypted_field_round_trips_and_the_column_holds_no_address(db, keys):
    subscriber = subscribe(email="Ana.Lopez@Example.com")
    column, digest = _raw(subscriber.pk)
    assert column.startswith(crypto.TOKEN_PREFIX) and "ana" not in column.lower()
    assert digest == crypto.keyed_hash("ana.lopez@example.com")
    assert StatusSubscriber.objects.get(pk=subscriber.pk).email == "ana.lopez@example.com"


def test_exact_lookups_and_uniqueness_go_through_the_keyed_hash(db, keys):
    first = subscribe(email="ana@example.com")
    assert StatusSubscriber.objects.with_email(" ANA@example.com ").get() == first
    assert subscribe(email="ana@example.com").pk == first.pk  # the same subscription
    assert StatusSubscriber.objects.count() == 1
    with connection.cursor() as cursor:  # the hash column is the unique index the lookup uses
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'incidents_statussubscriber'"
        )
        assert any("UNIQUE" in d and "email_hash" in d for (d,) in cursor.fetchall())


def test_rows_survive_key_rotation(db, keys, settings):
    old, new = keys
    subscriber = subscribe(email="ben@example.com")
    before, _ = _raw(subscriber.pk)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # the new key first, the old still readable
    assert StatusSubscriber.objects.get(pk=subscriber.pk).email == "ben@example.com"
    call_command("reencrypt_fields", stdout=io.StringIO())
    after, _ = _raw(subscriber.pk)
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped
    assert StatusSubscriber.objects.get(pk=subscriber.pk).email == "ben@example.com"
    assert StatusSubscriber.objects.with_email("ben@example.com").exists()
    settings.FIELD_ENCRYPTION_KEYS = [old]  # a key that never encrypted it cannot read it
    with pytest.raises(ImproperlyConfigured):
        StatusSubscriber.objects.get(pk=subscriber.pk)


def test_a_value_written_before_encryption_reads_as_itself_and_is_encrypted_by_the_command(
    db, keys
):
    subscriber = subscribe(email="cy@example.com")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_statussubscriber SET email = 'cy@example.com' WHERE id = %s",
            [subscriber.pk],
        )
    assert StatusSubscriber.objects.get(pk=subscriber.pk).email == "cy@example.com"
    call_command("reencrypt_fields", stdout=io.StringIO())
    assert _raw(subscriber.pk)[0].startswith(crypto.TOKEN_PREFIX)


def test_accounts_phone_numbers_are_encrypted_and_read_back(db, keys):
    from core.forms import PreferencesForm
    from tests.factories import UserFactory

    user = UserFactory(phone="+44 7700 900123")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM core_user WHERE id = %s", [user.pk])
        column = cursor.fetchone()[0]
    assert column.startswith(crypto.TOKEN_PREFIX) and "7700" not in column
    user.refresh_from_db()
    assert user.phone == "+44 7700 900123"
    form = PreferencesForm(instance=user)
    assert 'value="+44 7700 900123"' in str(form["phone"]) and "<textarea" not in str(form["phone"])


def test_a_lookup_of_an_encrypted_column_by_value_is_refused_not_silently_empty(db, keys):
    from django.core.exceptions import FieldError

    subscribe(email="dee@example.com")
    for lookup in ("email", "email__iexact", "email__in", "email__icontains"):
        value = ["dee@example.com"] if lookup.endswith("__in") else "dee@example.com"
        with pytest.raises(FieldError, match="keyed hash"):
            StatusSubscriber.objects.filter(**{lookup: value})
    # The empty string and isnull still work (a blank optional field).
    assert not StatusSubscriber.objects.filter(email="").exists()
    assert StatusSubscriber.objects.filter(email__isnull=False).count() == 1
