"""The desk's rules editor: forms for conditions and actions, dry run, order, on/off, history."""

import pytest
from django.urls import reverse

from support.models import Rule
from support.rules import engine

from .factories import make_trigger

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_shipped_rules(db):
    Rule.objects.update(enabled=False)
    engine.forget_triggers()


FORM = {
    "name": "P0 for enterprise outages",
    "match": "all",
    "events": ["created"],
    "condition-0-field": "tier",
    "condition-0-op": "is",
    "condition-0-value": "enterprise",
    "condition-1-field": "text",
    "condition-1-op": "contains_any",
    "condition-1-value": "outage, down",
    "action-0-type": "set_priority",
    "action-0-value": "urgent",
    "action-1-type": "add_tags",
    "action-1-value": "outage",
}


def test_a_lead_builds_a_trigger_from_the_form(client, lead):
    client.force_login(lead)
    response = client.post(reverse("desk-rule-new", args=["trigger"]), FORM)
    rule = Rule.objects.get(name=FORM["name"])
    assert response.status_code == 302
    assert rule.conditions[1] == {
        "field": "text",
        "op": "contains_any",
        "value": ["outage", "down"],
    }
    assert rule.actions == [
        {"type": "set_priority", "value": "urgent"},
        {"type": "add_tags", "value": ["outage"]},
    ]
    assert not rule.enabled
    page = client.get(reverse("desk-rule", args=[rule.pk]))
    assert "History" in page.content.decode() and 'value="outage, down"' in page.content.decode()


def test_the_dry_run_button_saves_nothing(client, lead):
    client.force_login(lead)
    response = client.post(reverse("desk-rule-new", args=["trigger"]), {**FORM, "dry_run": "1"})
    assert response.status_code == 200
    assert "Dry run: 0 of 0 recent tickets" in response.content.decode()
    assert not Rule.objects.filter(name=FORM["name"]).exists()


def test_a_bad_row_is_shown_and_nothing_saved(client, lead):
    client.force_login(lead)
    response = client.post(
        reverse("desk-rule-new", args=["trigger"]), {**FORM, "action-0-value": "p9"}
    )
    assert response.status_code == 400
    assert "Priority is one of" in response.content.decode()
    assert not Rule.objects.filter(name=FORM["name"]).exists()


def test_arrows_and_switches(client, lead):
    first = make_trigger(by=lead, name="first", enabled=False, actions=[{"type": "assign"}])
    second = make_trigger(by=lead, name="second", enabled=False, actions=[{"type": "assign"}])
    client.force_login(lead)
    client.post(reverse("desk-rule-action", args=[second.pk]), {"op": "up"})
    client.post(reverse("desk-rule-action", args=[second.pk]), {"op": "enable"})
    ordered = [r.pk for r in Rule.objects.triggers().in_order() if r.pk in (first.pk, second.pk)]
    assert ordered == [second.pk, first.pk]
    second.refresh_from_db()
    assert second.enabled
    listing = client.get(reverse("desk-rules")).content.decode()
    assert listing.index("second") < listing.index("first")


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_others_are_refused(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("desk-rules")).status_code == 403
    assert client.post(reverse("desk-rule-new", args=["trigger"]), FORM).status_code == 403
    assert not Rule.objects.filter(name=FORM["name"]).exists()


# Session, user, roles, unread notifications, the rules (authors joined): not per rule.
LIST_PAGE_QUERIES = 5


@pytest.mark.parametrize("count", [1, 20])
def test_the_list_page_costs_the_same_queries_at_1_and_20_rules(client, lead, count):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(count):
        make_trigger(by=lead, name=f"rule {n}", enabled=False, actions=[{"type": "assign"}])
    client.force_login(lead)
    client.get(reverse("desk-rules"))  # warm the session and the shell's caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("desk-rules")).status_code == 200
    assert len(queries) == LIST_PAGE_QUERIES


def _rows(page: str, name: str) -> str:
    """The `<select>` named `name` with its options."""
    start = page.index(f'name="{name}"')
    return page[start : page.index("</select>", start)]


def test_the_editor_names_operators_and_says_what_each_value_takes(client, lead):
    from tests.support.factories import TeamFactory

    team = TeamFactory(name="Billing desk")
    rule = make_trigger(
        by=lead,
        name="words and team",
        enabled=False,
        conditions=[{"field": "text", "op": "contains_any", "value": ["refund"]}],
        actions=[{"type": "set_team", "value": team.pk}, {"type": "add_tags", "value": ["x"]}],
    )
    client.force_login(lead)
    page = client.get(reverse("desk-rule", args=[rule.pk])).content.decode()
    # A filled row offers only its field's operators, by name.
    words_ops = _rows(page, "condition-0-op")
    assert ">contains any of<" in words_ops and ">contains none of<" in words_ops
    assert ">is one of<" not in words_ops and "contains_all" not in words_ops
    # A blank row offers every operator until a field is chosen (the script narrows it then).
    assert ">is one of<" in _rows(page, "condition-1-op")
    # Each action row's value box says what that action takes, with the known values listed.
    assert 'placeholder="a team&#x27;s id" list="values-teams"' in page
    assert 'placeholder="tags, comma separated"' in page
    assert f'<option value="{team.pk}">Billing desk</option>' in page
    assert "e-mail: to | subject | body" not in page
    # The script gets each field's operators and hint to narrow a row that changes.
    assert 'value="priority" data-ops="is,is_not,in,not_in"' in page
    assert 'value="notify_email" data-hint="to | subject | body"' in page


def test_the_dry_run_names_what_it_would_do(client, lead, customer):
    from tests.support.factories import make_ticket

    make_ticket(by=customer, subject="Refund please", priority="low")
    client.force_login(lead)
    form = {
        **FORM,
        "condition-0-field": "text",
        "condition-0-op": "contains_any",
        "condition-0-value": "refund",
        "condition-1-field": "",
        "dry_run": "1",
    }
    page = client.post(reverse("desk-rule-new", args=["trigger"]), form).content.decode()
    assert "Dry run: 1 of 1 recent tickets" in page
    assert "Set priority: low → urgent" in page
