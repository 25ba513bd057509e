"""Article search on both databases: one fixed corpus, the same queries, the same top results.

PostgreSQL is the suite's database; SQLite (the embedded mode's FTS5) is the `sqlite` alias of
the test settings, migrated like any database, so its triggers are the migrations'.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from core.search import search
from knowledge import markdown
from knowledge.models import Article, Status
from knowledge.search import ARTICLES
from knowledge.selectors import find_articles
from tests.factories import UserFactory

BOTH = pytest.mark.django_db(databases=["default", "sqlite"])
ALIASES = pytest.mark.parametrize("alias", ["default", "sqlite"])

# (title, summary, content, tags, keywords, flags)
CORPUS = [
    ("Reset your password", "Get a new password link by e-mail.",
     "Choose **Forgot password** on the sign-in page and open the link we send.",
     "account password", "forgot login", {}),
    ("The password reset link has expired", "Links work once and for a day.",
     "A reset link stops working after 24 hours. Request a new link.",
     "account", "", {}),
    ("Export your data to CSV", "Download a spreadsheet.",
     "Open the list, filter it and choose Export. Large exports arrive by e-mail.",
     "export", "spreadsheet excel", {}),
    ("CSV export never finishes", "Very large exports can stall.",
     "Some exports stay at preparing. Workaround: one month at a time.",
     "export", "stuck", {"is_pinned": True}),
    ("Understanding your invoice", "What each line means.",
     "The plan, extra seats and usage. Our number is printed under the total.",
     "billing", "vat tax receipt", {}),
    ("Webhooks time out", "Answer within ten seconds.",
     "We wait ten seconds for your endpoint. Failed deliveries are retried.",
     "api", "", {}),
    ("Set up single sign-on", "Sign in with your identity provider.",
     "Upload the metadata of your provider and map the e-mail attribute.",
     "sso", "saml okta", {}),
    ("Printer prints blank pages", "Reinstall the driver.",
     "After the update some printers print empty pages.",
     "hardware", "", {}),
    ("Runbook: replay failed webhooks", "For staff.",
     "Requeue the delivery in the outbox once the endpoint is back.",
     "api", "", {"is_internal": True}),
    ("Dark mode", "A darker theme.", "Not shipped yet: webhooks for themes.", "ui", "",
     {"status": Status.DRAFT}),
    ("Billing contacts", "Who gets the invoice e-mail.",
     "Add billing contacts so the invoice reaches your accountant.",
     "billing", "", {"search_boost": 2}),
]  # fmt: skip


def load_corpus(alias):
    for n, (title, summary, content, tags, keywords, flags) in enumerate(CORPUS, 1):
        html, text = markdown.rendered(content)
        Article.objects.using(alias).create(
            number=f"KB-{n:05d}",
            slug=f"article-{n}",
            title=title,
            summary=summary,
            content=content,
            content_html=html,
            content_text=text,
            category="how_to",
            tag_names=tags,
            keywords=keywords,
            status=flags.get("status", Status.PUBLISHED),
            is_internal=flags.get("is_internal", False),
            is_pinned=flags.get("is_pinned", False),
            search_boost=flags.get("search_boost", 0),
        )


def titles(user, query, alias):
    return [a.title for a in find_articles(user, query, using=alias)]


@pytest.fixture
def visitor():
    return AnonymousUser()


@pytest.fixture
def staff(db):
    from core.roles import Role

    return UserFactory(roles=[Role.AGENT])


# query -> the titles expected first, in order (what comes after is not pinned down)
EXPECTED = {
    "password": ["Reset your password", "The password reset link has expired"],
    "forgot": ["Reset your password"],  # a keyword
    "vat": ["Understanding your invoice"],  # a keyword
    "saml": ["Set up single sign-on"],
    "sso": ["Set up single sign-on"],  # a tag
    '"link stops working"': ["The password reset link has expired"],
    "csv": ["CSV export never finishes", "Export your data to CSV"],  # pinned first
    "invoice": ["Billing contacts", "Understanding your invoice"],  # boost beats a title
}


@BOTH
@ALIASES
@pytest.mark.parametrize("query", list(EXPECTED))
def test_the_expected_articles_come_first(alias, query, visitor):
    load_corpus(alias)
    found = titles(visitor, query, alias)
    assert found[: len(EXPECTED[query])] == EXPECTED[query], found


@BOTH
@ALIASES
def test_exclusions_and_or(alias, visitor):
    load_corpus(alias)
    assert titles(visitor, "export -never", alias) == ["Export your data to CSV"]
    assert set(titles(visitor, "printer or saml", alias)) == {
        "Printer prints blank pages",
        "Set up single sign-on",
    }


@BOTH
@ALIASES
def test_internal_articles_and_drafts_are_found_by_staff_only(alias, visitor, staff):
    load_corpus(alias)
    assert titles(visitor, "webhooks", alias) == ["Webhooks time out"]
    assert set(titles(staff, "webhooks", alias)) == {
        "Webhooks time out",
        "Runbook: replay failed webhooks",
        "Dark mode",
    }


@BOTH
@ALIASES
def test_snippets_mark_the_words_and_come_from_visible_text(alias, visitor):
    load_corpus(alias)
    article = find_articles(visitor, "endpoint", using=alias).first()
    assert article.title == "Webhooks time out"
    assert "<mark>endpoint</mark>" in article.search_snippet


@BOTH
@ALIASES
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("pasword", {"Reset your password", "The password reset link has expired"}),
        ("webhoks", {"Webhooks time out"}),
        ("printr blank", {"Printer prints blank pages"}),
    ],
)
def test_a_typo_still_finds_the_article(alias, visitor, typed, expected):
    load_corpus(alias)
    found = titles(visitor, typed, alias)
    assert found and found[0] in expected, found


@BOTH
def test_the_migration_installed_the_declared_document():
    from importlib import import_module

    frozen = import_module("knowledge.migrations.0002_article_search").ARTICLES
    assert frozen.installed() == ARTICLES.installed()
    with connections["sqlite"].cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'knowledge_article_fts'")
        assert cursor.fetchone()
    assert search(Article.objects.using("sqlite"), "anything").count() == 0


@pytest.fixture
def three_candidates():
    """ARTICLES as declared, but ranking only 3 candidates (100 needs a larger corpus)."""
    from dataclasses import replace

    from core.search import register

    register(replace(ARTICLES, candidates=3))
    yield
    register(ARTICLES)


@BOTH
@ALIASES
def test_a_broad_search_ranks_the_most_prominent_matches_by_relevance(
    alias, visitor, three_candidates
):
    # Five articles mention "modem"; the one that says it in its title is the least read.
    rows = [("Modem lights explained", 0, False), ("Router basics", 50, False),
            ("Wi-Fi troubleshooting", 40, False), ("Network checklist", 30, False),
            ("Office moves", 5, True)]  # fmt: skip
    for n, (title, views, pinned) in enumerate(rows, 1):
        html, text = markdown.rendered(f"Restart the modem first. Step {n}.")
        Article.objects.using(alias).create(
            number=f"KB-{n:05d}", slug=f"modem-{n}", title=title, summary="", content="",
            content_html=html, content_text=text, category="how_to", tag_names="",
            keywords="", status=Status.PUBLISHED, view_count=views, is_pinned=pinned,
        )  # fmt: skip
    # Candidates in prior order: the pinned one, then the two most read; ranked among them
    # (pinned first, then relevance: equal texts, so the newer first).
    found = titles(visitor, "modem", alias)
    assert sorted(found) == ["Office moves", "Router basics", "Wi-Fi troubleshooting"]
    assert found[0] == "Office moves"
    # A query that narrows to fewer matches than candidates is ranked in full: title first.
    assert titles(visitor, "lights modem", alias) == ["Modem lights explained"]
    # An unordered search (the desk's own order) is not bounded.
    assert search(Article.objects.using(alias), "modem", ordered=False).count() == 5


@BOTH
@ALIASES
@pytest.mark.parametrize("query", ["zzyzx", "the", "-password"])
def test_a_search_that_can_match_nothing_is_an_empty_result_not_an_error(alias, visitor, query):
    load_corpus(alias)
    # The fuzzer's find: a query matching nothing exactly, with no typo branch to try.
    assert titles(visitor, query, alias) == []
    assert list(find_articles(visitor, query, using=alias, category="how_to", tag="x")) == []


@pytest.mark.django_db
def test_a_typo_walk_asks_the_cheap_prefilter_before_pg_trgm(visitor):
    # The migration prices pg_trgm's functions: the planner orders an AND's tests by cost, and
    # at the default price the 5 µs trigram test ran before the LIKE meant to spare it.
    load_corpus("default")
    found = find_articles(visitor, "pasword")
    assert list(found)  # the typo branch: nothing matches exactly
    sql, params = found.query.sql_with_params()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT procost FROM pg_proc WHERE proname = 'word_similarity_op'")
        assert cursor.fetchone()[0] >= 50
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    walk = next(line for line in plan.splitlines() if "%>" in line)
    assert walk.index("~~ ANY") < walk.index("%>"), plan


@BOTH
@ALIASES
def test_a_result_list_reads_no_article_body(alias, visitor):
    # Lists show the title, summary and snippet; the bodies (~5 kB a row) stay unread.
    load_corpus(alias)
    article = find_articles(visitor, "password", using=alias).first()
    assert article.search_snippet
    assert {"content", "content_html", "search_document"} <= article.get_deferred_fields()


@pytest.mark.django_db(databases=["default", "sqlite"])
@pytest.mark.parametrize("query", ["password", "export", "webhooks or invoice", "e-mail"])
def test_sqlite_finds_the_same_candidates_walking_or_by_key(visitor, three_candidates, query,
                                                            monkeypatch):  # fmt: skip
    # A common word walks the prior order (more matches than the probe reads); a rarer one
    # reads its matches by key. Both must give the same first candidates, ranked alike.
    from core.search import sqlite

    load_corpus("sqlite")
    by_key = titles(visitor, query, "sqlite")
    monkeypatch.setattr(sqlite, "PROBE", 1)
    walked = titles(visitor, query, "sqlite")
    assert walked == by_key and by_key
