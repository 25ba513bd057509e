"""Ticket search on both databases: one corpus, the same queries, the same top results.

PostgreSQL is the suite's database; SQLite (the embedded mode's FTS5 table) is the `sqlite`
alias of the test settings, migrated like any database, so its triggers are the migration's.
"""

import pytest
from django.db import connections
from rest_framework.test import APIClient

from core.models import Organization, User
from core.roles import Role
from core.search import search
from support import services
from support.models import Ticket
from support.search import TICKETS
from support.selectors import search_tickets, tickets_for
from tests.factories import UserFactory

from .factories import make_ticket

BOTH = pytest.mark.django_db(databases=["default", "sqlite"])
ALIASES = pytest.mark.parametrize("alias", ["default", "sqlite"])

# (organisation, customer name, e-mail, subject, description)
CORPUS = [
    (
        "Acme",
        "Wile Coyote",
        "wile@acme.example",
        "Password reset link expired",
        "I asked for a new password twice and the link in the e-mail says it has expired.",
    ),
    (
        "Acme",
        "Road Runner",
        "road@acme.example",
        "Printer jammed on floor two",
        "The office printer is jammed again, paper everywhere.",
    ),
    (
        "Initech",
        "Peter Gibbons",
        "peter@mail.example",
        "Printer prints blank pages",
        "Since the update our printer only prints blank pages. TPS reports are late.",
    ),
    (
        "Initech",
        "Milton Waddams",
        "milton@mail.example",
        "Invoice missing VAT number",
        "The March invoice has no VAT number on it; our accountant needs it.",
    ),
    (
        "Globex",
        "Hank Scorpio",
        "hank@globex.example",
        "Router keeps rebooting",
        "The router in the lab reboots every hour. Can you send a <script>alert(1)</script> fix?",
    ),
    (
        "Globex",
        "Homer Simpson",
        "homer@globex.example",
        "Cannot download my data",
        "The export of my data stops half-way; see the invoice attached for the account number.",
    ),
]


def load_corpus(alias):
    """The corpus's customers have accounts: the document reads the account's name (the
    ticket's own contact name and address are encrypted, found only exactly)."""
    orgs = {}
    tickets = {}
    for n, (org, name, email, subject, description) in enumerate(CORPUS, 1):
        if org not in orgs:
            orgs[org] = Organization.objects.using(alias).create(name=org, slug=org.lower())
        account = User.objects.db_manager(alias).create_user(email, full_name=name)
        tickets[subject] = Ticket.objects.using(alias).create(
            number=f"TKT-20260101-{n:04d}",
            subject=subject,
            description_text=description,
            customer=account,
            customer_name=name,
            customer_email=email,
            organization=orgs[org],
        )
    return orgs, tickets


def subjects(alias, query, **kwargs):
    return [t.subject for t in search(Ticket.objects.using(alias), query, **kwargs)]


# query -> the subjects expected first, in order (then anything else may follow)
TOP_RESULTS = [
    ("password reset", ["Password reset link expired"]),
    ("reset password", ["Password reset link expired"]),  # words in any order
    ("Wile Coyote", ["Password reset link expired"]),  # the customer's (account's) name
    ("coyote wile", ["Password reset link expired"]),
    ("road", ["Printer jammed on floor two"]),  # a word of the account's name
    ("initech invoice", ["Invoice missing VAT number"]),  # organisation and a word
    ("scorpio router", ["Router keeps rebooting"]),
    ("passw", ["Password reset link expired"]),  # typed half-way: the last word is a prefix
    # A word in the subject (A) ranks above the same word in a description (C).
    ("invoice", ["Invoice missing VAT number", "Cannot download my data"]),
    ("printer", ["Printer jammed on floor two", "Printer prints blank pages"]),
    ('"blank pages"', ["Printer prints blank pages"]),
    ("printer -jammed", ["Printer prints blank pages"]),
    ("router or vat", ["Invoice missing VAT number", "Router keeps rebooting"]),
]


@BOTH
@ALIASES
@pytest.mark.parametrize(("query", "expected"), TOP_RESULTS, ids=[q for q, _ in TOP_RESULTS])
def test_the_same_queries_find_the_same_tickets_first(alias, query, expected):
    load_corpus(alias)
    found = subjects(alias, query)
    if query == "router or vat":  # equal ranks: compare as a set
        assert sorted(found[:2]) == sorted(expected), found
    elif query == "printer":
        assert sorted(found[:2]) == sorted(expected) and len(found) == 2, found
    else:
        assert found[: len(expected)] == expected, found


@BOTH
@ALIASES
def test_what_is_not_there_is_not_found(alias):
    load_corpus(alias)
    assert subjects(alias, "printer -jammed -blank") == []
    assert subjects(alias, "unicorn") == []
    assert subjects(alias, "the and of") == []  # only stop words
    assert subjects(alias, "-printer") == []  # only an exclusion
    assert subjects(alias, '"pages blank"') == []  # a phrase keeps its order
    assert subjects(alias, 'odd "quote : * ( AND') == []  # no syntax error, on FTS5 either


@BOTH
@ALIASES
def test_ranked_rows_carry_a_rank_and_a_highlighted_escaped_snippet(alias):
    load_corpus(alias)
    [router] = search(Ticket.objects.using(alias), "router")
    assert router.search_rank > 0
    assert "<mark>router</mark> in the lab" in router.search_snippet
    [router] = search(Ticket.objects.using(alias), "send fix")
    assert "<mark>send</mark>" in router.search_snippet
    # Markup in the text comes out escaped (FTS5) or dropped (ts_headline skips tags), never raw.
    assert "<script>" not in router.search_snippet and "alert(1)" in router.search_snippet
    ranks = [t.search_rank for t in search(Ticket.objects.using(alias), "invoice")]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[1]


@BOTH
@ALIASES
def test_renaming_an_organisation_or_a_customer_reindexes_their_tickets(alias):
    orgs, _ = load_corpus(alias)
    Organization.objects.using(alias).filter(pk=orgs["Initech"].pk).update(name="Intertrode")
    assert subjects(alias, "initech") == []
    assert sorted(subjects(alias, "intertrode")) == [
        "Invoice missing VAT number",
        "Printer prints blank pages",
    ]
    user = User.objects.db_manager(alias).create_user("tom@example.com", full_name="Tom Smykowski")
    ticket = Ticket.objects.using(alias).create(
        number="TKT-20260101-0100",
        subject="Stapler",
        customer=user,
        customer_name="Tom",
        customer_email=user.email,
    )
    assert subjects(alias, "smykowski") == ["Stapler"]
    user.full_name = "Tom Bolton"
    user.save(using=alias)
    assert subjects(alias, "smykowski") == [] and subjects(alias, "bolton") == ["Stapler"]
    ticket.subject = "Red stapler"
    ticket.save(using=alias)  # a full save, as the admin does
    assert subjects(alias, "red stapler") == ["Red stapler"]
    Ticket.objects.using(alias).filter(pk=ticket.pk).delete()
    assert subjects(alias, "stapler") == []


@pytest.mark.django_db
def test_a_typo_finds_the_word_on_postgresql_through_trigrams():
    load_corpus("default")
    assert subjects("default", "pasword reset")[:1] == ["Password reset link expired"]
    assert subjects("default", "pasword") == ["Password reset link expired"]
    assert subjects("default", "invoise") == ["Invoice missing VAT number"]
    assert subjects("default", "prnter") == ["Printer prints blank pages"]
    # A word that merely resembles another is not a typo of it.
    assert "Printer jammed on floor two" not in subjects("default", "pointer")
    # Exact hits rank above rows found through a typo.
    load = Ticket.objects.create(
        number="TKT-20260101-0200", subject="pasword", customer_email="x@y.z"
    )
    assert subjects("default", "password")[0] == "Password reset link expired"
    assert load.subject in subjects("default", "password")


@BOTH
def test_a_typo_finds_the_word_on_sqlite_through_the_fts5_vocabulary():
    load_corpus("sqlite")
    assert subjects("sqlite", "pasword reset")[:1] == ["Password reset link expired"]
    assert subjects("sqlite", "pasword") == ["Password reset link expired"]
    assert subjects("sqlite", "Coyotte") == ["Password reset link expired"]
    assert subjects("sqlite", "prnter")[0].startswith("Printer")
    # A word that is in the index is taken as typed.
    assert subjects("sqlite", "invoice") == subjects("sqlite", '"invoice"')


@BOTH
@ALIASES
def test_a_tickets_contact_name_and_address_are_found_only_exactly(alias):
    """Encrypted columns: their words are in no document (nor in a trigram index); the desk
    finds the ticket by the whole address or the whole name, through their keyed hashes."""
    ticket = Ticket.objects.using(alias).create(
        number="TKT-20260101-0300",
        subject="Stapler",
        customer_name="Bill Lumbergh",
        customer_email="bill.lumbergh@initech.example",
    )
    for words in ("lumbergh", "Bill Lumbergh", "initech", "Lumbergg"):
        assert subjects(alias, words) == [], words
    tickets = Ticket.objects.using(alias)
    assert list(search_tickets(tickets, "Bill.Lumbergh@Initech.example")) == [ticket]
    assert list(tickets.with_customer(" bill lumbergh ")) == [ticket]
    assert list(tickets.with_customer("bill.lumbergh@initech.example")) == [ticket]
    assert not tickets.with_customer("Bill").exists()


@pytest.mark.django_db
def test_search_uses_the_gin_indexes():
    load_corpus("default")
    queryset = search(Ticket.objects.all(), "pasword reset")
    sql, params = queryset.query.sql_with_params()
    with connections["default"].cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "support_ticket_search " in plan + " " and "support_ticket_search_trgm" in plan, plan


@pytest.mark.django_db(databases=["default", "sqlite"])
def test_the_migrations_leave_the_fts5_table_and_its_triggers_on_sqlite():
    """A later migration that rebuilds `support_ticket` on SQLite (Django copies the table for
    many column changes) would drop its triggers silently: this test would then fail."""
    with connections["sqlite"].cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'support_ticket_fts'")
        [(ddl,)] = cursor.fetchall()
    assert "fts5" in ddl
    assert {
        "support_ticket_search_insert",
        "support_ticket_search_update",
        "support_ticket_search_delete",
        "support_ticket_search_core_organization",
        "support_ticket_search_core_user",
    } <= triggers


def test_the_migration_installed_the_document_support_declares():
    from importlib import import_module

    migration = import_module("support.migrations.0025_privacy_encrypted_contacts")
    assert migration.TICKETS.installed() == TICKETS.installed(), (
        "declare the change in a new migration"
    )


# Through the pages and the API: scoped first, then searched.


def test_a_customer_never_finds_another_customers_ticket(customer, organization):
    other = UserFactory(roles=[Role.CUSTOMER], full_name="Nina Other")
    mine = make_ticket(by=customer, subject="Printer on fire")
    theirs = make_ticket(by=other, subject="Printer on fire too")
    services.add_message(ticket=mine, by=customer, body="my printer")
    client = APIClient()
    client.force_authenticate(customer)
    for q in ("printer", "printer fire", "Nina Other", "prnter", theirs.number, other.email):
        ids = [t["id"] for t in client.get("/api/v1/support/tickets/", {"q": q}).json()["results"]]
        assert theirs.pk not in ids, q
    assert [t.pk for t in search_tickets(tickets_for(customer), "printer")] == [mine.pk]
    assert [t.pk for t in search_tickets(tickets_for(other), "printer")] == [theirs.pk]


def test_the_desk_and_the_api_find_by_customer_name_and_organisation(client, customer, lead):
    customer.organization.name = "Umbrella Corp"
    customer.organization.save()
    ticket = make_ticket(by=customer, subject="Cannot sign in")
    make_ticket(by=lead, subject="Unrelated", customer_email="someone@else.example")
    client.force_login(lead)
    for q in ("umbrella", customer.full_name, "sign umbrella"):
        page = client.get("/desk/", {"view": "all", "q": q}).content.decode()
        assert ticket.number in page and "Unrelated" not in page, q
    api = APIClient()
    api.force_authenticate(lead)
    results = api.get("/api/v1/support/tickets/", {"q": "umbrella sign"}).json()["results"]
    assert [t["id"] for t in results] == [ticket.pk]


def test_ranked_ticket_search_puts_subject_hits_first(customer, lead):
    described = make_ticket(by=customer, subject="Help", description="<p>the router is down</p>")
    titled = make_ticket(by=customer, subject="Router down")
    found = list(search_tickets(tickets_for(lead), "router", ordered=True, snippets=True))
    assert [t.pk for t in found] == [titled.pk, described.pk]
    assert "<mark>router</mark>" in found[1].search_snippet
