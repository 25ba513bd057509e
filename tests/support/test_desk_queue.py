"""The desk's queue: views with counts, filters that only narrow, sort orders, the SLA badge
in words, bulk actions through the services, and the refresh that keeps the selection."""

from datetime import timedelta

import pytest
from django.utils import timezone

from support import queue
from support.models import Ticket
from support.models.choices import Status
from tests.factories import UserFactory

from .factories import TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(customer, agent):
    mine = make_ticket(by=customer, subject="Mine", priority="low")
    Ticket.objects.filter(pk=mine.pk).update(assigned_to=agent, status=Status.ASSIGNED)
    unassigned = make_ticket(by=customer, subject="Nobody's", priority="urgent", tags=["vip"])
    late = make_ticket(by=customer, subject="Late one", priority="high")
    Ticket.objects.filter(pk=late.pk).update(
        response_breached=True, sla_due_at=timezone.now() - timedelta(hours=1)
    )
    waiting = make_ticket(by=customer, subject="Waiting one")
    Ticket.objects.filter(pk=waiting.pk).update(
        status=Status.WAITING_ON_CUSTOMER, assigned_to=agent
    )
    risky = make_ticket(by=customer, subject="Risky one")
    Ticket.objects.filter(pk=risky.pk).update(response_warned=True)
    return {
        "mine": mine,
        "unassigned": unassigned,
        "late": late,
        "waiting": waiting,
        "risky": risky,
    }


def _page(client, query=""):
    return client.get(f"/desk/?{query}").content.decode()


def test_each_view_holds_what_its_name_says_and_counts_it(client, agent, world):
    counts = queue.counts(agent)
    assert counts["mine"] == 2  # assigned and waiting
    assert counts["unassigned"] == 3
    assert counts["breached"] == 1 and counts["at_risk"] == 1 and counts["waiting"] == 1
    assert counts["all"] == 5
    client.force_login(agent)
    assert "Late one" in _page(client, "view=breached") and "Risky one" not in _page(
        client, "view=breached"
    )
    assert "Risky one" in _page(client, "view=at_risk")
    assert "Waiting one" in _page(client, "view=waiting")
    assert "Nobody&#x27;s" in _page(client, "view=unassigned") or "Nobody's" in _page(
        client, "view=unassigned"
    )


def test_filters_narrow_and_sort_orders_apply(client, agent, world):
    client.force_login(agent)
    vip = _page(client, "view=all&tag=vip")
    assert "TKT" in vip and world["unassigned"].number in vip and world["late"].number not in vip
    urgent_first = _page(client, "view=all&sort=priority")
    assert urgent_first.index(world["unassigned"].number) < urgent_first.index(world["mine"].number)
    by_customer = _page(client, f"view=all&customer={world['late'].customer_email.upper()}")
    assert world["late"].number in by_customer


def test_a_filter_never_widens_what_an_agent_sees(client, customer):
    team = TeamFactory()
    outsider = UserFactory(roles=["agent"])
    hidden = make_ticket(by=customer, subject="Other team's")
    Ticket.objects.filter(pk=hidden.pk).update(team=team)  # customers cannot route their own
    client.force_login(outsider)
    page = _page(client, f"view=all&team={team.pk}")
    assert hidden.number not in page
    assert hidden.number not in _page(client, f"view=all&customer={hidden.customer_email}")


def test_the_badge_says_the_time_left_or_overdue_in_words(client, agent, world):
    client.force_login(agent)
    page = _page(client, "view=all")
    assert "overdue" in page and "first response" in page
    assert "in 3 h" in page or "in 4 h" in page  # a medium ticket just filed: 4 h to answer


def test_bulk_assign_to_me_and_a_confirmed_cancel(client, agent, world):
    client.force_login(agent)
    numbers = [world["unassigned"].number, world["late"].number]
    response = client.post(
        "/desk/bulk/", {"action": "assign_me", "tickets": numbers, "back": "/desk/?view=all"}
    )
    assert response.url == "/desk/?view=all"
    assert set(Ticket.objects.filter(number__in=numbers).values_list("assigned_to", flat=True)) == {
        agent.pk
    }
    client.post("/desk/bulk/", {"action": "status", "status": "cancelled", "tickets": numbers})
    assert not Ticket.objects.filter(number__in=numbers, status=Status.CANCELLED).exists()
    client.post(
        "/desk/bulk/",
        {"action": "status", "status": "cancelled", "tickets": numbers, "confirm": "on"},
    )
    assert Ticket.objects.filter(number__in=numbers, status=Status.CANCELLED).count() == 2


def test_bulk_cannot_reach_a_ticket_the_agent_cannot_see(client, customer, world):
    team = TeamFactory()
    hidden = make_ticket(by=customer)
    Ticket.objects.filter(pk=hidden.pk).update(team=team)
    hidden.refresh_from_db()
    outsider = UserFactory(roles=["agent"])
    client.force_login(outsider)
    before = hidden.priority
    wanted = "urgent" if before != "urgent" else "low"
    client.post(
        "/desk/bulk/", {"action": "priority", "priority": wanted, "tickets": [hidden.number]}
    )
    hidden.refresh_from_db()
    assert hidden.priority == before


def test_bulk_merge_needs_two_and_a_confirmation(client, agent, world):
    client.force_login(agent)
    first, second = world["risky"], world["unassigned"]
    client.post("/desk/bulk/", {"action": "merge", "tickets": [first.number, second.number]})
    assert Ticket.objects.get(pk=second.pk).status != Status.CLOSED
    client.post(
        "/desk/bulk/",
        {"action": "merge", "tickets": [first.number, second.number], "confirm": "on"},
    )
    target, source = sorted([first, second], key=lambda t: t.number)
    assert Ticket.objects.get(pk=source.pk).status == Status.CLOSED
    assert Ticket.objects.get(pk=target.pk).status != Status.CLOSED


def test_the_refresh_returns_the_rows_and_keeps_the_ticked_boxes(client, agent, world):
    client.force_login(agent)
    number = world["late"].number
    part = client.get(
        f"/desk/?view=all&part=rows&tickets={number}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in part and 'id="queue-rows"' in part
    assert f'value="{number}" form="bulk" aria-label="Select {number}" checked' in part


def test_an_agent_saves_a_view_of_their_own_and_opens_it(client, agent, lead, world):
    client.force_login(agent)
    response = client.post(
        "/desk/views/",
        {"name": "  VIP  urgent ", "query": "view=all&tag=vip&page=3&part=rows&evil=1&priority="},
    )
    assert response.url == "/desk/?tag=vip&view=all"
    page = client.get(response.url).content.decode()
    assert 'href="?tag=vip&amp;view=all" aria-current="page">VIP urgent</a>' in page
    assert world["unassigned"].number in page and world["late"].number not in page
    client.force_login(lead)
    assert "VIP urgent" not in client.get("/desk/").content.decode()  # views are personal
    from support.models import SavedQueueView

    saved = SavedQueueView.objects.get()
    client.post("/desk/views/", {"delete": saved.pk})  # not the lead's: nothing happens
    assert SavedQueueView.objects.count() == 1
    client.force_login(agent)
    client.post("/desk/views/", {"delete": saved.pk})
    assert not SavedQueueView.objects.exists()


def test_a_view_needs_a_name_and_something_to_keep(client, agent):
    client.force_login(agent)
    client.post("/desk/views/", {"name": "", "query": "view=all"})
    client.post("/desk/views/", {"name": "Nothing", "query": "page=2"})
    from support.models import SavedQueueView

    assert not SavedQueueView.objects.exists()


def test_counts_agree_with_each_views_list(agent, world):
    """The counts test only what a view adds to "active"; each must still be its list's size."""
    now = timezone.now()
    counts = queue.counts(agent, now=now)
    visible = Ticket.objects.visible_to(agent)
    for view in queue.VIEWS:
        if view.counted:
            listed = visible.filter(queue.view_filter(view.key, agent, now=now)).count()
            assert counts[view.key] == listed, view.key


def test_my_teams_is_empty_without_a_query_for_an_agent_in_no_team(
    agent, world, django_assert_num_queries
):
    assert not agent.support_teams.exists()
    with django_assert_num_queries(1):  # the team ids; the view is then empty by construction
        wanted = queue.view_filter("teams", agent, now=timezone.now())
    assert not Ticket.objects.filter(wanted).exists()
    team = TeamFactory()
    team.members.add(agent)
    Ticket.objects.filter(pk=world["late"].pk).update(team=team)
    wanted = queue.view_filter("teams", agent, now=timezone.now())
    assert list(Ticket.objects.filter(wanted).values_list("pk", flat=True)) == [world["late"].pk]


def test_priority_order_is_urgent_first_then_due_soonest(client, agent, customer, world):
    soon = make_ticket(by=customer, subject="High, due soon", priority="high")
    Ticket.objects.filter(pk=soon.pk).update(sla_due_at=timezone.now() + timedelta(minutes=5))
    later = make_ticket(by=customer, subject="High, due later", priority="high")
    Ticket.objects.filter(pk=later.pk).update(sla_due_at=timezone.now() + timedelta(days=2))
    ordered = list(
        queue.ordered(
            Ticket.objects.filter(queue.view_filter("all", agent, now=timezone.now())), "priority"
        ).values_list("priority", "pk")
    )
    ranks = [["urgent", "high", "medium", "low"].index(priority) for priority, _ in ordered]
    assert ranks == sorted(ranks)
    pks = [pk for _, pk in ordered]
    assert pks.index(world["late"].pk) < pks.index(soon.pk) < pks.index(later.pk)


def test_the_finished_view_offers_no_clock_orders(client, agent, world):
    Ticket.objects.filter(pk=world["mine"].pk).update(status=Status.CLOSED)
    client.force_login(agent)
    page = _page(client, "view=done&sort=due")  # not offered there: falls back to its default
    assert world["mine"].number in page
    offered = page[page.index('id="sort"') :].split("</select>")[0]
    assert "Oldest" in offered and "SLA due" not in offered and "Priority" not in offered
    assert list(queue.sorts_for("done")) == ["updated", "newest", "oldest"]
    assert next(iter(queue.sorts_for("all"))) == "due"
    all_view = _page(client, "view=all")
    assert "Priority" in all_view[all_view.index('id="sort"') :].split("</select>")[0]
