"""Articles ↔ tickets: what a staff reply sent, what an agent linked by hand, shown to staff on
the ticket and on the article, never to customers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from knowledge.models import Status
from support import services
from support.models import TicketArticle, TicketEvent
from support.services.articles import article_slugs_in
from tests.factories import UserFactory
from tests.knowledge.factories import make_article

from .factories import TeamFactory, make_ticket

pytestmark = pytest.mark.django_db

How = TicketArticle.How


@pytest.fixture
def reset(lead):
    return make_article(by=lead, title="Reset your password")


@pytest.fixture
def ticket(customer):
    return make_ticket(by=customer, subject="Cannot sign in")


def links(ticket) -> list[tuple[str, str]]:
    return sorted(TicketArticle.objects.filter(ticket=ticket).values_list("article__number", "how"))


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- recorded from replies -------------------------------------------------------------------


def test_a_desk_reply_with_an_inserted_article_links_it(client, agent, ticket, reset):
    client.force_login(agent)
    body = f"Reset your password: http://testserver/help/kb/{reset.slug}/\nThanks"
    response = client.post(f"/desk/tickets/{ticket.number}/", {"body": body})
    assert response.status_code == 302
    link = TicketArticle.objects.get(ticket=ticket)
    assert (link.article, link.how, link.linked_by) == (reset, How.INSERTED, agent)
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ARTICLE_LINKED)
    assert event.is_internal and event.after == {"article": reset.number, "how": "inserted"}


def test_links_in_a_reply_s_html_count_once_and_only_published_articles(agent, lead, ticket, reset):
    draft = make_article(by=lead, title="Unfinished", status=Status.DRAFT)
    archived = make_article(by=lead, title="Old way", status=Status.ARCHIVED)
    body = (
        f'<p><a href="https://help.example.com/help/kb/{reset.slug}/">Reset</a> and again '
        f'<a href="https://help.example.com/help/kb/{reset.slug}/#steps">here</a>, '
        f"https://help.example.com/help/kb/{draft.slug}/ "
        f"https://help.example.com/help/kb/{archived.slug}/ "
        "https://help.example.com/help/kb/no-such-article/ "
        "https://help.example.com/help/kb/search/?q=x</p>"
    )
    services.add_message(ticket=ticket, by=agent, body=body)
    services.add_message(ticket=ticket, by=agent, body=body)  # a second time: still one link
    assert links(ticket) == [(reset.number, How.INSERTED)]


def test_notes_and_customer_replies_link_nothing(agent, customer, ticket, reset):
    url = f"https://help.example.com/help/kb/{reset.slug}/"
    services.add_message(ticket=ticket, by=agent, body=f"See {url}", internal=True)
    services.add_message(ticket=ticket, by=customer, body=f"I read {url}")
    assert links(ticket) == []


def test_an_article_linked_by_hand_stays_linked_by_hand_when_sent(agent, ticket, reset):
    services.link_article(ticket=ticket, article=reset, by=agent)
    services.add_message(
        ticket=ticket, by=agent, body=f"https://help.example.com/help/kb/{reset.slug}/"
    )
    assert links(ticket) == [(reset.number, How.LINKED)]


def test_article_addresses_are_found_by_path():
    html = (
        '<a href="http://x.test/help/kb/reset-password/">a</a> '
        "http://x.test/help/kb/Two_Factor/feedback/ /help/kb/relative/ "
        "http://x.test/help/kb/category/faq/ http://x.test/help/kbx/other/"
    )
    assert article_slugs_in(html) == ["reset-password", "two_factor"]
    assert article_slugs_in("<p>No article here.</p>") == []


# --- linked by hand on the desk ticket page --------------------------------------------------


def test_staff_link_and_unlink_an_article_by_hand(client, agent, ticket, reset):
    client.force_login(agent)
    action = f"/desk/tickets/{ticket.number}/action/"
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Articles on this ticket" in page and 'value="link_article"' in page
    client.post(action, {"action": "link_article", "article": reset.number.lower()})
    assert links(ticket) == [(reset.number, How.LINKED)]
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    panel = page[page.index("Articles on this ticket") :]
    assert reset.title in panel and "Linked by hand by Avery Agent" in panel
    assert f'href="/desk/kb/{reset.number}/"' in panel
    client.post(action, {"action": "unlink_article", "article": reset.number})
    assert links(ticket) == []
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket, kind__startswith="article_")
        .order_by("pk")
        .values_list("kind", "is_internal")
    )
    assert kinds == [("article_linked", True), ("article_unlinked", True)]


def test_bad_article_numbers_and_doubles_are_refused_clearly(client, agent, ticket, reset):
    client.force_login(agent)
    action = f"/desk/tickets/{ticket.number}/action/"
    for number, message in (
        ("KB-99999", "No article KB-99999."),
        ("", "Give an article number"),
    ):
        response = client.post(action, {"action": "link_article", "article": number}, follow=True)
        assert message in response.content.decode()
    client.post(action, {"action": "link_article", "article": reset.number})
    again = client.post(action, {"action": "link_article", "article": reset.number}, follow=True)
    assert "is already linked" in again.content.decode()
    gone = client.post(action, {"action": "unlink_article", "article": "KB-99999"}, follow=True)
    assert "No article KB-99999." in gone.content.decode()
    assert links(ticket) == [(reset.number, How.LINKED)]


def test_customers_never_see_nor_change_the_links(client, agent, customer, ticket, reset):
    services.link_article(ticket=ticket, article=reset, by=agent)
    client.force_login(customer)
    page = client.get(f"/help/tickets/{ticket.number}/").content.decode()
    assert "Articles on this ticket" not in page and "Article linked" not in page
    assert reset.number not in page
    response = client.post(
        f"/desk/tickets/{ticket.number}/action/",
        {"action": "unlink_article", "article": reset.number},
    )
    assert response.status_code == 403
    assert links(ticket) == [(reset.number, How.LINKED)]
    with pytest.raises(Exception, match="Only support staff"):
        services.unlink_article(ticket=ticket, article=reset, by=customer)


# --- the tickets an article served, on the desk's article page -------------------------------


def test_the_article_page_shows_how_many_tickets_and_the_latest(client, agent, customer, reset):
    tickets = [make_ticket(by=customer, subject=f"Sign-in trouble {n}") for n in range(12)]
    for ticket in tickets:
        services.link_article(ticket=ticket, article=reset, by=agent)
    client.force_login(agent)
    page = client.get(f"/desk/kb/{reset.number}/").content.decode()
    panel = page[page.index('class="card article-tickets"') :]
    panel = panel[: panel.index("</section>")]
    assert "Sent or linked on 12 tickets; the latest 10" in panel
    assert f'href="/desk/tickets/{tickets[-1].number}/"' in panel and "Sign-in trouble 11" in panel
    assert tickets[0].number not in panel  # the oldest two are counted, not listed
    assert tickets[1].number not in panel


def test_the_article_page_counts_only_tickets_the_agent_may_see(client, lead, customer, reset):
    agent = UserFactory(roles=[Role.AGENT])
    mine, theirs = TeamFactory(members=[agent]), TeamFactory()
    seen = make_ticket(by=lead, customer_email="a@example.com", subject="Ours", team=mine)
    unseen = make_ticket(by=lead, customer_email="b@example.com", subject="Secret", team=theirs)
    for ticket in (seen, unseen):
        services.link_article(ticket=ticket, article=reset, by=lead)
    client.force_login(agent)
    page = client.get(f"/desk/kb/{reset.number}/").content.decode()
    assert "Sent or linked on 1 ticket:" in page and seen.number in page
    assert unseen.number not in page and "Secret" not in page


def test_article_and_ticket_pages_cost_the_same_for_1_and_5_links(client, agent, customer, lead):
    articles = [make_article(by=lead, title=f"Sign-in help {n}") for n in range(5)]
    tickets = [make_ticket(by=customer, subject=f"Sign-in {n}") for n in range(5)]
    services.link_article(ticket=tickets[0], article=articles[0], by=agent)
    client.force_login(agent)
    article_url = f"/desk/kb/{articles[0].number}/"
    ticket_url = f"/desk/tickets/{tickets[0].number}/"
    one = (queries_for(client, article_url), queries_for(client, ticket_url))
    for n in range(1, 5):
        services.link_article(ticket=tickets[n], article=articles[0], by=agent)
        services.link_article(ticket=tickets[0], article=articles[n], by=agent)
    assert (queries_for(client, article_url), queries_for(client, ticket_url)) == one


# --- the API: staff read the ticket's articles, customers never ------------------------------


def test_the_ticket_detail_lists_its_articles_for_staff_only(
    api_client, agent, customer, ticket, reset
):
    services.link_article(ticket=ticket, article=reset, by=agent)
    url = f"/api/v1/support/tickets/{ticket.pk}/"
    api_client.force_authenticate(agent)
    [article] = api_client.get(url).json()["articles"]
    assert (article["id"], article["number"], article["how"]) == (reset.pk, reset.number, "linked")
    api_client.force_authenticate(customer)
    body = api_client.get(url).json()
    assert "articles" not in body and reset.number not in str(body)
