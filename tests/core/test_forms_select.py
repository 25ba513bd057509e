"""`PlainSelect` writes the same `<select>` as Django's template-rendered `forms.Select`."""

import re

from django import forms

from core.forms import PlainSelect

CHOICES = [
    ("", "Any <team>"),
    ("a&b", "Tom & Jerry's <desk>"),
    ("Group", [("g1", "First"), ("g2", "Second")]),
    (3, "Three"),
]


def normalised(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


def test_plain_select_matches_djangos_markup_and_escaping():
    for value, attrs in [
        ("a&b", {"id": "x", "required": True}),
        ("g2", {"class": "c", "data-x": '1"2'}),
        (None, None),
        (3, {}),
    ]:
        ours = PlainSelect(choices=CHOICES).render("team", value, attrs)
        theirs = forms.Select(choices=CHOICES).render("team", value, attrs)
        assert normalised(ours) == normalised(theirs)
    assert "<script" not in PlainSelect(choices=[("<script>", "<script>")]).render("x", "")
