"""The cheap test asked before pg_trgm's word similarity (`core.search.postgres._MayBeSimilar`)
skips only rows that cannot be similar: searches find exactly what they found without it."""

import pytest
from django.db import connection

from core.search import postgres
from core.search.postgres import fuzzy_substrings, trigrams
from support.models import Ticket
from support.selectors import search_tickets

WORDS = [
    "webhook timeout",
    "invoice",
    "pasword reset",
    "Coyotte",
    "prnter",
    "sso x",
    "a1b2 9z",
    "Muller",
    "Jose",
    "dashbord slow",
]

# Subjects and customer names with typos, accents and digits: rows near every word above.
ROWS = [
    ("Webhook timout after deploy", "Wile Coyote"),
    ("Webhooks time out", "Road Runner"),
    ("Invoise missing VAT", "José Müller"),
    ("Password reset link expired", "Jürgen Muller"),
    ("Pasword resett", "Zoë Ångström"),
    ("Printer prints blank pages", "Peter Gibbons"),
    ("SSO login loop", "Ssonia X"),
    ("Error A1B2 on 9Z model", "Mülller Jose"),
    ("Dashboard is slow", "Ünal Dashbordt"),
    ("Nothing alike here", "Quinn Q"),
    ("Ошибка вебхука timeout", "Иван Петров"),
    ("Café invoice", "Renée Invoicé"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("words", WORDS)
def test_the_trigrams_are_pg_trgms(words):
    with connection.cursor() as cursor:
        cursor.execute("SELECT show_trgm(%s)", [words])
        assert trigrams(words) == frozenset(cursor.fetchone()[0])


def test_the_substrings():
    assert fuzzy_substrings("webhook timeout") == ["bho", "ebh", "eou", "hoo", "ime", "meo", "ook"]
    assert fuzzy_substrings("invoice") == ["ice", "inv", "nvo", "oic"]
    # Padded trigrams become their letters; one that contains another chosen one is dropped.
    assert fuzzy_substrings("sso x") == ["so", "ss"]
    # Input that is not ASCII letters, digits and spaces is left to pg_trgm alone.
    assert fuzzy_substrings("e-mail") is None
    assert fuzzy_substrings("Müller") is None


@pytest.mark.django_db
def test_searches_find_the_same_rows_with_and_without_the_prefilter(monkeypatch):
    for index, (subject, name) in enumerate(ROWS):
        Ticket.objects.create(
            number=f"TKT-20260101-{index:04d}",
            subject=subject,
            customer_name=name,
            customer_email=f"c{index}@example.com",
        )

    def found(words, ordered):
        return list(search_tickets(Ticket.objects.all(), words, ordered=ordered).values_list("pk"))

    for words in WORDS:
        for ordered in (False, True):
            with_prefilter = found(words, ordered)
            monkeypatch.setattr(postgres, "fuzzy_substrings", lambda words: None)
            without = found(words, ordered)
            monkeypatch.undo()
            assert sorted(with_prefilter) == sorted(without), words
            if ordered:
                assert with_prefilter == without, words
    # The rows above do reach the fuzzy branch: a typo still finds its ticket.
    assert found("Invoise", False)


@pytest.mark.django_db
def test_the_prefilter_is_in_the_search_sql():
    sql = str(search_tickets(Ticket.objects.all(), "webhook timeout").query)
    assert "LIKE ANY" in sql and "%ebh%" in sql
    # A phrase asks for exactly its words: no typo tolerance, so no prefilter either.
    assert "LIKE ANY" not in str(search_tickets(Ticket.objects.all(), '"webhook"').query)
