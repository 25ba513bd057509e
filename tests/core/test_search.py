"""core.search without a domain: reading queries, FTS5 syntax, snippets, and a document (shaped
like the knowledge base's: title, summary, body, boost) installed from the same DDL the
migration operation runs, on a plain SQLite connection."""

import sqlite3

import pytest

from core.search import Document, Field, highlight
from core.search import sqlite as fts5
from core.search.query import parse, to_fts5
from core.search.snippets import START, STOP


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("password reset", '"password" AND "reset"*'),
        ("reset password", '"reset" AND "password"*'),
        ('"blank pages" printer', '"blank pages" AND "printer"*'),
        ("printer -jammed", '("printer") NOT ("jammed")'),
        ("router or vat", '("router" OR "vat")'),
        ("the printer", '"printer"*'),  # stop words are ignored, as PostgreSQL ignores them
        ('odd "quote : * ( AND', '"odd" AND "quote : * ( AND"'),  # quoted: never an FTS5 error
        ("ab", '"ab"'),  # too short for a prefix
    ],
)
def test_web_search_syntax_becomes_fts5_syntax(typed, expected):
    assert to_fts5(parse(typed)) == expected


def test_nothing_to_match():
    assert parse("").empty and parse("-printer").empty
    assert to_fts5(parse("the and of")) is None


def test_the_last_bare_word_is_a_prefix_for_postgresql_too():
    query = parse("password res")
    assert (query.head, query.prefix) == ("password ", "res")
    assert parse('password "reset"').prefix == "" and parse("reset -password").prefix == ""


def test_snippets_are_escaped_and_marked():
    assert highlight(f"a {START}<b>{STOP} & c") == "a <mark>&lt;b&gt;</mark> &amp; c"
    assert highlight(None) == ""


def test_a_weight_must_be_one_of_a_to_d():
    with pytest.raises(ValueError):
        Field("title", "{row}.title", "E")


ARTICLES = Document(
    table="article",
    fields=(
        Field("title", "{row}.title", "A"),
        Field("summary", "{row}.summary", "B"),
        Field("body", "{row}.body", "C"),
    ),
    columns=("title", "summary", "body"),
    snippet="body",
    boost="boost",
)


@pytest.fixture
def articles():
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE article (id INTEGER PRIMARY KEY, title TEXT, summary TEXT, body TEXT, "
        "boost REAL NOT NULL DEFAULT 0, search_document TEXT)"
    )
    connection.execute("INSERT INTO article (title, summary, body) VALUES ('Old', 'old', 'old')")
    for statement in fts5.install_sql(ARTICLES) + fts5.backfill_sql(ARTICLES):
        connection.execute(statement)
    rows = [
        ("Reset your password", "Sign-in help", "Open the settings."),
        ("Sign-in help", "How to reset a password", "Open the settings."),
        ("Settings", "Where things are", "The password lives under security."),
    ]
    connection.executemany("INSERT INTO article (title, summary, body) VALUES (?, ?, ?)", rows)
    yield connection
    connection.close()


def ranked(connection, query):
    match = to_fts5(parse(query))
    return [
        row[0]
        for row in connection.execute(
            "SELECT article.title FROM article JOIN article_fts ON article_fts.rowid = article.id "
            "WHERE article_fts MATCH ? ORDER BY bm25(article_fts, 10, 4, 2) * (1 + article.boost)",
            [match],
        )
    ]


def test_title_outranks_summary_outranks_body_and_triggers_keep_up(articles):
    assert ranked(articles, "password") == ["Reset your password", "Sign-in help", "Settings"]
    assert ranked(articles, "old") == ["Old"]  # rows before the install were backfilled
    articles.execute("UPDATE article SET title = 'Passwords' WHERE title = 'Settings'")
    assert ranked(articles, "password")[0] == "Passwords"
    articles.execute("DELETE FROM article WHERE title = 'Passwords'")
    assert "Passwords" not in ranked(articles, "password")
    # Installing again (a migration re-run) replaces, never doubles.
    for statement in fts5.install_sql(ARTICLES) + fts5.backfill_sql(ARTICLES):
        articles.execute(statement)
    assert ranked(articles, "password") == ["Reset your password", "Sign-in help"]
    for statement in fts5.uninstall_sql(ARTICLES):
        articles.execute(statement)
    tables = {r[0] for r in articles.execute("SELECT name FROM sqlite_master")}
    assert "article_fts" not in tables
