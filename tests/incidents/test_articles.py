"""Incidents and the knowledge base: the known-issue draft of a post-mortem, made once, and
linked articles, of which the status page shows only those anyone may read."""

import pytest

from incidents import services
from incidents.models import Incident, IncidentArticle, IncidentEvent, PostMortem, Status
from knowledge import services as knowledge_services
from knowledge.models import Article, Category
from knowledge.models import Status as ArticleStatus
from tests.knowledge.factories import make_article

from .factories import make_incident

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/incidents/"
POSTMORTEM = {
    "summary": "Exports failed for two hours.",
    "root_cause": "A migration locked the exports table.",
    "contributing_factors": "Alice's pager was silenced; db-2 pool at 97%.",
    "lessons": "Review migrations for long locks.",
}


def _completed(agent, **fields):
    incident = make_incident(by=agent, title="Exports fail", **fields)
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    services.save_postmortem(
        incident=incident,
        by=agent,
        complete=True,
        actions=[{"description": "Page Bob about locks", "owner": agent}],
        **POSTMORTEM,
    )
    return incident


def test_a_completed_postmortem_drafts_one_known_issue_article(api_client, agent):
    incident = _completed(agent)
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{incident.pk}/postmortem/article/"
    first = api_client.post(url)
    assert first.status_code == 201, first.content
    body = first.json()
    article = Article.objects.get(pk=body["id"])
    assert (body["number"], body["status"], body["created"]) == (article.number, "draft", True)
    assert article.title == "Exports fail"
    assert article.category == Category.KNOWN_ISSUE
    assert article.status == ArticleStatus.DRAFT and article.published_at is None
    assert article.summary == POSTMORTEM["summary"]
    for text in (POSTMORTEM["root_cause"], POSTMORTEM["lessons"]):
        assert text in article.content
    # The post-mortem's internal parts stay out of a text meant for customers.
    assert "Alice" not in article.content and "Bob" not in article.content
    assert not article.is_internal

    again = api_client.post(url)
    assert again.status_code == 200
    assert again.json()["id"] == article.pk and again.json()["created"] is False
    assert Article.objects.filter(category=Category.KNOWN_ISSUE).count() == 1
    assert PostMortem.objects.get(incident=incident).article == article
    assert list(IncidentArticle.objects.filter(incident=incident).values_list("article_id",
                                                                              flat=True)) == [
        article.pk
    ]  # fmt: skip
    assert (
        IncidentEvent.objects.filter(
            incident=incident, kind=IncidentEvent.Kind.ARTICLE_DRAFTED
        ).count()
        == 1
    )
    assert api_client.get(f"{INCIDENTS}{incident.pk}/postmortem/").json()["article"] == article.pk


def test_an_incident_kept_off_the_status_page_drafts_an_internal_article(agent):
    from incidents.articles import draft_known_issue

    incident = _completed(agent, is_public=False)
    article, created = draft_known_issue(incident=incident, by=agent)
    assert created and article.is_internal


def test_no_draft_before_the_postmortem_is_complete(api_client, agent):
    incident = make_incident(by=agent)
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{incident.pk}/postmortem/article/"
    assert api_client.post(url).status_code == 409
    Incident.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    services.save_postmortem(incident=incident, by=agent, summary="Half written")
    response = api_client.post(url)
    assert response.status_code == 409
    assert response.json()["code"] == "postmortem_incomplete"
    assert not Article.objects.exists()


def test_customers_cannot_draft_or_link(api_client, agent, customer):
    incident = _completed(agent)
    article = make_article(by=agent, title="Exports are slow")
    api_client.force_authenticate(customer)
    assert api_client.post(f"{INCIDENTS}{incident.pk}/postmortem/article/").status_code == 403
    response = api_client.post(
        f"{INCIDENTS}{incident.pk}/articles/", {"article": article.number}, format="json"
    )
    assert response.status_code == 403
    assert not Article.objects.filter(category=Category.KNOWN_ISSUE).exists()
    assert not IncidentArticle.objects.exists()


def test_articles_are_linked_and_unlinked_by_number(api_client, agent):
    incident = make_incident(by=agent)
    article = make_article(by=agent, title="Exports are slow")
    api_client.force_authenticate(agent)
    url = f"{INCIDENTS}{incident.pk}/articles/"
    linked = api_client.post(url, {"article": article.number.lower()}, format="json")
    assert linked.status_code == 200, linked.content
    assert linked.json()["changed"] is True
    assert [a["number"] for a in linked.json()["articles"]] == [article.number]
    assert api_client.post(url, {"article": article.number}, format="json").json()["changed"] is (
        False
    )
    assert IncidentArticle.objects.filter(incident=incident).count() == 1
    assert [a["id"] for a in api_client.get(url).json()["results"]] == [article.pk]
    missing = api_client.post(url, {"article": "KB-99999"}, format="json")
    assert missing.status_code == 400
    unlinked = api_client.post(f"{url}unlink/", {"article": article.number}, format="json")
    assert unlinked.json() == {"changed": True, "articles": []}
    assert not IncidentArticle.objects.exists()


def test_the_status_page_reads_more_only_in_public_articles(client, agent, lead):
    incident = make_incident(by=agent, title="Exports fail")
    public = make_article(by=lead, title="Exports and the outage of December")
    internal = make_article(by=lead, title="Runbook for the exports database", is_internal=True)
    draft = make_article(by=agent, title="Draft of the exports notice", status=ArticleStatus.DRAFT)
    from incidents.articles import link_article

    for article in (public, internal, draft):
        link_article(incident=incident, by=agent, article=article.number)
    html = client.get(f"/status/incidents/{incident.number}/").content.decode()
    assert "Read more" in html and public.title in html and f"/help/kb/{public.slug}/" in html
    assert internal.title not in html and draft.title not in html


def test_publishing_a_linked_article_shows_it_on_the_cached_page(
    client, agent, lead, django_capture_on_commit_callbacks
):
    incident = _completed(agent)
    from incidents.articles import draft_known_issue

    with django_capture_on_commit_callbacks(execute=True):
        article, _ = draft_known_issue(incident=incident, by=agent)
    page = f"/status/incidents/{incident.number}/"
    assert "Read more" not in client.get(page).content.decode()  # a draft: not shown
    with django_capture_on_commit_callbacks(execute=True):
        knowledge_services.change_status(article=article, by=lead, to=ArticleStatus.PUBLISHED)
    assert "Read more" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        knowledge_services.update_article(article=article, by=lead, is_internal=True)
    assert "Read more" not in client.get(page).content.decode()


def test_the_desk_page_drafts_links_and_unlinks(client, agent):
    incident = _completed(agent)
    other = make_article(by=agent, title="Exports are slow")
    client.force_login(agent)
    page = f"/desk/incidents/{incident.number}/"
    assert "Draft a known-issue article" in client.get(page).content.decode()
    response = client.post(f"{page}postmortem/article/")
    article = Article.objects.get(category=Category.KNOWN_ISSUE)
    assert response.status_code == 302 and response["Location"] == f"/desk/kb/{article.number}/"
    client.post(f"{page}postmortem/article/")
    assert Article.objects.filter(category=Category.KNOWN_ISSUE).count() == 1
    client.post(f"{page}articles/", {"article": other.number})
    html = client.get(page).content.decode()
    assert article.number in html and other.number in html
    assert "Open the known-issue draft" in html
    refused = client.post(f"{page}articles/", {"article": "KB-99999"}, follow=True)
    assert "No such article" in refused.content.decode()
    client.post(f"{page}articles/unlink/", {"article": other.number})
    assert list(IncidentArticle.objects.values_list("article_id", flat=True)) == [article.pk]
