"""The knowledge base pages: what customers, visitors and staff see and can do."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import services
from knowledge.models import Article, Category, Feedback, Status, UnansweredSearch
from support.models import Ticket
from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """View counters and dedupe keys of this test only (the cache outlives a test)."""
    import uuid

    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"kb-pages-{uuid.uuid4().hex}"
    settings.CACHES = caches


def article(by, title="Reset your password", *, status=Status.PUBLISHED, **fields):
    fields.setdefault("category", Category.HOW_TO)
    fields.setdefault("content", f"How to {title.lower()}: open **Settings**.")
    made = services.create_article(by=by, title=title, **fields)
    if status != Status.DRAFT:
        made = services.change_status(article=made, by=by, to=Status.PUBLISHED)
        if status == Status.ARCHIVED:
            made = services.change_status(article=made, by=by, to=Status.ARCHIVED)
    return made


@pytest.fixture
def hidden(lead):
    """An internal published article and a draft: for staff eyes only."""
    return [
        article(lead, "Escalation runbook password", is_internal=True, content="Staff password."),
        article(lead, "Unfinished password draft", status=Status.DRAFT, content="Draft password."),
    ]


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- help center: what is shown to whom ----------------------------------------------------


def test_knowledge_home_shows_categories_with_public_counts_pinned_and_popular(
    client, lead, hidden
):
    pinned = article(lead, "Start with your account", is_pinned=True, category=Category.FAQ)
    article(lead, "Print an invoice", category=Category.FAQ)
    page = text_of(client.get("/help/kb/"))
    assert 'name="q"' in page
    assert re.search(r"FAQ</a>\s*<span class=\"muted\">2 articles", page)
    assert re.search(r"How-to</a>\s*<span class=\"muted\">0 articles", page)  # not the hidden
    assert "Start here" in page and pinned.title in page and "Print an invoice" in page
    for secret in hidden:
        assert secret.title not in page


def test_category_page_lists_its_public_articles(client, lead, hidden):
    article(lead, "Install the app", category=Category.PRODUCT_GUIDE)
    article(lead, "Reset your password")
    page = text_of(client.get("/help/kb/category/product_guide/"))
    assert "Install the app" in page and "Reset your password" not in page
    assert client.get("/help/kb/category/nonsense/").status_code == 404
    for secret in hidden:
        assert secret.title not in text_of(client.get("/help/kb/category/how_to/"))


def test_article_page_shows_content_updated_date_and_related(client, lead):
    main = article(lead, "Reset your password", content="# Steps\n\n1. Open **Settings**.")
    other = article(lead, "Change your e-mail")
    secret = article(lead, "Internal: password overrides", is_internal=True)
    services.set_related(article=main, by=lead, related=[other, secret])
    page = text_of(client.get(f"/help/kb/{main.slug}/"))
    assert "<h1>Steps</h1>" in page and "<strong>Settings</strong>" in page
    assert f'datetime="{main.updated_at:%Y-%m-%d}' in page
    assert "Related articles" in page and "Change your e-mail" in page
    assert "password overrides" not in page


def test_internal_articles_and_drafts_are_404_for_customers_and_visitors(client, customer, hidden):
    for secret in hidden:
        assert client.get(f"/help/kb/{secret.slug}/").status_code == 404
        assert (
            client.post(f"/help/kb/{secret.slug}/feedback/", {"helpful": "yes"}).status_code == 404
        )
    client.force_login(customer)
    for secret in hidden:
        assert client.get(f"/help/kb/{secret.slug}/").status_code == 404


def test_staff_can_open_an_internal_article_in_the_help_center(client, agent, hidden):
    client.force_login(agent)
    page = text_of(client.get(f"/help/kb/{hidden[0].slug}/"))
    assert "Internal: staff only" in page


def test_search_shows_snippets_and_never_hidden_articles(client, customer, lead, hidden):
    article(lead, "Reset your password", content="Choose Forgot password on the sign-in page.")
    article(lead, "Billing FAQ", category=Category.FAQ, content="Invoices and payment.")
    for viewer in (None, customer):
        if viewer:
            client.force_login(viewer)
        page = text_of(client.get("/help/kb/search/?q=password"))
        assert "Reset your password" in page and "Billing FAQ" not in page
        assert "<mark>" in page  # the snippet, highlighted
        for secret in hidden:
            assert secret.title not in page
    assert not UnansweredSearch.objects.exists()


def test_search_filters_by_category(client, lead):
    article(lead, "Reset your password", category=Category.HOW_TO)
    article(lead, "Password rules", category=Category.FAQ, content="Passwords: 12 letters.")
    page = text_of(client.get("/help/kb/search/?q=password&category=faq"))
    assert "Password rules" in page and "Reset your password" not in page


def test_a_search_without_results_shows_an_empty_state_and_is_recorded_once(client, lead):
    article(lead, "Reset your password")
    page = text_of(client.get("/help/kb/search/?q=Quantum+Teleporter"))
    assert "Nothing found for" in page
    assert list(UnansweredSearch.objects.values_list("query", "count")) == [
        ("quantum teleporter", 1)
    ]
    client.get("/help/kb/search/?q=quantum   teleporter")
    assert UnansweredSearch.objects.get().count == 2
    text_of(client.get("/help/kb/search/?q="))  # no query: no search, nothing recorded
    text_of(client.get("/help/kb/search/?q=password"))  # found: nothing recorded
    assert UnansweredSearch.objects.count() == 1


def test_a_hidden_article_is_not_an_answer_to_a_visitor(client, hidden):
    page = text_of(client.get("/help/kb/search/?q=runbook"))
    assert "Nothing found" in page and "runbook</a>" not in page
    assert UnansweredSearch.objects.filter(query="runbook").exists()


# --- feedback ------------------------------------------------------------------------------


def test_visitor_votes_and_rates_changes_their_mind_and_counts_once(client, lead):
    main = article(lead)
    url = f"/help/kb/{main.slug}/feedback/"
    response = client.post(url, {"helpful": "no"})
    assert response.status_code == 302 and response.url.endswith("#feedback")
    assert client.cookies.get("sessionid")  # a session was started for the visitor
    client.post(url, {"helpful": "yes"})
    client.post(url, {"rating": "2", "comment": "Too short"})
    client.post(url, {"rating": "4", "comment": "Better now"})
    client.post(url, {"helpful": "yes"})  # voting again keeps the comment
    feedback = Feedback.objects.get(article=main)
    assert (feedback.helpful, feedback.rating, feedback.comment) == (True, 4, "Better now")
    main.refresh_from_db()
    assert (main.helpful_count, main.not_helpful_count, main.rating_count) == (1, 0, 1)
    page = text_of(client.get(f"/help/kb/{main.slug}/"))
    assert "100% of 1 reader found this helpful" in page and "You said yes" in page
    assert "Rated 4.0 / 5 by 1 reader" in page and "Your rating: 4" in page
    assert re.search(r'value="4"[^>]*checked', page) and "Better now" in page
    assert 'aria-pressed="true" class="chosen">Yes' in page


def test_signed_in_customer_feedback_is_theirs_and_htmx_swaps_the_box(client, customer, lead):
    main = article(lead)
    client.force_login(customer)
    url = f"/help/kb/{main.slug}/feedback/"
    response = client.post(url, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    box = text_of(response)
    assert box.lstrip().startswith('<section class="card kb-feedback" id="feedback">')
    assert "Thanks for your feedback" in box and "100% of 1 reader" in box
    client.post(url, {"rating": "5"}, HTTP_HX_REQUEST="true")
    assert Feedback.objects.get(article=main, user=customer).rating == 5
    client.logout()  # another visitor: their own answer, counted separately
    client.post(url, {"helpful": "no"})
    main.refresh_from_db()
    assert (main.helpful_count, main.not_helpful_count) == (1, 1)
    assert "50% of 2 readers" in text_of(client.get(f"/help/kb/{main.slug}/"))


def test_a_rating_out_of_range_is_refused(client, lead):
    main = article(lead)
    box = text_of(
        client.post(f"/help/kb/{main.slug}/feedback/", {"rating": "9"}, HTTP_HX_REQUEST="true")
    )
    assert "Select a valid choice" in box
    assert not Feedback.objects.exists()


# --- suggestions on the new-ticket page ----------------------------------------------------


def test_suggestions_match_any_word_of_the_subject_and_only_public_articles(
    client, customer, lead, hidden
):
    article(lead, "Reset your password")
    article(lead, "Billing FAQ", category=Category.FAQ)
    client.force_login(customer)
    page = client.get("/help/tickets/new/").content.decode()
    assert 'hx-get="/help/kb/suggest/"' in page and "from:#id_subject" in page
    box = text_of(client.get("/help/kb/suggest/?subject=I+cannot+reset+my+password"))
    assert "Reset your password" in box and "Billing FAQ" not in box
    for secret in hidden:
        assert secret.title not in box
    assert "Reset your password" in text_of(client.get("/help/kb/suggest/?q=password please"))
    assert text_of(client.get("/help/kb/suggest/?q=the")).strip() == ""


def test_opening_a_suggestion_is_recorded_and_a_request_after_it_noted(client, customer, lead):
    from knowledge.models import SuggestionOpened

    main = article(lead)
    client.force_login(customer)
    box = text_of(client.get("/help/kb/suggest/?q=password"))
    link = f"/help/kb/{main.slug}/?from=suggestion"
    assert f'href="{link}"' in box
    text_of(client.get(f"/help/kb/{main.slug}/"))  # not from a suggestion: not recorded
    assert not SuggestionOpened.objects.exists()
    text_of(client.get(link, HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0"))
    opened = SuggestionOpened.objects.get()
    assert opened.article == main and opened.ticket_followed_at is None
    client.post("/help/tickets/new/", {"subject": "Still locked out", "description": "Help"})
    opened.refresh_from_db()
    assert opened.ticket_followed_at is not None  # not deflected


def test_staff_get_only_public_suggestions_too(client, agent, hidden):
    client.force_login(agent)
    assert text_of(client.get("/help/kb/suggest/?q=password")).strip() == ""


# --- the desk ------------------------------------------------------------------------------


def test_the_desk_pages_are_for_staff_only(client, customer, lead):
    main = article(lead)
    urls = ["/desk/kb/", "/desk/kb/new/", "/desk/kb/unanswered/", f"/desk/kb/{main.number}/"]
    assert client.get(urls[0]).status_code == 302  # to sign in
    client.force_login(customer)
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post("/desk/kb/preview/", {"content": "x"}).status_code == 403
    assert client.post(f"/desk/kb/{main.number}/status/", {"to": "archived"}).status_code == 403
    main.refresh_from_db()
    assert main.status == Status.PUBLISHED


def test_the_desk_finds_an_article_by_its_number_typed_in_lower_case(client, lead):
    main = article(lead)
    client.force_login(lead)
    response = client.get(f"/desk/kb/{main.number.lower()}/")
    assert response.status_code == 200
    assert main.title in response.content.decode()
    assert client.get("/desk/kb/kb-99999/").status_code == 404


def test_desk_list_filters_by_status_and_category_and_searches_every_status(
    client, agent, lead, hidden
):
    article(lead, "Billing FAQ", category=Category.FAQ)
    client.force_login(agent)
    everything = text_of(client.get("/desk/kb/"))
    assert all(a.title in everything for a in hidden) and "Billing FAQ" in everything
    drafts = text_of(client.get("/desk/kb/?status=draft"))
    assert "Unfinished password draft" in drafts and "Billing FAQ" not in drafts
    faq = text_of(client.get("/desk/kb/?category=faq"))
    assert "Billing FAQ" in faq and "Escalation runbook" not in faq
    found = text_of(client.get("/desk/kb/?q=password"))
    assert "Unfinished password draft" in found and "Escalation runbook" in found
    assert "Billing FAQ" not in found and "<mark>" in found


def test_agent_writes_a_draft_edits_it_and_sends_it_for_review(client, agent):
    client.force_login(agent)
    form = text_of(client.get("/desk/kb/new/"))
    assert 'name="is_pinned"' not in form and 'name="search_boost"' not in form  # leads only
    assert 'hx-post="/desk/kb/preview/"' in form
    response = client.post(
        "/desk/kb/new/",
        {
            "title": "Export your data",
            "category": "how_to",
            "tags": "export, Data ,",
            "content": "Open **Export**.",
            "is_internal": "",
        },
    )
    made = Article.objects.get(title="Export your data")
    assert response.url == f"/desk/kb/{made.number}/"
    assert made.status == Status.DRAFT and made.tag_names == "data export"
    page = text_of(client.get(response.url))
    assert "Move to in review" in page and "Move to published" not in page
    assert 'value="data, export"' in page
    client.post(
        response.url,
        {"title": "Export your data", "category": "how_to", "tags": "export",
         "content": "Open **Export** then *Download*.", "note": "More detail"},
    )  # fmt: skip
    made.refresh_from_db()
    assert "<em>Download</em>" in made.content_html and made.tag_names == "export"
    assert [r.note for r in made.revisions.all()] == ["More detail", "Created"]
    client.post(f"/desk/kb/{made.number}/status/", {"to": "in_review"})
    made.refresh_from_db()
    assert made.status == Status.IN_REVIEW
    client.post(f"/desk/kb/{made.number}/status/", {"to": "published"})  # refused: a lead's
    made.refresh_from_db()
    assert made.status == Status.IN_REVIEW


def test_lead_pins_boosts_and_publishes(client, lead):
    client.force_login(lead)
    client.post(
        "/desk/kb/new/",
        {"title": "Known outage", "category": "known_issue", "content": "We know.",
         "is_pinned": "on", "search_boost": "2"},
    )  # fmt: skip
    made = Article.objects.get(title="Known outage")
    assert made.is_pinned and made.search_boost == 2
    page = text_of(client.get(f"/desk/kb/{made.number}/"))
    assert "Move to published" in page and "Move to in review" in page
    client.post(f"/desk/kb/{made.number}/status/", {"to": "published"})
    made.refresh_from_db()
    assert made.status == Status.PUBLISHED
    assert "Known outage" in text_of(client.get("/help/kb/"))


def test_a_taken_slug_is_a_form_error_not_a_crash(client, agent, lead):
    article(lead, "Reset your password")
    client.force_login(agent)
    page = text_of(
        client.post(
            "/desk/kb/new/",
            {"title": "Another", "slug": "reset-your-password", "category": "faq", "content": ""},
        )
    )
    assert "already exists" in page
    assert not Article.objects.filter(title="Another").exists()


def test_preview_renders_markdown_and_script_is_inert(client, agent):
    client.force_login(agent)
    html = text_of(
        client.post(
            "/desk/kb/preview/",
            {"content": "**Bold**\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"},
        )
    )
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, not run
    assert client.get("/desk/kb/preview/").status_code == 405


def test_revision_diff_is_escaped_and_restore_brings_the_text_back(client, agent):
    client.force_login(agent)
    made = article(agent, "Reset", status=Status.DRAFT, content="Line one\n<b>old</b> line")
    services.update_article(article=made, by=agent, content="Line one\nnew line")
    page = text_of(client.get(f"/desk/kb/{made.number}/"))
    assert "Revision 2" in page and "Revision 1" in page
    diff = text_of(client.get(f"/desk/kb/{made.number}/revisions/1/"))
    assert '<span class="del">-&lt;b&gt;old&lt;/b&gt; line</span>' in diff
    assert '<span class="add">+new line</span>' in diff
    assert client.get(f"/desk/kb/{made.number}/revisions/99/").status_code == 404
    client.post(f"/desk/kb/{made.number}/revisions/1/restore/")
    made.refresh_from_db()
    assert made.content == "Line one\n<b>old</b> line"
    assert [r.number for r in made.revisions.all()] == [3, 2, 1]
    assert "This revision's text is the current text" in text_of(
        client.get(f"/desk/kb/{made.number}/revisions/3/")
    )


def test_unanswered_searches_page_lists_the_most_frequent_first(client, agent):
    for query, times in (("printer", 1), ("vpn setup", 3)):
        for _ in range(times):
            services.record_unanswered(query)
    client.force_login(agent)
    page = text_of(client.get("/desk/kb/unanswered/"))
    assert page.index("vpn setup") < page.index("printer")
    assert "/desk/kb/new/?title=vpn%20setup" in page
    assert 'value="vpn setup"' in text_of(client.get("/desk/kb/new/?title=vpn%20setup"))


def test_nav_has_knowledge_in_both_areas(client, agent, customer):
    assert 'href="/help/kb/">Knowledge' in text_of(client.get("/help/"))
    client.force_login(agent)
    assert 'href="/desk/kb/">Knowledge' in text_of(client.get("/desk/"))


# --- the desk ticket page's panel ----------------------------------------------------------


def test_ticket_page_suggests_articles_from_the_subject(client, agent, customer, lead, hidden):
    public = article(lead, "Reset your password")
    article(lead, "Billing FAQ", category=Category.FAQ)
    ticket = make_ticket(by=customer, subject="Cannot reset my password!")
    client.force_login(agent)
    page = text_of(client.get(f"/desk/tickets/{ticket.number}/"))
    panel = page[page.index("Suggested articles") :]
    panel = panel[: panel.index("</section>")]
    assert "Reset your password" in panel and "Billing FAQ" not in panel
    assert f'data-kb-copy="http://testserver/help/kb/{public.slug}/"' in panel
    assert "Unfinished password draft" not in panel  # drafts are not answers
    assert "Escalation runbook password" in panel  # internal: shown to staff, not to send
    assert 'src="/static/knowledge/kb.js"' in panel


def test_customer_ticket_page_has_no_knowledge_panel(client, customer, lead):
    article(lead, "Reset your password")
    ticket = make_ticket(by=customer, subject="Reset password")
    client.force_login(customer)
    assert "Suggested articles" not in text_of(client.get(f"/help/tickets/{ticket.number}/"))


# --- query counts: constant in the number of articles --------------------------------------


@pytest.mark.parametrize(
    "url, staff",
    [
        ("/help/kb/", False),
        ("/help/kb/category/how_to/", False),
        ("/help/kb/search/?q=password", False),
        ("/help/kb/suggest/?q=password", False),
        ("/desk/kb/", True),
        ("/desk/kb/?q=password", True),
    ],
)
def test_list_pages_cost_the_same_for_1_and_20_articles(client, agent, lead, url, staff):
    if staff:
        client.force_login(agent)

    def add(n):
        made = article(lead, f"Password help {n}", tags=["account", f"t{n}"])
        Article.objects.filter(pk=made.pk).update(view_count=n)

    add(0)
    one = queries_for(client, url)
    for n in range(1, 20):
        add(n)
    assert queries_for(client, url) == one


def test_desk_ticket_page_costs_the_same_with_1_and_5_suggestions(client, agent, customer, lead):
    ticket = make_ticket(by=customer, subject="password trouble")
    article(lead, "Password help 0")
    client.force_login(agent)
    one = queries_for(client, f"/desk/tickets/{ticket.number}/")
    for n in range(1, 6):
        article(lead, f"Password help {n}")
    assert queries_for(client, f"/desk/tickets/{ticket.number}/") == one
    assert Ticket.objects.count() == 1
