"""Snippets built in Python for PostgreSQL: the query's words marked as the stemmer matched
them, two passages at most, cut between words, and escaped."""

from core.search.snippets import PACK, PassageSnippetField, build, pack_terms, stem

LONG = (
    "Open the admin console and choose Security. " * 6
    + "To reset your password, open Settings, then Passwords, and follow the link we send. "
    + "Nothing else changes for the team. " * 8
    + "Resetting the password of another user needs an administrator. "
    + "The end."
)


def marked(snippet: str) -> list[str]:
    return [part.split("\ue001")[0] for part in snippet.split("\ue000")[1:]]


def test_stems_follow_what_the_database_matched():
    assert stem("passwords") == stem("password") == "password"
    assert stem("resetting") == stem("resets") == stem("reset") == "reset"
    assert stem("settings") == "setting" and stem("bus") == "bus"


def test_the_words_are_marked_in_up_to_two_passages_between_words():
    snippet = build(LONG, pack_terms(["password", "reset"], []))
    assert marked(snippet) == ["reset", "password", "Passwords", "Resetting", "password"]
    for passage in snippet.split(" … "):
        plain = passage.replace("\ue000", "").replace("\ue001", "")
        at = LONG.index(plain)
        # Cut between words: a space (or the text's edge) on each side.
        assert at == 0 or LONG[at - 1] == " "
        assert at + len(plain) == len(LONG) or LONG[at + len(plain)] == " "
    assert len(snippet) < 2 * 260


def test_a_prefix_marks_the_words_it_starts():
    assert marked(build("Notifications and notify rules", pack_terms([], ["notif"]))) == [
        "Notifications",
        "notify",
    ]


def test_without_a_match_the_text_leads_without_marks():
    snippet = build("word " * 100, pack_terms(["absent"], []))
    assert "\ue000" not in snippet and snippet.startswith("word") and len(snippet) <= 200


def test_the_field_escapes_the_text_and_marks_only_the_words():
    value = pack_terms(["script"], []) + PACK + 'a <script>alert("x")</script> b'
    html = PassageSnippetField().from_db_value(value, None, None)
    assert "<script>" not in html
    assert "&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)" in html
    assert PassageSnippetField().from_db_value(None, None, None) == ""
