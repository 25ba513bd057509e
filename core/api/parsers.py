"""Request bodies the API reads: text a database cannot store is refused as it is parsed.

JSON may carry a NUL character (`"\\u0000"`) or half of a surrogate pair (`"\\ud800"`), both
valid JSON and both refused by PostgreSQL (NUL) or by UTF-8 itself (a lone surrogate), so
either would fail deep inside a lookup or a save as a server error. Form and multipart bodies
can carry NUL. Every key and every string, at any depth, is checked here, for every endpoint.
"""

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(data) -> bool:
    if isinstance(data, str):
        return _UNSTORABLE.search(data) is not None
    if isinstance(data, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return any(_unstorable(item) for item in data)
    return False


def _checked(data):
    if _unstorable(data):
        raise ParseError("The body contains a NUL character or an unpaired surrogate.")
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type, parser_context))


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _checked({key: data.getlist(key) for key in data})
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        fields = {key: result.data.getlist(key) for key in result.data}
        _checked({**fields, "": [f.name for f in result.files.values()]})
        return result
