"""Filter fields every API filter set uses: they parse through `core.inputs`, strictly.

django-filter's `NumberFilter` is a decimal (`team=1.5` would quietly become team 1) and its
`IsoDateTimeFilter` hands PostgreSQL offsets it refuses (`+16:00`). A filter value that is not
what the parameter documents is a 400 naming the parameter, never an empty or widened result.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from core.inputs import as_utc, parse_id


class IdField(forms.CharField):
    default_error_messages = {"invalid": "Enter an id: a positive whole number in digits 0-9."}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        number = parse_id(value)
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class IdFilter(django_filters.Filter):
    """An id (`[0-9]+`, 64-bit); documented as an integer."""

    field_class = IdField


class UtcDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        return None if value is None else as_utc(value)


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time; any offset Python reads is accepted and moved to UTC."""

    field_class = UtcDateTimeField
