"""Encryption of personal fields at rest, with a keyed hash beside each for exact lookups.

    phone = EncryptedCharField(max_length=40, blank=True)     # Fernet token in the column
    email = EncryptedCharField(max_length=254)
    email_hash = models.CharField(max_length=64, unique=True) # keyed_hash(email), kept by save()
    name = EncryptedCharField(max_length=200, blank=True)
    name_hash = KeyedHashField(source="name")                 # kept by pre_save

Keys come from the environment: `FIELD_ENCRYPTION_KEYS`, comma-separated Fernet keys, the first
encrypts and all decrypt (`MultiFernet`), so a key is rotated by putting the new one first,
running `manage.py reencrypt_fields`, then dropping the old one. `FIELD_HASH_KEY` keys the
HMAC-SHA256 lookup hashes (it is not rotated by re-encryption: changing it means recomputing
every hash). Without them (embedded mode, tests) both are derived from `SECRET_KEY`.

A column value that is not a Fernet token (a row written before the field was encrypted) reads
as itself, so a field can be switched to encryption before its rows are re-encrypted.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models import lookups

TOKEN_PREFIX = "gAAAAA"


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not Fernet's"
        ) from exc


def fernet() -> MultiFernet:
    keys = tuple(k for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) if k.strip())
    if not keys:
        keys = (base64.urlsafe_b64encode(_derived("field-encryption")).decode(),)
    return _fernet_for(keys)


def _hash_key() -> bytes:
    key = getattr(settings, "FIELD_HASH_KEY", "")
    return key.encode() if key else _derived("field-hash")


def keyed_hash(value: str) -> str:
    """The lookup hash of a value: HMAC-SHA256 of its trimmed, lower-cased form."""
    return hmac.new(_hash_key(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value or not value.startswith(TOKEN_PREFIX):
        return value
    try:
        return fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted field cannot be read with FIELD_ENCRYPTION_KEYS (a key was dropped "
            "before `manage.py reencrypt_fields` ran)"
        ) from exc


def rotate(value: str) -> str:
    """The value encrypted under the current first key (plain values are encrypted)."""
    if not value:
        return value
    if not value.startswith(TOKEN_PREFIX):
        return encrypt(value)
    return fernet().rotate(value.encode()).decode()


class EncryptedCharField(models.TextField):
    """A short text (an address, a phone number, a name) stored as a Fernet token.

    Only `isnull` and the empty string can be looked up (a lookup by a value raises
    FieldError): find rows by the keyed hash beside it (`KeyedHashField`).
    Forms see a one-line text input of `max_length` characters.
    """

    def __init__(self, *args, max_length=None, **kwargs):
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.plain_max_length is not None:
            kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def to_python(self, value):
        return decrypt(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        if value.startswith(TOKEN_PREFIX):
            return value  # already a token (re-encryption writes tokens)
        return encrypt(value)

    def formfield(self, **kwargs):
        return forms.CharField(
            max_length=self.plain_max_length,
            required=not self.blank,
            label=kwargs.get("label") or self.verbose_name.capitalize(),
            help_text=self.help_text,
        )


class _PlainLookupRefused:
    """A lookup of an encrypted column by a value: tokens are random, so it could only ever
    match nothing. Refused loudly (look the row up by its keyed hash); the empty string and
    `isnull` still work."""

    def get_prep_lookup(self):
        values = self.rhs if isinstance(self.rhs, (list, tuple, set)) else [self.rhs]
        if any(isinstance(v, str) and v for v in values):
            raise FieldError(
                f"An encrypted field cannot be looked up by `{self.lookup_name}`: "
                "filter on the keyed hash beside it"
            )
        return super().get_prep_lookup()


for _lookup in (
    lookups.Exact,
    lookups.IExact,
    lookups.In,
    lookups.Contains,
    lookups.IContains,
    lookups.StartsWith,
    lookups.IStartsWith,
    lookups.EndsWith,
    lookups.IEndsWith,
):
    EncryptedCharField.register_lookup(
        type(f"Encrypted{_lookup.__name__}", (_PlainLookupRefused, _lookup), {})
    )


class KeyedHashField(models.CharField):
    """The lookup hash of another field of the row (`source`), kept by every save and
    `bulk_create` (`pre_save`), empty for an empty value. An `update()` or `bulk_update()`
    that changes the source must set it too (`keyed_hash`, `hash_or_empty`).

        customer_email = EncryptedCharField(max_length=254)
        customer_email_hash = KeyedHashField(source="customer_email")
    """

    def __init__(self, *args, source: str = "", **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("editable", False), ("blank", True)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        if kwargs.get("default") == "":
            kwargs.pop("default")
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = hash_or_empty(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def hash_or_empty(value: str | None) -> str:
    """`keyed_hash(value)`, or "" for no value (what a `KeyedHashField` holds)."""
    return keyed_hash(value) if value and value.strip() else ""


def encrypted_fields():
    """Every (model, field) that is an EncryptedCharField."""
    from django.apps import apps

    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, EncryptedCharField):
                yield model, f
