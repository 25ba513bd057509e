"""The knowledge base in a real browser (Debian's Chromium, driven by Playwright).

A visitor searches, opens an article and rates it; a customer writing a new request sees an
article on its subject while typing; an author previews Markdown live; all under the site's
Content-Security-Policy.
"""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from knowledge import services
from knowledge.models import (
    Article,
    Category,
    Feedback,
    Status,
    SuggestionOpened,
    UnansweredSearch,
)
from tests.factories import UserFactory
from tests.support.factories import make_ticket

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]  # the fixture, shared with the other browser tests

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"kb-{name}.png"), full_page=True)


def published(by, title, **fields):
    fields.setdefault("category", Category.HOW_TO)
    article = services.create_article(by=by, title=title, **fields)
    return services.change_status(article=article, by=by, to=Status.PUBLISHED)


@pytest.fixture
def articles():
    lead = UserFactory(roles=["support_lead"], email="kb-lead@example.com", full_name="Lee Lead")
    reset = published(
        lead,
        "Reset your password",
        summary="Forgot it? Set a new one in two minutes.",
        content="## Steps\n\n1. Choose **Forgot password** on the sign-in page.\n"
        "2. Open the e-mail we send you and follow the link.\n\n"
        "> The link works for one hour.",
        tags=["account", "password"],
    )
    rules = published(
        lead, "Password rules", category=Category.FAQ, content="At least 12 characters."
    )
    services.set_related(article=reset, by=lead, related=[rules])
    published(lead, "Invoices and payment", category=Category.FAQ, content="Pay by card.")
    published(lead, "Internal password overrides", is_internal=True, content="Staff password.")
    return lead, reset


def test_a_visitor_searches_opens_an_article_and_rates_it(browser, live_server, articles):
    _, reset = articles
    page = browser.new_context().new_page()
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/help/kb/")
    shot(page, "home")
    page.fill("#kb-q", "password")
    page.click(".kb-search button[type=submit]")
    page.wait_for_load_state()
    results = page.locator(".kb-results li")
    assert results.count() == 2
    assert "Internal password overrides" not in page.content()
    assert page.locator(".kb-results mark").count() >= 1
    shot(page, "search")

    page.click("text=Reset your password")
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text() == "Reset your password"
    assert page.locator(".kb-content strong").inner_text() == "Forgot password"
    assert "Password rules" in page.locator("aside").inner_text()  # related

    page.click(".kb-vote button:has-text('Yes')")  # htmx swaps the feedback box
    page.wait_for_selector(".kb-feedback .message.success")
    assert "100% of 1 reader found this helpful" in page.locator("#feedback").inner_text()
    page.check(".kb-stars input[value='4']")
    page.fill("#id_comment", "Clear steps")
    page.click(".kb-rate button[type=submit]")
    page.wait_for_selector("text=Rated 4.0 / 5 by 1 reader")
    page.check(".kb-stars input[value='5']")  # a change of mind: still one rating
    page.click(".kb-rate button[type=submit]")
    page.wait_for_selector("text=Rated 5.0 / 5 by 1 reader")
    shot(page, "article-rated")

    page.reload()  # the answer is remembered for this visitor's session
    assert page.locator(".kb-stars input[value='5']").is_checked()
    assert "You said yes" in page.locator("#feedback").inner_text()
    feedback = Feedback.objects.get(article=reset)
    assert (feedback.helpful, feedback.rating, feedback.comment) == (True, 5, "Clear steps")

    page.click(".muted a:has-text('Knowledge base')")  # the breadcrumb
    page.fill("#kb-q", "teleporter")
    page.click(".kb-search button[type=submit]")
    page.wait_for_load_state()
    assert "Nothing found for" in page.content()
    shot(page, "search-empty")
    assert reports == [], reports


def test_a_customer_typing_a_subject_sees_a_suggested_article(browser, live_server, articles):
    UserFactory(roles=["customer"], email="kb-cust@example.com")
    page = sign_in(browser, live_server, "kb-cust@example.com")
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/help/tickets/new/")
    page.locator("#id_subject").press_sequentially("I forgot my password", delay=30)
    page.wait_for_selector("#kb-suggestions .kb-suggestions")
    box = page.locator("#kb-suggestions").inner_text()
    assert "Reset your password" in box and "Internal password overrides" not in box
    shot(page, "new-ticket-suggestions")
    assert reports == [], reports


def test_an_author_previews_markdown_live_and_an_agent_copies_a_suggestion(
    browser, live_server, articles
):
    lead, reset = articles
    customer = UserFactory(roles=["customer"], email="kb-cust2@example.com")
    ticket = make_ticket(by=customer, subject="Password reset link expired")
    page = sign_in(browser, live_server, lead.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)

    page.goto(f"{live_server.url}/desk/kb/new/")
    page.fill("#id_title", "Two-factor sign-in")
    page.fill("#id_content", "")
    page.locator("#id_content").press_sequentially("**Bold** <script>window.ran=1</script>")
    page.wait_for_selector("#kb-preview strong")
    assert page.locator("#kb-preview strong").inner_text() == "Bold"
    assert "<script>window.ran=1</script>" in page.locator("#kb-preview").inner_text()
    assert page.evaluate("() => window.ran") is None
    shot(page, "desk-editor")
    page.click("button:has-text('Save as draft')")
    page.wait_for_load_state()
    made = Article.objects.get(title="Two-factor sign-in")
    assert made.status == Status.DRAFT
    page.click("button:has-text('Move to published')")
    page.wait_for_load_state()
    assert Article.objects.get(pk=made.pk).status == Status.PUBLISHED
    shot(page, "desk-article")

    page.goto(f"{live_server.url}/desk/kb/")
    shot(page, "desk-list")

    page.goto(f"{live_server.url}/desk/tickets/{ticket.number}/")
    panel = page.locator(".kb-panel")
    assert "Reset your password" in panel.inner_text()
    assert "Internal password overrides" in panel.inner_text()  # staff see it, not to send
    page.locator(".kb-panel [data-kb-insert]").first.click()
    assert f"/help/kb/{reset.slug}/" in page.input_value("#id_body")
    page.locator(".kb-panel [data-kb-copy]").first.click()
    page.wait_for_selector(".kb-panel button:has-text('Copied')")
    shot(page, "desk-ticket-panel")
    assert reports == [], reports


def test_an_author_picks_a_related_article_and_a_sent_one_shows_on_its_page(
    browser, live_server, articles
):
    lead, reset = articles
    invoices = Article.objects.get(title="Invoices and payment")
    page = sign_in(browser, live_server, lead.email)
    reports: list[str] = []
    watch_for_csp_violations(page, reports)

    page.goto(f"{live_server.url}/desk/kb/{reset.number}/")
    current = page.locator("#kb-related-current")
    assert "Password rules" in current.inner_text()
    assert current.locator("input[type=checkbox]").is_checked()
    page.locator("#kb-related-q").press_sequentially("invoi", delay=30)  # htmx, as one types
    option = page.locator(f"#kb-related-options input[value='{invoices.number}']")
    option.wait_for()
    assert "Reset your password" not in page.locator("#kb-related-options").inner_text()
    page.get_by_label(f"{invoices.number} Invoices and payment").check()
    page.locator("#kb-related-q").fill("")
    page.locator("#kb-related-q").press_sequentially("passw", delay=30)  # search on: kept
    page.wait_for_selector("#kb-related-options :text('Internal password overrides')")
    assert option.is_checked()
    shot(page, "desk-related-picker")
    page.click("button:has-text('Save')")
    page.wait_for_load_state()
    assert sorted(a.title for a in reset.related.all()) == [
        "Invoices and payment",
        "Password rules",
    ]
    assert "Invoices and payment" in page.locator("#kb-related-current").inner_text()

    customer = UserFactory(roles=["customer"], email="kb-cust3@example.com")
    ticket = make_ticket(by=customer, subject="Password reset link expired")
    page.goto(f"{live_server.url}/desk/tickets/{ticket.number}/")
    page.locator(".kb-panel [data-kb-insert]").first.click()
    page.click("button:has-text('Send')")
    page.wait_for_load_state()
    assert reset.title in page.locator(".ticket-articles").inner_text()
    shot(page, "desk-ticket-linked-article")
    page.goto(f"{live_server.url}/desk/kb/{reset.number}/")
    tickets = page.locator(".article-tickets")
    assert "Sent or linked on 1 ticket" in tickets.inner_text()
    tickets.locator(f"a:has-text('{ticket.number}')").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == ticket.subject

    Article.objects.filter(pk=reset.pk).update(
        view_count=120, helpful_count=8, not_helpful_count=3, rating_count=4, rating_average=3.5
    )
    two_days_ago = timezone.now() - timedelta(days=2)
    for followed in (None, None, None, two_days_ago):
        SuggestionOpened.objects.create(
            article=reset, viewer="v", opened_at=two_days_ago, ticket_followed_at=followed
        )
    UnansweredSearch.objects.create(query="teleporter", count=4)
    page.goto(f"{live_server.url}/desk/kb/insights/?days=7")
    figures = page.locator(".kb-figures").inner_text()
    assert "Suggestions opened\n4" in figures and "75%" in figures
    assert "teleporter" in page.content()
    shot(page, "desk-insights")
    assert reports == [], reports
