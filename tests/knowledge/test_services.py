"""Authoring rules: rendering, revisions and restore, the state machine, audit, feedback."""

import re

import pytest

from core.errors import DomainError, NotAllowed
from core.models.audit import AppendOnlyError
from core.workflow import TransitionRefused
from knowledge import services
from knowledge.models import Article, ArticleEvent, Feedback, Status, UnansweredSearch

from .factories import make_article

pytestmark = pytest.mark.django_db


def test_a_new_article_is_a_numbered_rendered_draft_with_a_revision_and_an_event(agent):
    article = services.create_article(
        by=agent,
        title="Reset your password",
        category="how_to",
        content="1. Choose **Forgot password**.",
        tags=["Account", "password"],
    )
    assert re.fullmatch(r"KB-\d{5,}", article.number)  # 5 digits, more past 99,999
    assert article.status == Status.DRAFT
    assert article.slug == "reset-your-password"
    assert "<strong>Forgot password</strong>" in article.content_html
    assert "Forgot password" in article.content_text and "**" not in article.content_text
    assert article.tag_names == "account password"
    assert [r.number for r in article.revisions.all()] == [1]
    assert list(article.events.values_list("kind", flat=True)) == [ArticleEvent.Kind.CREATED]


def test_slugs_stay_unique(agent):
    first = services.create_article(by=agent, title="Billing FAQ", category="faq")
    second = services.create_article(by=agent, title="Billing FAQ", category="faq")
    assert (first.slug, second.slug) == ("billing-faq", "billing-faq-2")


def test_markdown_that_tries_to_run_script_is_inert(agent):
    article = services.create_article(
        by=agent,
        title="Tricky",
        category="faq",
        content="<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">\n\n[ok](/help/kb/other/)',
    )
    html = article.content_html
    # What was HTML is shown as text; no tag, attribute or link that runs anything survives.
    assert "&lt;script&gt;" in html
    assert not re.search(r"<(script|img)\b", html)
    assert not re.search(r"<[^>]*\son\w+=", html)
    assert 'href="javascript' not in html
    assert '<a href="/help/kb/other/" rel="noopener noreferrer nofollow">ok</a>' in html


def test_editing_text_keeps_a_revision_and_restoring_one_adds_another(agent):
    article = make_article(by=agent, content="First text.")
    services.update_article(article=article, by=agent, content="Second text.", note="Typo")
    services.update_article(article=article, by=agent, keywords="no new revision")
    article.refresh_from_db()
    assert [r.number for r in article.revisions.all()] == [2, 1]
    first = article.revisions.get(number=1)
    services.restore_revision(article=article, revision=first, by=agent)
    article.refresh_from_db()
    assert article.content == "First text." and "First text." in article.content_html
    assert [r.number for r in article.revisions.all()] == [3, 2, 1]
    kinds = list(article.events.values_list("kind", flat=True))
    assert kinds.count(ArticleEvent.Kind.UPDATED) == 3 and ArticleEvent.Kind.RESTORED in kinds
    update = article.events.filter(kind=ArticleEvent.Kind.UPDATED).first()
    assert update.before == {"content": "First text."}
    assert update.after == {"content": "Second text."}


def test_a_revision_of_another_article_cannot_be_restored(agent):
    one, other = make_article(by=agent, title="One"), make_article(by=agent, title="Other")
    with pytest.raises(DomainError):
        services.restore_revision(article=one, revision=other.revisions.get(), by=agent)


def test_article_events_are_append_only(agent):
    event = make_article(by=agent).events.first()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ArticleEvent.objects.filter(pk=event.pk).update(kind="updated")


def test_agents_send_for_review_and_leads_publish(agent, lead):
    article = services.create_article(by=agent, title="Draft", category="faq")
    with pytest.raises(TransitionRefused) as refused:
        services.change_status(article=article, by=agent, to=Status.PUBLISHED)
    assert refused.value.extra["allowed"] == [Status.IN_REVIEW]
    services.change_status(article=article, by=agent, to=Status.IN_REVIEW)
    article = services.change_status(article=article, by=lead, to=Status.PUBLISHED)
    assert article.status == Status.PUBLISHED and article.published_at is not None
    services.change_status(article=article, by=lead, to=Status.ARCHIVED)
    with pytest.raises(TransitionRefused):
        services.change_status(article=article, by=lead, to=Status.IN_REVIEW)


def test_customers_write_nothing(customer, agent):
    with pytest.raises(NotAllowed):
        services.create_article(by=customer, title="Mine", category="faq")
    article = make_article(by=agent)
    with pytest.raises(NotAllowed):
        services.update_article(article=article, by=customer, title="Hijacked")
    with pytest.raises(NotAllowed):
        services.change_status(article=article, by=customer, to=Status.ARCHIVED)


def test_only_leads_pin_or_boost(agent, lead):
    article = services.create_article(by=agent, title="Agent's", category="faq", is_pinned=True)
    assert article.is_pinned is False  # quietly not an agent's choice at creation
    with pytest.raises(NotAllowed):
        services.update_article(article=article, by=agent, search_boost=2)
    services.update_article(article=article, by=lead, is_pinned=True, search_boost=2)
    article.refresh_from_db()
    assert (article.is_pinned, article.search_boost) == (True, 2)


def test_feedback_is_one_per_person_changeable_and_counted(agent, customer, lead):
    article = make_article(by=agent)
    services.give_feedback(article=article, user=customer, rating=2, helpful=False)
    services.give_feedback(article=article, user=customer, rating=4, helpful=True)
    services.give_feedback(article=article, user=lead, rating=5)
    services.give_feedback(article=article, session_key="visitor-1", helpful=False)
    services.give_feedback(article=article, session_key="visitor-1", helpful=True)
    article.refresh_from_db()
    assert Feedback.objects.filter(article=article).count() == 3
    assert (article.rating_count, article.rating_average) == (2, 4.5)
    assert (article.helpful_count, article.not_helpful_count) == (2, 0)
    stored = Feedback.objects.get(article=article, user=None)
    assert "visitor-1" not in stored.visitor  # a digest, not the session key


@pytest.mark.parametrize(
    "kwargs", [{}, {"rating": 0}, {"rating": 6}, {"helpful": True, "session_key": ""}]
)
def test_feedback_that_says_nothing_or_has_no_author_is_refused(agent, kwargs):
    article = make_article(by=agent)
    with pytest.raises(DomainError):
        services.give_feedback(article=article, **kwargs)
    assert not Feedback.objects.exists()


def test_views_are_added_in_one_statement_per_article(agent, django_assert_num_queries):
    one, two = make_article(by=agent, title="One"), make_article(by=agent, title="Two")
    with django_assert_num_queries(2):
        services.add_views({one.pk: 3, two.pk: 1})
    assert list(Article.objects.order_by("pk").values_list("view_count", flat=True)) == [3, 1]


def test_unanswered_searches_are_counted_by_their_normal_form():
    services.record_unanswered("Dark   Mode")
    services.record_unanswered("dark mode ")
    services.record_unanswered("   ")
    assert list(UnansweredSearch.objects.values_list("query", "count")) == [("dark mode", 2)]


def test_a_suggestion_opened_and_no_request_after_it_is_a_deflection(agent, customer, client):
    from datetime import timedelta

    from django.utils import timezone

    from knowledge.models import SuggestionOpened
    from knowledge.selectors import deflection

    article = make_article(by=agent)
    internal = make_article(by=agent, title="Runbook", is_internal=True)
    services.record_suggestion_opened(article=article, session_key="visitor-a")
    services.record_suggestion_opened(article=article, session_key="visitor-b")
    services.record_suggestion_opened(article=article, user=customer)
    services.record_suggestion_opened(article=internal, user=customer)  # never suggested: ignored
    services.record_suggestion_opened(article=article)  # nobody to tell apart: ignored
    assert SuggestionOpened.objects.count() == 3
    assert services.note_ticket_followed(session_key="visitor-b") == 1
    assert services.note_ticket_followed(user=customer) == 1
    assert services.note_ticket_followed(session_key="visitor-b") == 0  # already noted

    now = timezone.now()
    assert deflection(since=now - timedelta(days=2), until=now) == {"opened": 0, "deflected": 0}
    SuggestionOpened.objects.update(opened_at=now - timedelta(hours=25))
    assert deflection(since=now - timedelta(days=2), until=now) == {"opened": 3, "deflected": 1}


def test_the_help_centers_new_request_notes_that_a_request_followed(agent, customer, client):
    from knowledge.models import SuggestionOpened

    article = make_article(by=agent)
    services.record_suggestion_opened(article=article, user=customer)
    client.force_login(customer)
    response = client.post(
        "/help/tickets/new/",
        {"subject": "Still locked out", "description": "Tried the article.", "priority": "medium"},
    )
    assert response.status_code == 302, response.content
    assert SuggestionOpened.objects.get().ticket_followed_at is not None


def test_a_vote_alone_keeps_the_earlier_rating_and_comment(agent, customer):
    article = make_article(by=agent)
    services.give_feedback(article=article, user=customer, rating=4, comment="Clear steps")
    services.give_feedback(article=article, user=customer, helpful=True)
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment, feedback.helpful) == (4, "Clear steps", True)


@pytest.mark.parametrize("slug", ["search", "suggest", "category"])
def test_slugs_of_help_center_pages_are_never_given_to_articles(agent, slug):
    assert services.create_article(by=agent, title=slug, category="faq").slug == f"{slug}-2"
    with pytest.raises(DomainError):
        services.create_article(by=agent, title="Other", category="faq", slug=slug)
