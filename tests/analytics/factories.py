"""Generated support history for the analytics tests: tickets made through the services under a
frozen clock, with replies, pauses (waiting on the customer), reopens, merges, cancellations,
ratings, escalations and tickets that cross midnight."""

import datetime as dt
import random
from contextlib import contextmanager
from unittest import mock

from django.utils import timezone

from core.roles import Role
from support import services
from support.models.choices import Channel, Priority
from support.services.escalation import escalate_ticket

from ..factories import UserFactory
from ..support.factories import CategoryFactory, TeamFactory, make_default_sla_policies


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


@contextmanager
def frozen(at):
    clock = Clock(at)
    with mock.patch.object(timezone, "now", clock):
        yield clock


class World:
    """Two teams of agents, a lead, customers, categories and the default SLA policies."""

    def __init__(self):
        make_default_sla_policies()
        self.lead = UserFactory(roles=[Role.SUPPORT_LEAD], full_name="Lee Lead")
        self.agents = [UserFactory(roles=[Role.AGENT], full_name=f"Agent {i}") for i in range(4)]
        self.teams = [
            TeamFactory(name="Billing desk", slug="billing-desk", members=self.agents[:2]),
            TeamFactory(name="Tech desk", slug="tech-desk", members=self.agents[2:]),
        ]
        self.customers = [UserFactory(roles=[Role.CUSTOMER]) for _ in range(5)]
        self.categories = [CategoryFactory(slug="billing"), CategoryFactory(slug="technical")]


def ticket(
    world, *, customer=None, team=0, priority=Priority.MEDIUM, channel=Channel.WEB, category=0
):
    return services.create_ticket(
        by=world.lead,
        subject="Export never finishes",
        description="<p>It spins.</p>",
        customer=customer or world.customers[0],
        team=world.teams[team] if team is not None else None,
        priority=priority,
        channel=channel,
        category=world.categories[category] if category is not None else None,
    )


def assign(world, t, agent):
    return services.assign_ticket(ticket=t, agent=agent, by=world.lead)


def reply(t, by, body="Looking into it"):
    return services.add_message(ticket=t, by=by, body=body)


def generate(world, *, rng: random.Random, start: dt.datetime, count: int, after_each=None):
    """`count` tickets from `start`, each lived to its end before the next one is opened.

    Returns the moment after the last. `after_each(clock)` runs between tickets (the
    incremental job, in the tests that compare it with a rebuild).
    """
    at = start
    made = []
    with frozen(at) as clock:
        for _ in range(count):
            # Opened at any hour: many lives cross midnight in one zone or the other.
            at = at + dt.timedelta(minutes=rng.randint(20, 400))
            clock.at = at
            team = rng.choice([0, 1, None])
            customer = rng.choice(world.customers)
            t = ticket(
                world,
                customer=customer,
                team=team,
                priority=rng.choice(list(Priority)),
                channel=rng.choice(list(Channel)),
                category=rng.choice([0, 1, None]),
            )
            members = world.agents[:2] if team == 0 else world.agents[2:] if team == 1 else []
            agent = rng.choice(members or world.agents[:1])
            fate = rng.random()
            moment = at

            def later(low, high):
                nonlocal moment
                moment = moment + dt.timedelta(minutes=rng.uniform(low, high))
                clock.at = moment

            if fate < 0.1:
                later(1, 100)
                services.cancel_ticket(ticket=t, by=world.lead)
            elif fate < 0.2 and made:
                later(1, 60)
                target = next((m for m in reversed(made) if m.customer_id == customer.pk), None)
                t.refresh_from_db()
                if target is not None:
                    target.refresh_from_db()
                if target is not None and target.status not in ("closed", "cancelled"):
                    services.merge_tickets(source=t, target=target, by=world.lead)
            else:
                if team is not None:
                    later(0, 30)
                    assign(world, t, agent)
                if rng.random() < 0.85:
                    later(0.5, 400)
                    reply(t, agent)
                if rng.random() < 0.3:
                    later(1, 200)
                    services.wait_on_customer(ticket=t, by=agent)
                    later(10, 900)
                    reply(t, customer, "Here is the log")
                if rng.random() < 0.15:
                    later(1, 60)
                    escalate_ticket(ticket=t, by=world.lead, reason="Customer is waiting")
                if rng.random() < 0.75:
                    later(5, 3000)
                    if rng.random() < 0.3:
                        reply(t, agent, "A second answer")
                    services.resolve_ticket(ticket=t, by=agent)
                    if rng.random() < 0.25:
                        later(30, 900)
                        services.reopen_ticket(ticket=t, by=agent)
                        later(5, 600)
                        reply(t, agent, "Fixed for good")
                        services.resolve_ticket(ticket=t, by=agent)
                    if rng.random() < 0.6:
                        later(10, 2000)
                        services.rate_ticket(
                            ticket=t,
                            by=customer,
                            rating=rng.randint(1, 5),
                            nps_score=rng.choice([None, *range(11)]),
                        )
            made.append(t)
            at = max(at, moment)
            if after_each is not None:
                after_each(clock)
    return at + dt.timedelta(minutes=1)
