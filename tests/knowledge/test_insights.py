"""The desk's knowledge insights: deflection for a period, searches that found nothing, and the
articles readers found unhelpful, rated lowest and viewed most."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from knowledge import selectors
from knowledge.models import Article, Status, SuggestionOpened, UnansweredSearch

from .factories import make_article

pytestmark = pytest.mark.django_db

URL = "/desk/kb/insights/"


def opened(article, *, days_ago: float, followed: bool = False):
    at = timezone.now() - timedelta(days=days_ago)
    return SuggestionOpened.objects.create(
        article=article, viewer="v", opened_at=at, ticket_followed_at=at if followed else None
    )


def section(page: str, heading: str) -> str:
    part = page[page.index(heading) :]
    return part[: part.index("</section>")]


def test_deflection_for_the_chosen_period(client, agent, lead):
    reset = make_article(by=lead, title="Reset your password")
    opened(reset, days_ago=2)
    opened(reset, days_ago=3, followed=True)
    opened(reset, days_ago=20)
    opened(reset, days_ago=25)
    opened(reset, days_ago=60, followed=True)
    opened(reset, days_ago=0.5)  # not settled yet: a request may still follow
    client.force_login(agent)

    week = section(client.get(URL, {"days": 7}).content.decode(), "Deflection")
    assert "<dd>2</dd>" in week and "<dd>1</dd>" in week and "<dd>50%</dd>" in week
    month = client.get(URL).content.decode()  # 30 days unless chosen
    assert 'href="?days=30" aria-current="page"' in month
    month = section(month, "Deflection")
    assert "<dt>Suggestions opened</dt><dd>4</dd>" in month
    assert "<dt>Deflected (no request followed)</dt><dd>3</dd>" in month
    assert "<dt>Deflection rate</dt><dd>75%</dd>" in month
    quarter = section(client.get(URL, {"days": 90}).content.decode(), "Deflection")
    assert "<dt>Suggestions opened</dt><dd>5</dd>" in quarter and "<dd>60%</dd>" in quarter
    odd = client.get(URL, {"days": "12; drop"}).content.decode()
    assert 'href="?days=30" aria-current="page"' in odd  # anything else: the default


def test_no_suggestions_opened_shows_no_rate(client, agent):
    client.force_login(agent)
    page = section(client.get(URL).content.decode(), "Deflection")
    assert "<dt>Deflection rate</dt><dd>—</dd>" in page


def test_unanswered_searches_of_the_period_and_a_link_to_all(client, agent):
    now = timezone.now()
    UnansweredSearch.objects.create(query="teleporter", count=9, last_searched_at=now)
    UnansweredSearch.objects.create(query="warp drive", count=3, last_searched_at=now)
    UnansweredSearch.objects.create(
        query="fax machine", count=50, last_searched_at=now - timedelta(days=40)
    )
    client.force_login(agent)
    page = section(client.get(URL).content.decode(), "Searches that found nothing")
    assert page.index("teleporter") < page.index("warp drive")
    assert "fax machine" not in page
    assert 'href="/desk/kb/unanswered/"' in page
    assert "fax machine" in client.get(URL, {"days": 90}).content.decode()


def test_unhelpful_lowest_rated_and_most_viewed_articles(client, agent, lead):
    good = make_article(by=lead, title="Good article")
    bad = make_article(by=lead, title="Bad article")
    draft = make_article(by=lead, title="Draft article", status=Status.DRAFT)
    Article.objects.filter(pk=good.pk).update(
        helpful_count=9, not_helpful_count=1, rating_count=4, rating_average=4.5, view_count=900
    )
    Article.objects.filter(pk=bad.pk).update(
        helpful_count=1, not_helpful_count=7, rating_count=3, rating_average=1.7, view_count=40
    )
    Article.objects.filter(pk=draft.pk).update(view_count=5)
    client.force_login(agent)
    page = client.get(URL).content.decode()
    unhelpful = section(page, "Most often not helpful")
    assert unhelpful.index("Bad article") < unhelpful.index("Good article")
    assert "7 <span" in unhelpful and "of 8 votes" in unhelpful
    lowest = section(page, "Lowest rated")
    assert lowest.index("Bad article") < lowest.index("Good article") and "1.7/5" in lowest
    viewed = section(page, "Most viewed")
    assert viewed.index("Good article") < viewed.index("Bad article") < viewed.index("Draft")
    assert f'href="/desk/kb/{bad.number}/"' in viewed


def test_insights_are_for_staff_and_in_the_knowledge_nav(client, customer, agent):
    client.force_login(customer)
    assert client.get(URL).status_code == 403
    client.force_login(agent)
    assert 'href="/desk/kb/insights/"' in client.get("/desk/kb/").content.decode()


def test_the_figures_take_five_queries_whatever_the_data(lead, django_assert_num_queries):
    with django_assert_num_queries(5):
        selectors.insights(days=30)
    for n in range(15):
        made = make_article(by=lead, title=f"Article {n}")
        Article.objects.filter(pk=made.pk).update(
            view_count=n + 1, not_helpful_count=n, rating_count=1, rating_average=1 + n % 5
        )
        opened(made, days_ago=2, followed=n % 2 == 0)
        UnansweredSearch.objects.create(query=f"nothing {n}", count=n + 1)
    with django_assert_num_queries(5):
        figures = selectors.insights(days=30)
    assert len(figures["most_viewed"]) == selectors.INSIGHT_ROWS
    assert (figures["opened"], figures["deflected"]) == (15, 7)


def test_the_page_costs_the_same_with_few_and_many_rows(client, agent, lead):
    client.force_login(agent)

    def cost():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    empty = cost()
    for n in range(12):
        made = make_article(by=lead, title=f"Article {n}")
        Article.objects.filter(pk=made.pk).update(
            view_count=n + 1, not_helpful_count=n + 1, rating_count=1, rating_average=2
        )
        UnansweredSearch.objects.create(query=f"nothing {n}")
    assert cost() == empty
