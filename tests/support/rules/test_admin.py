"""Rules in the Django admin: leads see them with their history and switch them through the
services (versioned, audited); nobody edits a definition there; agents do not see them."""

import pytest

from support.models import Rule, RuleEvent

from .factories import make_trigger

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/support/rule/"


@pytest.fixture
def rule(lead):
    return make_trigger(
        by=lead, name="Tag refunds", enabled=False, actions=[{"type": "add_tags", "value": ["r"]}]
    )


def test_a_lead_sees_rules_and_enables_one_through_the_service(client, lead, rule):
    client.force_login(lead)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and "Tag refunds" in listing.content.decode()
    page = client.get(f"{CHANGELIST}{rule.pk}/change/").content.decode()
    assert "Edit in the desk" in page and f"/desk/rules/{rule.pk}/" in page

    client.post(CHANGELIST, {"action": "enable", "_selected_action": [rule.pk]}, follow=True)

    rule.refresh_from_db()
    assert rule.enabled
    assert RuleEvent.objects.filter(rule=rule, kind=RuleEvent.Kind.ENABLED, actor=lead).exists()


def test_a_definition_cannot_be_changed_in_the_admin(client, lead, rule):
    client.force_login(lead)
    client.post(f"{CHANGELIST}{rule.pk}/change/", {"name": "Renamed", "actions": "[]"})
    rule.refresh_from_db()
    assert rule.name == "Tag refunds" and rule.actions == [{"type": "add_tags", "value": ["r"]}]
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_archived_rules_are_not_listed(client, lead, rule):
    client.force_login(lead)
    client.post(CHANGELIST, {"action": "archive", "_selected_action": [rule.pk]}, follow=True)
    assert Rule.objects.get(pk=rule.pk).archived_at is not None
    assert "Tag refunds" not in client.get(CHANGELIST).content.decode()


def test_agents_do_not_see_rules(client, agent, rule):
    client.force_login(agent)
    assert client.get(CHANGELIST).status_code == 403
    client.post(CHANGELIST, {"action": "enable", "_selected_action": [rule.pk]})
    assert not Rule.objects.get(pk=rule.pk).enabled
