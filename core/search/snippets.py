"""Snippets come back from the database as plain text with the matched words between two
private-use characters; they are HTML-escaped here and the marks become `<mark>` tags, so a
description containing markup can never inject it into a results page."""

from django.db.models import TextField
from django.utils.html import escape
from django.utils.safestring import mark_safe

START, STOP = "\ue000", "\ue001"


def highlight(text: str | None) -> str:
    if not text:
        return ""
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))


class SnippetField(TextField):
    def from_db_value(self, value, expression, connection):
        return highlight(value)
