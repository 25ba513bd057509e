"""Triggers: conditions, actions, order, stop-processing, the loop guard, errors, rights."""

import pytest

from core.errors import DomainError, NotAllowed
from core.models import Notification, OutboxMessage, WebhookSubscription
from core.models.users import CustomerTier
from core.roles import Role
from support import services
from support.models import Rule, RuleEvent, RuleFiring, Ticket, TicketMessage, TriggerRun
from support.models.choices import Priority, Status
from support.rules import engine
from tests.factories import OrganizationFactory, UserFactory
from tests.support.factories import (
    CategoryFactory,
    ResponseTemplateFactory,
    TeamFactory,
    make_ticket,
)

from .factories import drain, make_trigger

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_shipped_rules(db):
    """The shipped demo rules stay out of these tests' way (they have their own)."""
    Rule.objects.update(enabled=False)
    engine.forget_triggers()


@pytest.fixture
def enterprise_customer(db):
    org = OrganizationFactory(tier=CustomerTier.ENTERPRISE)
    return UserFactory(roles=[Role.CUSTOMER], organization=org)


def touch(ticket, agent):
    """An `updated` event that changes nothing a rule looks at (the subject)."""
    ticket.refresh_from_db()
    services.update_ticket(ticket=ticket, by=agent, subject=ticket.subject + "!")


# --- creation: same transaction ------------------------------------------------------------


def test_p0_for_enterprise_outages_sets_the_priority_and_its_sla_at_creation(
    lead, enterprise_customer
):
    rule = make_trigger(
        by=lead,
        name="P0 for enterprise outages",
        events=["created"],
        conditions=[
            {"field": "tier", "op": "is", "value": "enterprise"},
            {"field": "text", "op": "contains_any", "value": ["outage", "down"]},
        ],
        actions=[
            {"type": "set_priority", "value": "urgent"},
            {"type": "add_tags", "value": ["outage"]},
        ],
    )

    ticket = make_ticket(by=enterprise_customer, subject="Total outage in EU")
    other = make_ticket(by=enterprise_customer, subject="Invoice question")

    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert ticket.sla_policy.priority == Priority.URGENT  # chosen after the rule, same transaction
    assert set(ticket.tags.values_list("name", flat=True)) == {"outage"}
    assert other.priority == Priority.HIGH  # the code default for enterprise, rule not matched
    assert not TriggerRun.objects.exists()  # nothing left for after the commit
    firing = RuleFiring.objects.get(rule=rule)
    assert firing.ticket_id == ticket.pk
    assert firing.effects[0] == {"type": "set_priority", "from": "high", "to": "urgent"}


def test_creation_actions_other_than_fields_run_after_commit(lead, customer, agent):
    template = ResponseTemplateFactory(body="We got {{ ticket.number }}.")
    make_trigger(
        by=lead,
        events=["created"],
        actions=[
            {"type": "set_priority", "value": "low"},
            {"type": "reply_template", "value": template.pk},
        ],
    )

    ticket = make_ticket(by=customer)

    assert ticket.priority == Priority.LOW
    assert not TicketMessage.objects.filter(ticket=ticket).exists()
    assert TriggerRun.objects.filter(ticket=ticket, event="created").count() == 1

    drain()

    reply = TicketMessage.objects.get(ticket=ticket)
    assert reply.body_text == f"We got {ticket.number}."
    assert not reply.is_internal and reply.author == lead


# --- conditions ----------------------------------------------------------------------------


CONDITION_CASES = [
    ({"field": "priority", "op": "is", "value": "medium"}, True),
    ({"field": "priority", "op": "is_not", "value": "medium"}, False),
    ({"field": "priority", "op": "in", "value": ["urgent", "high"]}, False),
    ({"field": "priority", "op": "not_in", "value": ["urgent", "high"]}, True),
    ({"field": "channel", "op": "is", "value": "web"}, True),
    ({"field": "status", "op": "in", "value": ["open", "assigned"]}, True),
    ({"field": "category", "op": "is", "value": "billing"}, True),
    ({"field": "category", "op": "is", "value": "technical"}, False),
    ({"field": "tier", "op": "is", "value": "standard"}, True),
    ({"field": "tier", "op": "is", "value": "enterprise"}, False),
    ({"field": "assigned", "op": "is", "value": False}, True),
    ({"field": "tags", "op": "contains_any", "value": ["vip", "x"]}, True),
    ({"field": "tags", "op": "contains_all", "value": ["vip", "x"]}, False),
    ({"field": "tags", "op": "contains_none", "value": ["x"]}, True),
    ({"field": "text", "op": "contains_any", "value": ["refund"]}, True),
    ({"field": "text", "op": "contains_none", "value": ["refund"]}, False),
    ({"field": "business_hours", "op": "is", "value": True}, True),  # 24/7 without a calendar
    ({"field": "actor", "op": "is", "value": "agent"}, True),
    ({"field": "actor", "op": "is", "value": "customer"}, False),
]


@pytest.mark.parametrize(("condition", "fires"), CONDITION_CASES)
def test_each_condition(lead, customer, agent, condition, fires):
    ticket = make_ticket(
        by=customer, subject="Refund please", category=CategoryFactory(slug="billing"), tags=["vip"]
    )
    make_trigger(
        by=lead, conditions=[condition], actions=[{"type": "add_tags", "value": ["matched"]}]
    )

    touch(ticket, agent)
    drain()

    assert ("matched" in ticket.tags.values_list("name", flat=True)) is fires


def test_organization_and_team_conditions(lead, customer, agent):
    team = TeamFactory()
    ticket = make_ticket(by=agent, customer=customer, team=team)
    make_trigger(
        by=lead,
        conditions=[
            {"field": "organization", "op": "is", "value": customer.organization_id},
            {"field": "team", "op": "in", "value": [team.pk]},
        ],
        actions=[{"type": "add_tags", "value": ["matched"]}],
    )
    touch(ticket, agent)
    drain()
    assert list(ticket.tags.values_list("name", flat=True)) == ["matched"]


def test_any_matches_on_one_condition_all_needs_every_one(lead, customer, agent):
    ticket = make_ticket(by=customer)
    conditions = [
        {"field": "priority", "op": "is", "value": "medium"},
        {"field": "channel", "op": "is", "value": "email"},
    ]
    make_trigger(
        by=lead,
        match="all",
        conditions=conditions,
        actions=[{"type": "add_tags", "value": ["all"]}],
    )
    make_trigger(
        by=lead,
        match="any",
        conditions=conditions,
        actions=[{"type": "add_tags", "value": ["any"]}],
    )
    touch(ticket, agent)
    drain()
    assert list(ticket.tags.values_list("name", flat=True)) == ["any"]


def test_a_malformed_condition_is_refused_and_nothing_is_saved(lead):
    with pytest.raises(DomainError) as refused:
        make_trigger(
            by=lead,
            conditions=[{"field": "priority", "op": "is", "value": "p9"}],
            actions=[{"type": "assign"}],
        )
    assert "conditions" in refused.value.errors
    assert not Rule.objects.filter(author=lead).exists()


# --- actions -------------------------------------------------------------------------------


def test_field_actions(lead, customer, agent):
    team = TeamFactory()
    CategoryFactory(slug="billing")
    ticket = make_ticket(by=customer, tags=["old"])
    make_trigger(
        by=lead,
        actions=[
            {"type": "set_priority", "value": "urgent"},
            {"type": "set_category", "value": "billing"},
            {"type": "set_team", "value": team.pk},
            {"type": "add_tags", "value": ["new"]},
            {"type": "remove_tags", "value": ["old"]},
        ],
    )
    touch(ticket, agent)
    drain()
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.category.slug, ticket.team_id) == ("urgent", "billing", team.pk)
    assert list(ticket.tags.values_list("name", flat=True)) == ["new"]
    assert ticket.events.filter(
        kind="priority_changed", actor=lead
    ).exists()  # audited, as the author


def test_set_status_and_assign_through_the_team_strategy(lead, customer, agent):
    team = TeamFactory(members=[agent], strategy="round_robin")
    ticket = make_ticket(by=customer)
    make_trigger(
        by=lead,
        events=["public_reply"],
        actions=[
            {"type": "set_team", "value": team.pk},
            {"type": "assign"},
            {"type": "set_status", "value": "in_progress"},
        ],
    )
    services.add_message(ticket=ticket, by=customer, body="Anyone there?")
    drain()
    ticket.refresh_from_db()
    assert ticket.assigned_to == agent
    assert ticket.status == Status.IN_PROGRESS


def test_note_template(lead, customer, agent):
    template = ResponseTemplateFactory(channel="note", body="Check {{ customer.email }}")
    ticket = make_ticket(by=customer)
    make_trigger(by=lead, actions=[{"type": "note_template", "value": template.pk}])
    touch(ticket, agent)
    drain()
    note = TicketMessage.objects.get(ticket=ticket)
    assert note.is_internal and note.body_text == f"Check {customer.email}"


def test_notify_users_team_email_and_chat(lead, customer, agent, settings):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/T1"
    settings.TEAMS_WEBHOOK_URL = "https://teams.example/hook"
    other = UserFactory(roles=[Role.AGENT])
    team = TeamFactory(members=[other])
    ticket = make_ticket(by=customer)
    make_trigger(
        by=lead,
        actions=[
            {"type": "notify_users", "value": [agent.pk]},
            {"type": "notify_team", "value": team.pk},
            {
                "type": "notify_email",
                "value": {
                    "to": "ops@example.com",
                    "subject": "{{ ticket.number }}",
                    "body": "Look",
                },
            },
            {"type": "notify_slack", "value": {"text": "New {{ ticket.number }}"}},
            {"type": "notify_teams", "value": {"text": "New {{ ticket.number }}"}},
        ],
    )
    touch(ticket, agent)
    drain()
    rows = OutboxMessage.objects.filter(key__startswith="rule:")
    in_app = {row.recipient_user_id for row in rows.filter(channel="in_app")}
    assert in_app == {agent.pk, other.pk}
    email = rows.get(channel="email")
    assert (email.recipient, email.subject) == ("ops@example.com", ticket.number)
    assert rows.get(channel="slack").body == f"New {ticket.number}"
    assert rows.filter(channel="teams").count() == 1


# --- order, stop-processing ----------------------------------------------------------------


def test_triggers_run_in_order_and_stop_processing_ends_the_run(lead, customer, agent):
    # Notifying changes nothing on the ticket, so no further event runs the triggers again.
    notify = [{"type": "notify_users", "value": [agent.pk]}]
    first = make_trigger(by=lead, name="first", actions=notify)
    second = make_trigger(by=lead, name="second", stop_processing=True, actions=notify)
    make_trigger(by=lead, name="third", actions=notify)
    ticket = make_ticket(by=customer)

    touch(ticket, agent)
    drain()

    fired = list(
        RuleFiring.objects.filter(ticket=ticket).order_by("pk").values_list("rule_id", flat=True)
    )
    assert fired == [first.pk, second.pk]


def test_moving_a_rule_changes_the_order(lead, customer, agent):
    from support.rules import services as rule_services

    notify = [{"type": "notify_users", "value": [agent.pk]}]
    low = make_trigger(by=lead, name="low", stop_processing=True, actions=notify)
    high = make_trigger(by=lead, name="high", stop_processing=True, actions=notify)
    rule_services.move_rule(rule=high, by=lead, direction="up")
    ticket = make_ticket(by=customer)
    touch(ticket, agent)
    drain()
    assert list(RuleFiring.objects.filter(ticket=ticket).values_list("rule_id", flat=True)) == [
        high.pk
    ]
    assert RuleEvent.objects.filter(rule=high, kind="moved").exists()
    assert list(Rule.objects.triggers().in_order().filter(pk__in=[low.pk, high.pk])) == [high, low]


def test_a_change_made_by_one_rule_runs_the_others_but_never_itself(lead, customer, agent):
    low = make_trigger(by=lead, name="low", actions=[{"type": "set_priority", "value": "low"}])
    tagger = make_trigger(
        by=lead,
        name="tag",
        conditions=[{"field": "priority", "op": "is", "value": "low"}],
        actions=[{"type": "add_tags", "value": ["low"]}],
    )
    ticket = make_ticket(by=customer)
    touch(ticket, agent)
    drain()
    assert list(ticket.tags.values_list("name", flat=True)) == ["low"]
    assert RuleFiring.objects.filter(rule=low).count() == 1
    assert RuleFiring.objects.filter(rule=tagger).count() == 1


# --- the loop guard ------------------------------------------------------------------------


def test_a_rules_own_change_does_not_fire_it_again(lead, customer, agent):
    rule = make_trigger(
        by=lead,
        actions=[{"type": "set_priority", "value": "low"}, {"type": "add_tags", "value": ["x"]}],
    )
    ticket = make_ticket(by=customer)
    touch(ticket, agent)
    drain()
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    assert TriggerRun.objects.filter(state="pending").count() == 0


def test_two_rules_undoing_each_other_stop_after_one_round(lead, customer, agent):
    up = make_trigger(
        by=lead,
        conditions=[{"field": "priority", "op": "is", "value": "low"}],
        actions=[{"type": "set_priority", "value": "high"}],
    )
    down = make_trigger(
        by=lead,
        conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "set_priority", "value": "low"}],
    )
    ticket = make_ticket(by=customer)
    services.change_priority(ticket=ticket, by=agent, priority="low")

    drain(limit=100)

    # The agent's change: up (low→high), then down (high→low) in the same run. up's change
    # carries up (down no longer matches); down's carries down: up fires once more, and its
    # change carries both. Bounded, and each rule never fires on its own change.
    fired = [f.rule_id for f in RuleFiring.objects.filter(ticket=ticket).order_by("pk")]
    assert fired == [up.pk, down.pk, up.pk]
    assert not TriggerRun.objects.filter(state__in=["pending", "running"]).exists()


def test_firings_per_ticket_and_hour_are_capped(lead, customer, agent, settings):
    settings.RULES_MAX_FIRINGS_PER_TICKET_HOUR = 3
    make_trigger(by=lead, actions=[{"type": "notify_users", "value": [agent.pk]}])
    ticket = make_ticket(by=customer)
    for _ in range(5):
        touch(ticket, agent)
    drain()
    assert RuleFiring.objects.filter(ticket=ticket).count() == 3


# --- errors ---------------------------------------------------------------------------------


def test_a_failing_rule_is_disabled_with_a_notice_and_the_write_stands(lead, customer, agent):
    team = TeamFactory()
    rule = make_trigger(
        by=lead, events=["status_changed"], actions=[{"type": "set_team", "value": team.pk}]
    )
    later = make_trigger(
        by=lead, events=["status_changed"], actions=[{"type": "add_tags", "value": ["after"]}]
    )
    ticket = make_ticket(by=customer)
    team.delete()

    services.change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    drain()

    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    rule.refresh_from_db()
    assert not rule.enabled and "no longer exists" in rule.disabled_reason
    assert RuleEvent.objects.filter(rule=rule, kind="errored").exists()
    notice = OutboxMessage.objects.get(
        channel="in_app", recipient_user=lead, key__contains="errored"
    )
    assert "disabled" in notice.subject
    assert list(ticket.tags.values_list("name", flat=True)) == ["after"]  # the next rule ran
    assert RuleFiring.objects.filter(rule=later).count() == 1


def test_a_failing_creation_rule_never_blocks_the_ticket(lead, customer):
    CategoryFactory(slug="gone")
    rule = make_trigger(
        by=lead,
        events=["created"],
        actions=[
            {"type": "set_category", "value": "gone"},
            {"type": "set_priority", "value": "low"},
        ],
    )
    from support.models import Category

    Category.objects.filter(slug="gone").update(is_active=False)

    ticket = make_ticket(by=customer)

    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ticket.priority == Priority.MEDIUM  # the rule's work is undone, all of it
    rule.refresh_from_db()
    assert not rule.enabled


# --- the author's rights ---------------------------------------------------------------------


def test_agents_and_customers_cannot_write_rules(agent, customer):
    for user in (agent, customer):
        with pytest.raises(NotAllowed):
            make_trigger(by=user, actions=[{"type": "set_priority", "value": "low"}])


def test_a_rule_cannot_notify_someone_its_author_may_not(lead, customer):
    with pytest.raises(DomainError) as refused:
        make_trigger(by=lead, actions=[{"type": "notify_users", "value": [customer.pk]}])
    assert refused.value.errors["actions"] == ["#1: Some of these users cannot be notified."]


def test_a_lead_cannot_make_a_rule_call_a_webhook(lead, admin_user):
    from core.models import WebhookSubscription

    hook = WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/h", events=["ticket.rule"]
    )
    with pytest.raises(NotAllowed):
        make_trigger(by=lead, actions=[{"type": "call_webhook", "value": hook.pk}])
    assert make_trigger(by=admin_user, actions=[{"type": "call_webhook", "value": hook.pk}])


def test_a_rule_whose_author_lost_the_role_fails_and_is_disabled(lead, customer, agent):
    rule = make_trigger(by=lead, actions=[{"type": "set_priority", "value": "urgent"}])
    lead.groups.clear()
    lead.groups.add(*agent.groups.all())
    from core.roles import user_roles

    user_roles.cache_clear() if hasattr(user_roles, "cache_clear") else None
    ticket = make_ticket(by=customer)
    touch(ticket, agent)
    drain()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.MEDIUM
    rule.refresh_from_db()
    assert not rule.enabled and "may no longer" in rule.disabled_reason


def test_notify_users_rechecks_at_run_time(lead, customer, agent):
    rule = make_trigger(by=lead, actions=[{"type": "notify_users", "value": [agent.pk]}])
    agent.is_active = False
    agent.save()
    ticket = make_ticket(by=customer)
    services.update_ticket(ticket=ticket, by=lead, subject="x")
    drain()
    rule.refresh_from_db()
    assert not rule.enabled
    assert not Notification.objects.filter(recipient=agent).exists()
    assert not OutboxMessage.objects.filter(recipient_user=agent, key__startswith="rule:").exists()


def test_an_admins_trigger_calls_a_webhook_on_satisfaction(admin_user, customer, lead, settings):
    from core.models import WebhookDelivery

    hook = WebhookSubscription.objects.create(
        name="CRM", url="https://93.184.216.34/in", events=["ticket.rule"]
    )
    make_trigger(
        by=admin_user,
        events=["satisfaction"],
        conditions=[{"field": "actor", "op": "is", "value": "customer"}],
        actions=[{"type": "call_webhook", "value": hook.pk}],
    )
    ticket = make_ticket(by=customer)
    services.change_status(ticket=ticket, to=Status.RESOLVED, by=lead)
    services.rate_ticket(ticket=ticket, by=customer, rating=2, comment="Slow")
    drain()

    delivery = WebhookDelivery.objects.get(subscription=hook)
    assert delivery.event == "ticket.rule"
    assert f'"number": "{ticket.number}"' in delivery.body
    assert "Slow" not in delivery.body  # the payload names the ticket, not what was written


def test_a_creation_trigger_of_an_author_who_lost_the_role_is_disabled_at_once(lead, customer):
    rule = make_trigger(
        by=lead, events=("created",), actions=[{"type": "set_priority", "value": "urgent"}]
    )
    assert make_ticket(by=customer).priority == Priority.URGENT
    lead.groups.clear()

    ticket = make_ticket(by=customer)

    assert ticket.priority == Priority.MEDIUM
    rule.refresh_from_db()
    assert not rule.enabled and "may no longer" in rule.disabled_reason


def test_creation_checks_entitled_authors_in_the_fingerprint_statement(lead, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(3):
        make_trigger(
            by=lead,
            name=f"t{n}",
            events=("created",),
            actions=[{"type": "add_tags", "value": [f"t{n}"]}],
        )
    engine.forget_triggers()
    with CaptureQueriesContext(connection) as queries:
        ticket = make_ticket(by=customer)
    assert {t.name for t in ticket.tags.all()} == {"t0", "t1", "t2"}
    statements = [q["sql"] for q in queries]
    # The fingerprint says the authors are entitled: no question per author.
    assert sum("SUM(CASE WHEN r.enabled" in sql for sql in statements) == 1
    assert not [sql for sql in statements if sql.startswith('SELECT 1 AS "a" FROM "core_user"')]


def test_a_trigger_on_the_customers_tone(lead, customer):
    make_trigger(
        by=lead,
        events=("created",),
        conditions=[{"field": "sentiment", "op": "is", "value": "negative"}],
        actions=[{"type": "add_tags", "value": ["upset"]}],
    )
    angry = make_ticket(
        by=customer,
        subject="Terrible service, I am furious",
        description="<p>This is awful. Your product is broken and useless, I hate it.</p>",
    )
    calm = make_ticket(
        by=customer,
        subject="Question about invoices",
        description="<p>Where can I download the invoice for last month?</p>",
    )
    foreign = make_ticket(
        by=customer,
        subject="Das ist schrecklich",
        description="<p>Ich bin sehr wütend, das Produkt funktioniert überhaupt nicht.</p>",
    )
    assert {t.name for t in angry.tags.all()} == {"upset"}
    assert not calm.tags.exists()
    assert not foreign.tags.exists()  # not English: no tone is read into it


def test_automations_cannot_use_the_tone():
    from support.rules import conditions

    with pytest.raises(DomainError):
        conditions.clean(
            [{"field": "sentiment", "op": "is", "value": "negative"}], for_automation=True
        )
