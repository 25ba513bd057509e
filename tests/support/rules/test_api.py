"""`/api/v1/support/triggers/` and `automations/`: leads only, validated, audited."""

import pytest

from support.models import Rule, RuleEvent
from support.rules import engine

from .factories import make_trigger

pytestmark = pytest.mark.django_db
API = "/api/v1/support"
P0 = {
    "name": "P0 for enterprise outages",
    "events": ["created"],
    "conditions": [
        {"field": "tier", "op": "is", "value": "enterprise"},
        {"field": "text", "op": "contains_any", "value": ["outage"]},
    ],
    "actions": [{"type": "set_priority", "value": "urgent"}],
}


@pytest.fixture(autouse=True)
def no_shipped_rules(db):
    Rule.objects.update(enabled=False)
    engine.forget_triggers()


def test_a_lead_creates_edits_enables_moves_and_archives_a_trigger(api_client, lead):
    # Another trigger to move past: the shipped ones may be gone (a flushing test before this
    # one, on the same worker, removes what the data migration wrote).
    make_trigger(by=lead, name="Earlier", actions=[{"type": "add_tags", "value": ["x"]}])
    api_client.force_authenticate(lead)

    created = api_client.post(f"{API}/triggers/", P0, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["enabled"], body["version"], body["author"]) == (False, 1, lead.display_name)
    url = f"{API}/triggers/{body['id']}/"

    changed = api_client.patch(url, {"name": "P0 outages"}, format="json")
    assert changed.json()["version"] == 2
    enabled = api_client.post(f"{url}enable/", {"enabled": True}, format="json")
    assert enabled.json()["enabled"] is True
    assert api_client.post(f"{url}move/", {"direction": "up"}, format="json").status_code == 200
    history = api_client.get(f"{url}history/").json()["results"]
    assert [e["kind"] for e in history][:3] == ["moved", "enabled", "changed"]
    assert history[-1]["after"]["name"] == P0["name"]  # version 1, as a snapshot

    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404
    assert RuleEvent.objects.filter(rule_id=body["id"], kind="archived").exists()


def test_bad_input_is_a_400_naming_the_field_and_nothing_changes(api_client, lead):
    api_client.force_authenticate(lead)
    bad = {**P0, "actions": [{"type": "set_priority", "value": "p9"}]}
    response = api_client.post(f"{API}/triggers/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_rule"
    assert "actions" in response.json()["errors"]
    assert not Rule.objects.filter(name=P0["name"]).exists()


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_only_leads_see_or_write_rules(api_client, request, role):
    api_client.force_authenticate(request.getfixturevalue(role))
    assert api_client.get(f"{API}/triggers/").status_code == 403
    assert api_client.post(f"{API}/triggers/", P0, format="json").status_code == 403


def test_dry_run_and_preview(api_client, lead, customer):
    from core.models.users import CustomerTier
    from tests.support.factories import make_ticket

    customer.organization.tier = CustomerTier.ENTERPRISE
    customer.organization.save()
    make_ticket(by=customer, subject="Outage everywhere")
    make_ticket(by=customer, subject="Question")
    api_client.force_authenticate(lead)

    preview = api_client.post(f"{API}/triggers/preview/", P0, format="json").json()
    assert (preview["examined"], preview["matched"]) == (2, 1)
    rule = make_trigger(by=lead, enabled=False, **P0)
    saved = api_client.post(f"{API}/triggers/{rule.pk}/dry-run/", {}, format="json").json()
    assert saved["tickets"] == preview["tickets"]
    assert saved["tickets"][0]["effects"] == [
        {"type": "set_priority", "from": "high", "to": "urgent"}
    ]


def test_automations_endpoint(api_client, lead):
    api_client.force_authenticate(lead)
    body = {
        "name": "Quiet",
        "anchor": "updated_at",
        "after_minutes": 60,
        "actions": [{"type": "add_tags", "value": ["quiet"]}],
    }
    assert api_client.post(f"{API}/automations/", body, format="json").status_code == 201
    names = [r["name"] for r in api_client.get(f"{API}/automations/").json()["results"]]
    assert names.count("Quiet") == 1
    assert set(names) == set(Rule.objects.filter(kind="automation").values_list("name", flat=True))
    refused = api_client.post(
        f"{API}/automations/",
        {**body, "conditions": [{"field": "actor", "op": "is", "value": "agent"}]},
        format="json",
    )
    assert refused.status_code == 400


@pytest.mark.parametrize("rows", [1, 30])
def test_the_list_costs_the_same_queries_at_1_and_30_rules(
    api_client, lead, rows, django_assert_num_queries
):
    for n in range(rows):
        make_trigger(by=lead, name=f"r{n}", actions=[{"type": "add_tags", "value": ["x"]}])
    api_client.force_authenticate(lead)
    with django_assert_num_queries(2):  # the count and the page, authors joined
        response = api_client.get(f"{API}/triggers/?page_size=50")
    assert response.status_code == 200
