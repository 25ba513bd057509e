"""Assignment: manual assign/unassign, claiming, the teams' strategies, and their concurrency."""

from collections import Counter

import pytest
from django.db import connection

from core.errors import Conflict, DomainError, NotAllowed
from core.models import Notification, OutboxMessage
from core.roles import Role
from support.models import AgentProfile, AgentProfileEvent, Team, Ticket, TicketEvent
from support.models.choices import ACTIVE_STATUSES, AgentStatus, AssignmentStrategy, Status
from support.services import (
    assign_ticket,
    auto_assign,
    change_status,
    claim_ticket,
    unassign_ticket,
    update_agent_profile,
)
from tests.concurrency import assert_outcomes, run_concurrently
from tests.factories import UserFactory

from .factories import AgentProfileFactory, CategoryFactory, TeamFactory, make_ticket

Kind = TicketEvent.Kind


def make_agent(**profile):
    user = UserFactory(roles=[Role.AGENT])
    AgentProfileFactory(user=user, **profile)
    return user


def make_team(strategy, members, **kwargs):
    return TeamFactory(strategy=strategy, members=members, **kwargs)


def load_of(user) -> int:
    return Ticket.objects.filter(assigned_to=user, status__in=ACTIVE_STATUSES).count()


def give_tickets(agent, count, *, by):
    """`count` active tickets already on `agent`, outside any team."""
    for _ in range(count):
        assign_ticket(ticket=make_ticket(by=by, customer_email="c@example.com"), agent=agent, by=by)


# --- manual assignment --------------------------------------------------------------------


@pytest.mark.django_db
class TestManualAssignment:
    def test_assign_records_the_event_moves_to_assigned_and_notifies_the_agent(self, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        assert ticket.status == Status.OPEN

        assign_ticket(ticket=ticket, agent=agent, by=lead, note="Billing expert")

        ticket.refresh_from_db()
        assert ticket.assigned_to == agent
        assert ticket.status == Status.ASSIGNED
        event = ticket.events.get(kind=Kind.ASSIGNED)
        assert event.actor == lead
        assert event.before == {"assigned_to": None}
        assert event.after == {"assigned_to": agent.pk}
        assert event.note == "Billing expert"
        assert ticket.events.filter(
            kind=Kind.STATUS_CHANGED, after={"status": Status.ASSIGNED}
        ).exists()
        prefix = f"ticket:{ticket.pk}:assigned:"
        email = OutboxMessage.objects.get(key__startswith=prefix, channel="email")
        assert email.recipient == agent.email
        assert email.recipient_user == agent
        assert OutboxMessage.objects.filter(
            key__startswith=prefix, channel="in_app", recipient_user=agent
        ).exists()

    def test_unassign_records_the_event_and_reopens(self, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        assign_ticket(ticket=ticket, agent=agent, by=lead)

        unassign_ticket(ticket=ticket, by=lead, note="Out sick")

        ticket.refresh_from_db()
        assert ticket.assigned_to is None
        assert ticket.status == Status.OPEN
        event = ticket.events.get(kind=Kind.UNASSIGNED)
        assert event.actor == lead
        assert event.before == {"assigned_to": agent.pk}
        assert event.after == {"assigned_to": None}
        assert event.note == "Out sick"

    def test_unassign_of_a_ticket_in_progress_keeps_its_status(self, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        assign_ticket(ticket=ticket, agent=agent, by=lead)
        change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)

        unassign_ticket(ticket=ticket, by=lead, note="Handover")

        ticket.refresh_from_db()
        assert ticket.assigned_to is None
        assert ticket.status == Status.IN_PROGRESS
        event = ticket.events.get(kind=Kind.UNASSIGNED)
        assert (event.before, event.after) == ({"assigned_to": agent.pk}, {"assigned_to": None})

    def test_assigning_oneself_notifies_nobody(self, agent):
        ticket = make_ticket(by=agent, customer_email="c@example.com")

        assign_ticket(ticket=ticket, agent=agent, by=agent)

        ticket.refresh_from_db()
        assert ticket.assigned_to == agent
        assert not OutboxMessage.objects.filter(key__contains=":assigned:").exists()
        assert not Notification.objects.filter(recipient=agent).exists()

    def test_an_agent_assigns_to_a_team_member_but_not_to_an_outsider(self, agent, lead):
        colleague, outsider = make_agent(), make_agent()
        team = make_team(AssignmentStrategy.MANUAL, [agent, colleague])
        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        with pytest.raises(DomainError) as refused:  # answered like an id that does not exist
            assign_ticket(ticket=ticket, agent=outsider, by=agent)
        assert refused.value.code == "does_not_exist"
        assign_ticket(ticket=ticket, agent=colleague, by=agent)

        ticket.refresh_from_db()
        assert ticket.assigned_to == colleague

    def test_a_lead_assigns_to_anyone(self, lead):
        outsider = make_agent()
        team = make_team(AssignmentStrategy.MANUAL, [make_agent()])
        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assign_ticket(ticket=ticket, agent=outsider, by=lead)

        assert Ticket.objects.get(pk=ticket.pk).assigned_to == outsider

    def test_assigning_to_a_customer_is_refused(self, lead, customer):
        ticket = make_ticket(by=lead, customer_email="c@example.com")

        with pytest.raises(DomainError) as refused:
            assign_ticket(ticket=ticket, agent=customer, by=lead)

        assert refused.value.status_code == 400
        assert Ticket.objects.get(pk=ticket.pk).assigned_to is None

    def test_a_customer_cannot_assign(self, customer, agent):
        ticket = make_ticket(by=customer)
        with pytest.raises(NotAllowed):
            assign_ticket(ticket=ticket, agent=agent, by=customer)

    def test_assigning_a_closed_ticket_is_a_conflict(self, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        change_status(ticket=ticket, to=Status.RESOLVED, by=lead)
        change_status(ticket=ticket, to=Status.CLOSED, by=lead)

        with pytest.raises(Conflict) as refused:
            assign_ticket(ticket=ticket, agent=agent, by=lead)

        assert refused.value.status_code == 409

    def test_assign_api_returns_409_for_a_closed_ticket(self, api_client, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        change_status(ticket=ticket, to=Status.CANCELLED, by=lead)
        api_client.force_authenticate(lead)

        response = api_client.post(
            f"/api/v1/support/tickets/{ticket.pk}/assign/", {"agent": agent.pk}, format="json"
        )

        assert response.status_code == 409, response.content

    def test_assign_api_assigns_and_unassigns(self, api_client, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        api_client.force_authenticate(lead)
        url = f"/api/v1/support/tickets/{ticket.pk}/assign/"

        assert api_client.post(url, {"agent": agent.pk}, format="json").status_code == 200
        assert Ticket.objects.get(pk=ticket.pk).assigned_to == agent
        assert api_client.post(url, {"agent": None}, format="json").status_code == 200
        ticket.refresh_from_db()
        assert (ticket.assigned_to, ticket.status) == (None, Status.OPEN)

    def test_reassigning_to_the_same_agent_changes_nothing(self, lead, agent):
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        assign_ticket(ticket=ticket, agent=agent, by=lead)
        assign_ticket(ticket=ticket, agent=agent, by=lead)
        assert ticket.events.filter(kind=Kind.ASSIGNED).count() == 1


# --- claiming -----------------------------------------------------------------------------


@pytest.mark.django_db
class TestClaim:
    def test_an_unassigned_ticket_is_claimed(self, agent, lead):
        ticket = make_ticket(by=lead, customer_email="c@example.com")

        claim_ticket(ticket=ticket, by=agent)

        ticket.refresh_from_db()
        assert (ticket.assigned_to, ticket.status) == (agent, Status.ASSIGNED)
        assert not OutboxMessage.objects.filter(key__contains=":assigned:").exists()

    def test_the_second_claimer_gets_a_conflict(self, agent, lead):
        other = make_agent()
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        claim_ticket(ticket=ticket, by=agent)

        with pytest.raises(Conflict):
            claim_ticket(ticket=ticket, by=other)
        claim_ticket(ticket=ticket, by=agent)  # claiming one's own ticket again is a no-op

        assert Ticket.objects.get(pk=ticket.pk).assigned_to == agent

    def test_claim_api_returns_409_to_the_second_claimer(self, api_client, agent, lead):
        other = make_agent()
        ticket = make_ticket(by=lead, customer_email="c@example.com")
        url = f"/api/v1/support/tickets/{ticket.pk}/claim/"

        api_client.force_authenticate(agent)
        assert api_client.post(url).status_code == 200
        api_client.force_authenticate(other)
        response = api_client.post(url)

        assert response.status_code == 409, response.content
        assert response.json()["code"] == "already_assigned"

    def test_a_customer_cannot_claim(self, api_client, customer):
        ticket = make_ticket(by=customer)
        api_client.force_authenticate(customer)
        response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/claim/")
        assert response.status_code in (403, 404)
        assert Ticket.objects.get(pk=ticket.pk).assigned_to is None


# --- strategies ---------------------------------------------------------------------------


@pytest.mark.django_db
class TestStrategies:
    def test_round_robin_cycles_the_members_in_order_and_wraps(self, lead):
        agents = sorted([make_agent(), make_agent(), make_agent()], key=lambda u: u.pk)
        team = make_team(AssignmentStrategy.ROUND_ROBIN, agents)

        got = [
            make_ticket(by=lead, customer_email="c@example.com", team=team).assigned_to
            for _ in range(7)
        ]

        assert got == [*agents, *agents, agents[0]]
        team.refresh_from_db()
        assert team.last_assigned_to == agents[0]

    def test_round_robin_skips_the_unavailable_and_the_full(self, lead):
        first = make_agent()
        away = make_agent(status=AgentStatus.AWAY)
        full = make_agent(capacity=1)
        last = make_agent()
        give_tickets(full, 1, by=lead)
        team = make_team(AssignmentStrategy.ROUND_ROBIN, [last, full, away, first])

        got = [
            make_ticket(by=lead, customer_email="c@example.com", team=team).assigned_to
            for _ in range(4)
        ]

        assert got == [first, last, first, last]

    def test_least_loaded_picks_the_member_with_fewest_active_tickets(self, lead):
        busy, idle, medium = make_agent(), make_agent(), make_agent()
        give_tickets(busy, 3, by=lead)
        give_tickets(medium, 1, by=lead)
        # A resolved ticket is no load.
        done = make_ticket(by=lead, customer_email="c@example.com")
        assign_ticket(ticket=done, agent=idle, by=lead)
        change_status(ticket=done, to=Status.RESOLVED, by=lead)
        team = make_team(AssignmentStrategy.LEAST_LOADED, [busy, idle, medium])

        first = make_ticket(by=lead, customer_email="c@example.com", team=team)
        second = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assert first.assigned_to == idle
        assert first.status == Status.ASSIGNED
        assert {second.assigned_to} <= {idle, medium}  # both at 1 now; the lower id wins
        assert second.assigned_to == min([idle, medium], key=lambda u: u.pk)

    def test_skill_based_prefers_skilled_agents(self, lead):
        billing = CategoryFactory(slug="billing")
        skilled, unskilled = make_agent(), make_agent()
        AgentProfile.objects.get(user=skilled).skills.add(billing)
        give_tickets(skilled, 2, by=lead)  # busier, but the only one who knows billing
        team = make_team(AssignmentStrategy.SKILL_BASED, [skilled, unskilled])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team, category=billing)

        assert ticket.assigned_to == skilled

    def test_skill_based_falls_back_to_least_loaded(self, lead):
        billing, security = CategoryFactory(slug="billing"), CategoryFactory(slug="security")
        skilled, busy, idle = make_agent(), make_agent(), make_agent()
        AgentProfile.objects.get(user=skilled).skills.add(billing)
        give_tickets(skilled, 2, by=lead)
        give_tickets(busy, 1, by=lead)
        team = make_team(AssignmentStrategy.SKILL_BASED, [skilled, busy, idle])

        nobody_skilled = make_ticket(
            by=lead, customer_email="c@example.com", team=team, category=security
        )
        no_category = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assert nobody_skilled.assigned_to == idle
        assert no_category.assigned_to in {idle, busy}  # idle has 1 now, busy 1: lower id
        assert no_category.assigned_to == min([idle, busy], key=lambda u: u.pk)

    def test_skill_based_skips_a_skilled_agent_who_is_away(self, lead):
        billing = CategoryFactory(slug="billing")
        skilled_away = make_agent(status=AgentStatus.AWAY)
        other = make_agent()
        AgentProfile.objects.get(user=skilled_away).skills.add(billing)
        team = make_team(AssignmentStrategy.SKILL_BASED, [skilled_away, other])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team, category=billing)

        assert ticket.assigned_to == other

    @pytest.mark.parametrize("status", [AgentStatus.AWAY, AgentStatus.OFFLINE])
    def test_away_and_offline_agents_are_skipped(self, lead, status):
        absent, present = make_agent(status=status), make_agent()
        team = make_team(AssignmentStrategy.LEAST_LOADED, [absent, present])

        tickets = [
            make_ticket(by=lead, customer_email="c@example.com", team=team) for _ in range(3)
        ]

        assert {t.assigned_to for t in tickets} == {present}

    def test_agents_at_capacity_are_skipped(self, lead):
        full, roomy = make_agent(capacity=2), make_agent(capacity=5)
        team = make_team(AssignmentStrategy.LEAST_LOADED, [full, roomy])
        give_tickets(full, 2, by=lead)
        give_tickets(roomy, 3, by=lead)

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assert ticket.assigned_to == roomy

    def test_nobody_eligible_leaves_the_ticket_open(self, lead):
        full, away = make_agent(capacity=1), make_agent(status=AgentStatus.OFFLINE)
        give_tickets(full, 1, by=lead)
        team = make_team(AssignmentStrategy.ROUND_ROBIN, [full, away])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        ticket.refresh_from_db()
        assert (ticket.assigned_to, ticket.status) == (None, Status.OPEN)
        assert not ticket.events.filter(kind=Kind.ASSIGNED).exists()

    def test_a_team_without_members_leaves_the_ticket_open(self, lead):
        team = make_team(AssignmentStrategy.LEAST_LOADED, [])
        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)
        assert Ticket.objects.get(pk=ticket.pk).assigned_to is None

    def test_a_manual_team_assigns_nobody(self, lead):
        team = make_team(AssignmentStrategy.MANUAL, [make_agent()])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assert Ticket.objects.get(pk=ticket.pk).assigned_to is None
        assert auto_assign(ticket=ticket) is None

    def test_a_customer_member_of_a_team_is_never_picked(self, lead, customer):
        agent = make_agent()
        team = make_team(AssignmentStrategy.ROUND_ROBIN, [customer, agent])

        tickets = [
            make_ticket(by=lead, customer_email="c@example.com", team=team) for _ in range(2)
        ]

        assert {t.assigned_to for t in tickets} == {agent}
        assert not AgentProfile.objects.filter(user=customer).exists()

    def test_a_member_without_a_profile_gets_the_default_one(self, lead):
        bare = UserFactory(roles=[Role.AGENT])
        team = make_team(AssignmentStrategy.LEAST_LOADED, [bare])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)

        assert ticket.assigned_to == bare
        assert AgentProfile.objects.get(user=bare).status == AgentStatus.AVAILABLE

    def test_auto_assignment_notifies_the_agent_and_is_idempotent(self, lead):
        agent = make_agent()
        team = make_team(AssignmentStrategy.LEAST_LOADED, [agent])

        ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)
        assert auto_assign(ticket=ticket) == agent

        event = ticket.events.get(kind=Kind.ASSIGNED)
        assert event.actor is None
        assert "Least loaded" in event.note
        assert OutboxMessage.objects.filter(
            key=f"ticket:{ticket.pk}:assigned:{event.pk}:email", recipient=agent.email
        ).exists()

    def test_routing_by_category_reaches_the_team_and_assigns(self, customer):
        billing = CategoryFactory(slug="billing")
        agent = make_agent()
        team = make_team(AssignmentStrategy.ROUND_ROBIN, [agent])
        team.categories.add(billing)

        ticket = make_ticket(by=customer, category=billing)

        assert (ticket.team, ticket.assigned_to) == (team, agent)


# --- the agents endpoint ------------------------------------------------------------------


@pytest.mark.django_db
class TestAgentsEndpoint:
    url = "/api/v1/support/agents/"

    def test_lists_status_capacity_and_active_tickets(self, api_client, agent, lead):
        AgentProfileFactory(user=agent, capacity=7)
        give_tickets(agent, 2, by=lead)
        api_client.force_authenticate(agent)

        response = api_client.get(self.url)

        assert response.status_code == 200
        rows = response.json()
        rows = rows.get("results", rows) if isinstance(rows, dict) else rows
        mine = next(row for row in rows if row["id"] == agent.pk)
        assert mine["status"] == AgentStatus.AVAILABLE
        assert mine["capacity"] == 7
        assert mine["active_tickets"] == 2

    def test_customers_may_not_list_agents(self, api_client, customer):
        api_client.force_authenticate(customer)
        assert api_client.get(self.url).status_code == 403

    def test_an_agent_changes_their_own_status(self, api_client, agent):
        AgentProfileFactory(user=agent)
        api_client.force_authenticate(agent)

        response = api_client.patch(f"{self.url}{agent.pk}/", {"status": "away"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "away"
        assert AgentProfile.objects.get(user=agent).status == AgentStatus.AWAY

    def test_an_agent_may_not_change_another_agents_status(self, api_client, agent):
        other = make_agent()
        AgentProfileFactory(user=agent)
        api_client.force_authenticate(agent)

        response = api_client.patch(f"{self.url}{other.pk}/", {"status": "away"}, format="json")

        assert response.status_code == 403
        assert AgentProfile.objects.get(user=other).status == AgentStatus.AVAILABLE

    def test_an_agent_may_not_change_their_own_capacity(self, api_client, agent):
        AgentProfileFactory(user=agent, capacity=5)
        api_client.force_authenticate(agent)

        response = api_client.patch(f"{self.url}{agent.pk}/", {"capacity": 50}, format="json")

        assert response.status_code == 403
        assert AgentProfile.objects.get(user=agent).capacity == 5

    def test_a_lead_changes_capacity_and_skills(self, api_client, agent, lead):
        CategoryFactory(slug="billing")
        CategoryFactory(slug="security")
        AgentProfileFactory(user=agent, capacity=5)
        api_client.force_authenticate(lead)

        response = api_client.patch(
            f"{self.url}{agent.pk}/",
            {"capacity": 9, "skills": ["billing", "security"]},
            format="json",
        )

        assert response.status_code == 200, response.content
        assert response.json()["capacity"] == 9
        assert sorted(response.json()["skills"]) == ["billing", "security"]
        profile = AgentProfile.objects.get(user=agent)
        assert profile.capacity == 9
        assert sorted(profile.skills.values_list("slug", flat=True)) == ["billing", "security"]
        [event] = AgentProfileEvent.objects.filter(profile=profile)
        assert (event.actor, event.before, event.after) == (
            lead,
            {"capacity": 5, "skills": []},
            {"capacity": 9, "skills": ["billing", "security"]},
        )

    def test_a_lead_changes_the_chat_settings_and_it_is_recorded(self, api_client, agent, lead):
        AgentProfileFactory(user=agent, max_concurrent_chats=3)
        api_client.force_authenticate(lead)

        response = api_client.patch(
            f"{self.url}{agent.pk}/",
            {"chat_enabled": False, "max_concurrent_chats": 7},
            format="json",
        )

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["chat_enabled"], body["max_concurrent_chats"]) == (False, 7)
        profile = AgentProfile.objects.get(user=agent)
        assert (profile.chat_enabled, profile.max_concurrent_chats) == (False, 7)
        [event] = AgentProfileEvent.objects.filter(profile=profile)
        assert event.kind == AgentProfileEvent.Kind.CHANGED
        assert event.actor == lead
        assert event.before == {"chat_enabled": True, "max_concurrent_chats": 3}
        assert event.after == {"chat_enabled": False, "max_concurrent_chats": 7}

    @pytest.mark.parametrize("field", ["chat_enabled", "max_concurrent_chats"])
    def test_an_agent_may_not_change_their_own_chat_settings(self, api_client, agent, field):
        AgentProfileFactory(user=agent, max_concurrent_chats=3)
        api_client.force_authenticate(agent)
        value = {"chat_enabled": False, "max_concurrent_chats": 10}[field]

        response = api_client.patch(f"{self.url}{agent.pk}/", {field: value}, format="json")

        assert response.status_code == 403
        profile = AgentProfile.objects.get(user=agent)
        assert (profile.chat_enabled, profile.max_concurrent_chats) == (True, 3)
        assert not AgentProfileEvent.objects.exists()

    @pytest.mark.parametrize("value", [-1, 51, "many", None])
    def test_a_bad_maximum_is_refused_and_changes_nothing(self, api_client, agent, lead, value):
        AgentProfileFactory(user=agent, max_concurrent_chats=3)
        api_client.force_authenticate(lead)

        response = api_client.patch(
            f"{self.url}{agent.pk}/",
            {"status": "away", "max_concurrent_chats": value},
            format="json",
        )

        assert response.status_code == 400, response.content
        assert "max_concurrent_chats" in str(response.json())
        profile = AgentProfile.objects.get(user=agent)
        assert (profile.status, profile.max_concurrent_chats) == (AgentStatus.AVAILABLE, 3)
        assert not AgentProfileEvent.objects.exists()

    @pytest.mark.parametrize("value", [0, 50])
    def test_the_maximum_may_be_zero_to_fifty(self, api_client, agent, lead, value):
        AgentProfileFactory(user=agent, max_concurrent_chats=3)
        api_client.force_authenticate(lead)

        response = api_client.patch(
            f"{self.url}{agent.pk}/", {"max_concurrent_chats": value}, format="json"
        )

        assert response.status_code == 200, response.content
        assert AgentProfile.objects.get(user=agent).max_concurrent_chats == value


@pytest.mark.django_db
class TestUpdateAgentProfile:
    """The service itself, as the admin, the desk and the API call it."""

    def test_an_agents_own_availability_change_is_recorded(self, agent):
        profile = AgentProfileFactory(user=agent)

        update_agent_profile(profile=profile, by=agent, status=AgentStatus.AWAY)

        [event] = AgentProfileEvent.objects.filter(profile=profile)
        assert (event.actor, event.before, event.after) == (
            agent,
            {"status": "available"},
            {"status": "away"},
        )

    def test_a_change_to_the_same_values_records_nothing(self, lead, agent):
        profile = AgentProfileFactory(user=agent, max_concurrent_chats=3)

        update_agent_profile(profile=profile, by=lead, max_concurrent_chats=3, chat_enabled=True)

        assert not AgentProfileEvent.objects.exists()

    @pytest.mark.parametrize(
        "changes",
        [
            {"max_concurrent_chats": 51},
            {"max_concurrent_chats": -1},
            {"max_concurrent_chats": True},
            {"max_concurrent_chats": "3"},
            {"chat_enabled": "yes"},
            {"status": "asleep"},
        ],
    )
    def test_bad_values_are_refused_before_anything_is_written(self, lead, agent, changes):
        profile = AgentProfileFactory(user=agent, capacity=5)

        with pytest.raises(DomainError) as refused:
            update_agent_profile(profile=profile, by=lead, capacity=9, **changes)

        assert set(refused.value.errors) == set(changes)
        stored = AgentProfile.objects.get(pk=profile.pk)
        assert (stored.capacity, stored.status) == (5, AgentStatus.AVAILABLE)
        assert not AgentProfileEvent.objects.exists()

    def test_only_leads_change_chat_settings(self, agent):
        other = make_agent()
        profile = AgentProfile.objects.get(user=other)

        with pytest.raises(NotAllowed):
            update_agent_profile(profile=profile, by=agent, chat_enabled=False)
        assert AgentProfile.objects.get(pk=profile.pk).chat_enabled is True


# --- concurrency (real PostgreSQL transactions in threads) ---------------------------------


def _open_tickets_for(team, count, *, by):
    """Tickets of `team` created while it was manual, so the threads assign them."""
    strategy = team.strategy
    Team.objects.filter(pk=team.pk).update(strategy=AssignmentStrategy.MANUAL)
    tickets = [make_ticket(by=by, customer_email="c@example.com", team=team) for _ in range(count)]
    Team.objects.filter(pk=team.pk).update(strategy=strategy)
    return tickets


def _auto_assign_by_id(ticket_id):
    agent = auto_assign(ticket=Ticket.objects.get(pk=ticket_id))
    return agent.pk if agent else None


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_concurrent_creation_never_exceeds_capacity(self, lead):
        assert connection.vendor == "postgresql"
        agents = [make_agent(capacity=3) for _ in range(3)]
        team = make_team(AssignmentStrategy.LEAST_LOADED, agents)

        def create(_):
            ticket = make_ticket(by=lead, customer_email="c@example.com", team=team)
            return ticket.assigned_to_id

        results = assert_outcomes(run_concurrently(create, [(i,) for i in range(12)]), succeeded=12)
        loads = Counter(pk for pk in results if pk)
        assert all(loads[a.pk] == 3 for a in agents), loads  # filled up, never over
        assert results.count(None) == 3
        assert Ticket.objects.filter(team=team, assigned_to__isnull=True).count() == 3
        assert all(load_of(a) <= 3 for a in agents)

    def test_concurrent_auto_assignment_never_exceeds_capacity(self, lead):
        agents = [make_agent(capacity=2), make_agent(capacity=4), make_agent(capacity=1)]
        team = make_team(AssignmentStrategy.LEAST_LOADED, agents)
        tickets = _open_tickets_for(team, 10, by=lead)

        results = assert_outcomes(
            run_concurrently(_auto_assign_by_id, [(t.pk,) for t in tickets]), succeeded=10
        )
        assert {a.pk: load_of(a) for a in agents} == {
            agents[0].pk: 2,
            agents[1].pk: 4,
            agents[2].pk: 1,
        }
        assert results.count(None) == 3

    def test_round_robin_under_concurrency_is_even(self, lead):
        """The team row lock serialises the pointer: each member gets exactly N / members."""
        agents = [make_agent() for _ in range(3)]
        team = make_team(AssignmentStrategy.ROUND_ROBIN, agents)
        tickets = _open_tickets_for(team, 12, by=lead)

        results = assert_outcomes(
            run_concurrently(_auto_assign_by_id, [(t.pk,) for t in tickets]), succeeded=12
        )
        assert Counter(results) == {a.pk: 4 for a in agents}

    def test_round_robin_under_concurrent_creation_is_even(self, lead):
        agents = [make_agent() for _ in range(4)]
        team = make_team(AssignmentStrategy.ROUND_ROBIN, agents)

        def create(_):
            return make_ticket(by=lead, customer_email="c@example.com", team=team).assigned_to_id

        results = assert_outcomes(run_concurrently(create, [(i,) for i in range(12)]), succeeded=12)
        assert Counter(results) == {a.pk: 3 for a in agents}

    def test_two_agents_claiming_at_once_one_wins(self, lead):
        first, second = make_agent(), make_agent()
        for _ in range(5):  # a few rounds: the race is decided differently each time
            ticket = make_ticket(by=lead, customer_email="c@example.com")

            def claim(agent_id, ticket_id=ticket.pk):
                from core.models import User

                claim_ticket(ticket=Ticket(pk=ticket_id), by=User.objects.get(pk=agent_id))
                return agent_id

            outcomes = run_concurrently(claim, [(first.pk,), (second.pk,)])

            [winner] = assert_outcomes(outcomes, succeeded=1, failed={Conflict: 1})
            ticket.refresh_from_db()
            assert ticket.assigned_to_id == winner
            assert ticket.events.filter(kind=Kind.ASSIGNED).count() == 1

    def test_an_agent_in_two_teams_is_not_overfilled_from_both(self, lead):
        shared = make_agent(capacity=3)
        # The other members are away: every assignment competes for the shared agent.
        team_a = make_team(
            AssignmentStrategy.LEAST_LOADED, [shared, make_agent(status=AgentStatus.AWAY)]
        )
        team_b = make_team(
            AssignmentStrategy.ROUND_ROBIN, [make_agent(status=AgentStatus.OFFLINE), shared]
        )
        tickets = _open_tickets_for(team_a, 8, by=lead) + _open_tickets_for(team_b, 8, by=lead)

        results = assert_outcomes(
            run_concurrently(_auto_assign_by_id, [(t.pk,) for t in tickets]), succeeded=16
        )
        assert load_of(shared) == 3
        assert Counter(results) == {shared.pk: 3, None: 13}

    def test_teams_sharing_agents_do_not_deadlock(self, lead):
        """Overlapping member sets, locked in id order from both sides, with fresh profiles."""
        one, two, three = (UserFactory(roles=[Role.AGENT]) for _ in range(3))
        team_a = make_team(AssignmentStrategy.LEAST_LOADED, [one, two, three])
        team_b = make_team(AssignmentStrategy.LEAST_LOADED, [three, two, one])
        tickets = _open_tickets_for(team_a, 6, by=lead) + _open_tickets_for(team_b, 6, by=lead)

        results = assert_outcomes(
            run_concurrently(_auto_assign_by_id, [(t.pk,) for t in tickets]), succeeded=12
        )
        assert Counter(results) == {one.pk: 4, two.pk: 4, three.pk: 4}
        assert AgentProfile.objects.filter(user__in=[one, two, three]).count() == 3


# --- assignment after commit ----------------------------------------------------------------


@pytest.mark.django_db
def test_creation_enqueues_assignment_after_commit(lead, django_capture_on_commit_callbacks):
    from unittest import mock

    from support.services import create_ticket

    agent = make_agent()
    team = make_team(AssignmentStrategy.LEAST_LOADED, [agent])
    with mock.patch("support.tasks.auto_assign_ticket.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = create_ticket(by=lead, subject="x", customer_email="c@example.com", team=team)
        assert ticket.assigned_to is None  # nothing is assigned inside the creating transaction
    publish.assert_called_once_with(args=[ticket.pk], kwargs={})


@pytest.mark.django_db
def test_the_sweep_assigns_tickets_whose_task_was_lost(lead):
    import datetime as dt

    from django.utils import timezone

    from support.services import assign_waiting, create_ticket

    agent = make_agent()
    team = make_team(AssignmentStrategy.ROUND_ROBIN, [agent])
    ticket = create_ticket(by=lead, subject="x", customer_email="c@example.com", team=team)
    assert assign_waiting() == 0  # still within its own task's grace period
    assert assign_waiting(now=timezone.now() + dt.timedelta(minutes=2)) == 1
    ticket.refresh_from_db()
    assert ticket.assigned_to == agent


@pytest.mark.django_db
def test_the_sweep_looks_at_a_full_team_once_however_long_its_backlog(
    lead, django_assert_max_num_queries
):
    import datetime as dt

    from django.utils import timezone

    from support.services import assign_waiting, create_ticket

    busy = make_agent(capacity=1)
    free = make_agent(capacity=5)
    full_team = make_team(AssignmentStrategy.LEAST_LOADED, [busy])
    open_team = make_team(AssignmentStrategy.LEAST_LOADED, [free])
    give_tickets(busy, 1, by=lead)

    def waiting(team, count):
        return [
            create_ticket(
                by=lead, subject=f"{team.slug} {n}", customer_email="c@example.com", team=team
            )
            for n in range(count)
        ]

    # The full team's backlog is older and longer than a whole run's batch.
    backlog = waiting(full_team, 12)
    later = timezone.now() + dt.timedelta(minutes=2)
    with django_assert_max_num_queries(20):  # one attempt on the full team, not twelve
        assert assign_waiting(now=later, batch_size=10) == 0
    assert not Ticket.objects.filter(pk__in=[t.pk for t in backlog], assigned_to__isnull=False)

    newer = waiting(open_team, 3)
    assert assign_waiting(now=later + dt.timedelta(minutes=1), batch_size=10) == 3
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in newer]).values_list("assigned_to", flat=True)
    ) == {free.pk}
    assert not Ticket.objects.filter(pk__in=[t.pk for t in backlog], assigned_to__isnull=False)


@pytest.mark.django_db
def test_the_sweep_gives_what_one_team_cannot_use_to_the_others(lead):
    import datetime as dt

    from django.utils import timezone

    from support.services import assign_waiting, create_ticket

    free = make_agent(capacity=10)
    busy_team = make_team(AssignmentStrategy.LEAST_LOADED, [free])
    make_team(AssignmentStrategy.LEAST_LOADED, [make_agent(capacity=10)])  # nothing waiting
    for n in range(6):
        create_ticket(by=lead, subject=f"t{n}", customer_email="c@example.com", team=busy_team)
    later = timezone.now() + dt.timedelta(minutes=2)
    # A batch of 4 is 2 per team at first; the idle team's share goes to the busy one.
    assert assign_waiting(now=later, batch_size=4) == 4
    assert Ticket.objects.filter(team=busy_team, assigned_to=free).count() == 4


@pytest.mark.django_db
def test_assignment_by_a_stale_team_leaves_a_moved_ticket_alone(lead):
    from support.services import auto_assign, create_ticket

    old_agent, new_agent = make_agent(), make_agent()
    old_team = make_team(AssignmentStrategy.LEAST_LOADED, [old_agent])
    new_team = make_team(AssignmentStrategy.LEAST_LOADED, [new_agent])
    ticket = create_ticket(by=lead, subject="x", customer_email="c@example.com", team=old_team)
    Ticket.objects.filter(pk=ticket.pk).update(team=new_team)
    assert auto_assign(ticket=Ticket(pk=ticket.pk, team_id=old_team.pk)) is None
    assert Ticket.objects.get(pk=ticket.pk).assigned_to is None
    assert auto_assign(ticket=Ticket(pk=ticket.pk, team_id=new_team.pk)) == new_agent
