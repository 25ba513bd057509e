"""Insurance documents in a real browser: an owner sends a scan, a reviewer asks for a missing
page, the owner answers it, the reviewer approves; under the site's Content-Security-Policy."""

import datetime as dt
import os

import pytest

from insurance.models import InsuranceDocument, Status
from tests.factories import UserFactory
from tests.insurance.factories import PDF, PNG

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"insurance-{name}.png"), full_page=True)


def test_submit_request_answer_and_approve(browser, live_server, tmp_path):
    UserFactory(roles=["customer"], email="owner@example.com", full_name="Olga Owner")
    UserFactory(roles=["reviewer"], email="reviewer@example.com", full_name="Rita Reviewer")
    scan, page_two = tmp_path / "policy-scan.png", tmp_path / "page-2.pdf"
    scan.write_bytes(PNG)
    page_two.write_bytes(PDF)
    end = dt.date.today() + dt.timedelta(days=200)

    owner = sign_in(browser, live_server, "owner@example.com")
    reports: list[str] = []
    watch_for_csp_violations(owner, reports)
    owner.goto(f"{live_server.url}/help/")
    owner.click("nav >> text=My insurance")
    owner.wait_for_load_state()
    owner.fill("#id_policy_number", "POL-2026-0042")
    owner.fill("#id_insurer", "Acme Mutual")
    owner.select_option("#id_coverage_type", "general_liability")
    owner.fill("#id_coverage_start", (end - dt.timedelta(days=365)).isoformat())
    owner.fill("#id_coverage_end", end.isoformat())
    owner.set_input_files("#id_file", str(scan))
    owner.click("button:has-text('Send')")
    owner.wait_for_load_state()
    assert "Thank you; a reviewer will look at it." in owner.content()
    document = InsuranceDocument.objects.get()

    reviewer = sign_in(browser, live_server, "reviewer@example.com")
    watch_for_csp_violations(reviewer, reports)
    reviewer.goto(f"{live_server.url}/desk/insurance/")
    shot(reviewer, "desk-queue")
    reviewer.click("text=Acme Mutual POL-2026-0042")
    reviewer.wait_for_load_state()
    assert reviewer.locator("img.insurance-preview").evaluate("img => img.naturalWidth") == 1
    reviewer.click("button:has-text('Start review')")
    reviewer.wait_for_load_state()
    reviewer.fill("#id_items", "Page 2: the page with the signature")
    reviewer.click("button:has-text('Request information')")
    reviewer.wait_for_load_state()
    assert "The owner has been asked for the items." in reviewer.content()
    shot(reviewer, "desk-document")

    owner.goto(f"{live_server.url}/help/insurance/{document.pk}/")
    owner.set_input_files("input[type=file][name=file] >> nth=0", str(page_two))
    owner.click(".checklist button:has-text('Send')")
    owner.wait_for_load_state()
    assert "Thank you: Page 2 received." in owner.content()
    shot(owner, "help-document")

    reviewer.reload()
    reviewer.fill("#approve-reason", "Matches the contract.")
    reviewer.click("#approve-form button")
    reviewer.wait_for_load_state()
    assert "Approved; the expiry reminders are scheduled." in reviewer.content()
    assert "Expires in 7 days" in reviewer.content()  # the next reminder

    document.refresh_from_db()
    assert document.status == Status.APPROVED
    assert not reports, reports
