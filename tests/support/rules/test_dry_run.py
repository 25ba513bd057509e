"""The dry run shows what a real run then does, on the same tickets."""

import pytest

from core.errors import NotAllowed
from support.models import Rule, RuleFiring
from support.models.rules import RuleKind
from support.rules import engine, services
from support.rules.dry_run import dry_run, unsaved_rule
from tests.support.factories import CategoryFactory, make_ticket

from .factories import drain, make_trigger
from .test_engine import touch

pytestmark = pytest.mark.django_db

DEFINITION = {
    "name": "Billing VIPs go first",
    "events": ["updated"],
    "match": "any",
    "conditions": [
        {"field": "tags", "op": "contains_any", "value": ["vip"]},
        {"field": "category", "op": "is", "value": "billing"},
    ],
    "actions": [
        {"type": "set_priority", "value": "urgent"},
        {"type": "add_tags", "value": ["fast-lane"]},
    ],
}


@pytest.fixture(autouse=True)
def no_shipped_rules(db):
    Rule.objects.update(enabled=False)
    engine.forget_triggers()


@pytest.fixture
def tickets(customer):
    billing = CategoryFactory(slug="billing")
    return [
        make_ticket(by=customer, tags=["vip"]),
        make_ticket(by=customer, category=billing),
        make_ticket(by=customer, category=billing, tags=["fast-lane"]),
        make_ticket(by=customer, priority="low"),
        make_ticket(by=customer, tags=["other"]),
    ]


def test_the_dry_run_equals_the_real_run(lead, agent, tickets):
    rule = make_trigger(by=lead, enabled=False, **DEFINITION)

    preview = dry_run(rule, by=lead)

    assert preview["examined"] == len(tickets) and preview["matched"] == 3
    assert not RuleFiring.objects.exists()  # nothing written
    planned = {row["ticket_id"]: row["effects"] for row in preview["tickets"]}
    assert planned[tickets[2].pk] == [{"type": "set_priority", "from": "medium", "to": "urgent"}]

    services.set_enabled(rule=rule, by=lead, enabled=True)
    for ticket in tickets:
        touch(ticket, agent)
    drain()

    done = {f.ticket_id: f.effects for f in RuleFiring.objects.filter(rule=rule)}
    assert done == planned


def test_an_unsaved_definition_can_be_dry_run(lead, tickets):
    rule = unsaved_rule(kind=RuleKind.TRIGGER, data=DEFINITION, by=lead)
    assert dry_run(rule, by=lead)["matched"] == 3
    assert not Rule.objects.filter(name=DEFINITION["name"]).exists()


def test_only_leads_dry_run(agent, lead):
    rule = make_trigger(by=lead, enabled=False, **DEFINITION)
    with pytest.raises(NotAllowed):
        dry_run(rule, by=agent)
