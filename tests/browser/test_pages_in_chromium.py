"""The main pages in a real browser (Debian's Chromium, driven by Playwright).

An agent works a ticket on the desk; the customer sees the answer in the help center and never
the internal note.
"""

import os
import shutil

import pytest

from support.models import Ticket
from tests.factories import UserFactory
from tests.support.factories import make_ticket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "pw-for-tests-1"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test body
    # are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(browser, live_server, email):
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_agent_answers_on_the_desk_and_customer_reads_it_in_the_help_center(browser, live_server):
    customer = UserFactory(roles=["customer"], email="cust@example.com")
    agent = UserFactory(roles=["agent"], email="agent@example.com", full_name="Avery Agent")
    ticket = make_ticket(by=customer, subject="Printer on fire")

    desk = sign_in(browser, live_server, agent.email)
    assert desk.url.endswith("/desk/")
    desk.click("text=Unassigned")
    desk.click(f"text={ticket.number}")
    assert desk.locator("h1").inner_text() == "Printer on fire"
    desk.click("button:has-text('Claim')")
    desk.fill("#id_body", "Secret: the customer broke it")
    desk.check("#id_internal")
    desk.click("button:has-text('Send')")
    desk.fill("#id_body", "We are sending a technician.")
    desk.click("button:has-text('Send')")
    assert desk.locator(".message.internal").count() == 1
    assert "We are sending a technician." in desk.content()

    ticket.refresh_from_db()
    assert ticket.assigned_to == agent and ticket.first_responded_at is not None

    help_center = sign_in(browser, live_server, customer.email)
    assert help_center.url.endswith("/help/")
    help_center.click(f"text={ticket.number}")
    page = help_center.content()
    assert "We are sending a technician." in page
    assert "Secret" not in page
    help_center.fill("#id_body", "Thanks, see you soon")
    help_center.click("button:has-text('Send')")
    assert Ticket.objects.get(pk=ticket.pk).messages.filter(body_text__contains="see you").exists()


def test_customer_cannot_open_the_desk(browser, live_server):
    customer = UserFactory(roles=["customer"], email="other@example.com")
    page = sign_in(browser, live_server, customer.email)
    response = page.goto(f"{live_server.url}/desk/")
    assert response.status == 403
    assert "The desk is for support staff" in page.content()
