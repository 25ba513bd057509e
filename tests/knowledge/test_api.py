"""The knowledge API: public reading, staff writing, nothing unpublished leaking."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.models import Article, Status, UnansweredSearch

from .factories import make_article

pytestmark = pytest.mark.django_db
ARTICLES = "/api/v1/knowledge/articles/"


@pytest.fixture
def corpus(lead):
    return {
        "public": make_article(by=lead, title="Reset your password", tags=["account"]),
        "internal": make_article(by=lead, title="Runbook password vault", is_internal=True),
        "draft": make_article(by=lead, title="Password policy draft", status=Status.DRAFT),
        "archived": make_article(by=lead, title="Old password page", status=Status.ARCHIVED),
    }


def refs(article):
    return [str(article.pk), article.number, article.number.lower(), article.slug]


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_only_published_public_articles_reach_customers_and_visitors(
    api_client, customer, corpus, who
):
    if who == "customer":
        api_client.force_authenticate(customer)
    listed = api_client.get(ARTICLES).json()["results"]
    assert [a["title"] for a in listed] == ["Reset your password"]
    searched = api_client.get(ARTICLES, {"q": "password"}).json()["results"]
    assert [a["title"] for a in searched] == ["Reset your password"]
    for hidden in ("internal", "draft", "archived"):
        for ref in refs(corpus[hidden]):
            response = api_client.get(f"{ARTICLES}{ref}/")
            assert response.status_code == 404, (hidden, ref)
    for status in ("draft", "in_review", "archived"):
        assert api_client.get(ARTICLES, {"status": status}).json()["results"] == []
    for ref in refs(corpus["public"]):
        assert api_client.get(f"{ARTICLES}{ref}/").json()["id"] == corpus["public"].pk


def test_related_articles_a_customer_may_not_see_are_left_out(api_client, customer, lead, corpus):
    from knowledge import services

    services.set_related(
        article=corpus["public"], by=lead, related=[corpus["internal"], corpus["draft"]]
    )
    api_client.force_authenticate(customer)
    body = api_client.get(f"{ARTICLES}{corpus['public'].pk}/").json()
    assert body["related"] == []
    api_client.force_authenticate(lead)
    body = api_client.get(f"{ARTICLES}{corpus['public'].pk}/").json()
    assert {r["title"] for r in body["related"]} == {
        "Runbook password vault",
        "Password policy draft",
    }


def test_staff_see_everything_and_filter_by_status(api_client, agent, corpus):
    api_client.force_authenticate(agent)
    assert len(api_client.get(ARTICLES).json()["results"]) == 4
    drafts = api_client.get(ARTICLES, {"status": "draft"}).json()["results"]
    assert [a["title"] for a in drafts] == ["Password policy draft"]
    assert api_client.get(f"{ARTICLES}{corpus['internal'].number}/").status_code == 200


def test_search_gives_snippets_and_records_what_found_nothing(api_client, corpus):
    body = api_client.get(ARTICLES, {"q": "password"}).json()
    assert "<mark>" in body["results"][0]["snippet"]
    assert api_client.get(ARTICLES, {"q": "teleporter"}).json()["results"] == []
    api_client.get(ARTICLES, {"q": "Teleporter "})
    assert list(UnansweredSearch.objects.values_list("query", "count")) == [("teleporter", 2)]
    assert api_client.get(ARTICLES).json()["results"][0]["snippet"] is None


def test_an_unknown_filter_value_is_a_400(api_client):
    assert api_client.get(ARTICLES, {"category": "poetry"}).status_code == 400
    assert api_client.get(ARTICLES, {"status": "secret"}).status_code == 400


def test_staff_write_review_and_publish(api_client, agent, lead):
    api_client.force_authenticate(agent)
    created = api_client.post(
        ARTICLES,
        {"title": "Set up SSO", "category": "product_guide", "content": "Upload **metadata**."},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and "<strong>metadata</strong>" in body["content_html"]
    url = f"{ARTICLES}{body['number']}/"
    refused = api_client.post(url + "status/", {"status": "published"}, format="json")
    assert refused.status_code == 409 and refused.json()["allowed"] == ["in_review"]
    assert (
        api_client.post(url + "status/", {"status": "in_review"}, format="json").status_code == 200
    )
    patched = api_client.patch(
        url, {"content": "Upload the metadata.", "note": "Simpler"}, format="json"
    )
    assert patched.status_code == 200
    api_client.force_authenticate(lead)
    published = api_client.post(url + "status/", {"status": "published"}, format="json")
    assert published.json()["status"] == "published"
    revisions = api_client.get(url + "revisions/").json()["results"]
    assert [r["number"] for r in revisions] == [2, 1] and revisions[0]["note"] == "Simpler"
    restored = api_client.post(url + "revisions/1/restore/")
    assert restored.json()["content"] == "Upload **metadata**."


def test_customers_cannot_write(api_client, customer, corpus):
    api_client.force_authenticate(customer)
    assert (
        api_client.post(ARTICLES, {"title": "x", "category": "faq"}, format="json").status_code
        == 403
    )
    url = f"{ARTICLES}{corpus['public'].pk}/"
    assert api_client.patch(url, {"title": "x"}, format="json").status_code == 403
    assert api_client.get(url + "revisions/").status_code == 403
    assert Article.objects.get(pk=corpus["public"].pk).title == "Reset your password"


def test_feedback_through_the_api_is_one_per_person(api_client, customer, corpus):
    url = f"{ARTICLES}{corpus['public'].pk}/feedback/"
    assert api_client.post(url, {"rating": 5}, format="json").status_code in (401, 403)
    api_client.force_authenticate(customer)
    assert api_client.post(url, {"rating": 2, "helpful": False}, format="json").status_code == 200
    assert api_client.post(url, {"rating": 5, "helpful": True}, format="json").status_code == 200
    article = api_client.get(f"{ARTICLES}{corpus['public'].pk}/").json()
    assert (article["rating_count"], article["rating_average"], article["helpful_count"]) == (
        1,
        5.0,
        1,
    )
    hidden = f"{ARTICLES}{corpus['internal'].pk}/feedback/"
    assert api_client.post(hidden, {"rating": 5}, format="json").status_code == 404
    assert api_client.post(url, {}, format="json").status_code == 400


def test_the_list_costs_the_same_queries_for_3_and_30_articles(api_client, lead):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(ARTICLES, {"page_size": 50}).status_code == 200
        return len(queries)

    for n in range(3):
        make_article(by=lead, title=f"Article {n}", tags=["a", "b"])
    few = count()
    for n in range(3, 30):
        make_article(by=lead, title=f"Article {n}", tags=["a", "b"])
    assert count() == few


def test_a_slug_already_taken_is_a_400_naming_it(api_client, lead, corpus):
    api_client.force_authenticate(lead)
    body = {"title": "Another", "category": "faq", "slug": corpus["public"].slug}
    response = api_client.post(ARTICLES, body, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()["errors"]
    assert Article.objects.filter(slug=corpus["public"].slug).count() == 1


def test_staff_set_related_articles_through_the_api(api_client, lead, corpus):
    api_client.force_authenticate(lead)
    url = f"{ARTICLES}{corpus['public'].pk}/"
    response = api_client.patch(url, {"related": [corpus["draft"].pk]}, format="json")
    assert [r["id"] for r in response.json()["related"]] == [corpus["draft"].pk]
    assert api_client.patch(url, {"related": [999999]}, format="json").status_code == 400
    api_client.patch(url, {"related": []}, format="json")
    assert api_client.get(url).json()["related"] == []
