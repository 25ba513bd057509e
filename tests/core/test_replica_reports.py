"""Reports and exports read the replica when one is configured (core.replica): the SLA report
(JSON and CSV) and the insurance activity CSV, against the test settings' second PostgreSQL
database, which holds none of the primary's rows (a lagging copy)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.replica import REPLICA
from core.roles import Role
from tests.factories import UserFactory
from tests.insurance.factories import submit
from tests.support.factories import make_default_sla_policies, make_ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


def sla_tickets(user) -> int:
    client = APIClient()
    client.force_authenticate(user)
    today = timezone.localdate()
    params = {"start_date": today - dt.timedelta(days=1), "end_date": today}
    return client.get("/api/v1/support/sla-reports/", params).json()["overall"]["tickets"]


def insurance_csv_rows(user) -> int:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/insurance/documents/export/")
    assert response.status_code == 200
    return len(b"".join(response.streaming_content).decode().strip().splitlines())


def test_reports_and_exports_read_the_replica_when_there_is_one(settings, customer, lead):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    make_default_sla_policies()
    make_ticket(by=customer)
    submit(customer)
    settings.DATABASE_REPLICA_URL = ""
    assert sla_tickets(lead) == 1
    assert insurance_csv_rows(reviewer) > 1  # the header and the submission
    settings.DATABASE_REPLICA_URL = "postgres://replica.example/support"
    assert sla_tickets(lead) == 0  # the replica has not caught up with the ticket
    assert insurance_csv_rows(reviewer) == 1  # only the header
