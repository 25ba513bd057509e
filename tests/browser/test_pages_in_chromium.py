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
    assert desk.locator(".message.internal").count() == 1, desk.content()[-3000:]
    assert "We are sending a technician." in desk.content(), desk.content()[-6000:]

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


SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "screenshots")


def watch_for_csp_violations(page, reports: list[str]) -> None:
    """Console messages and `securitypolicyviolation` events that report a blocked resource."""
    page.on(
        "console",
        lambda message: (
            reports.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
        "e.blockedURI))"
    )


def visit(page, url, name):
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"csp-{name}.png"), full_page=True)
    return response


def test_the_main_pages_run_under_the_content_security_policy(browser, live_server):
    customer = UserFactory(roles=["customer"], email="csp-cust@example.com")
    admin = UserFactory(
        roles=["admin"], email="csp-admin@example.com", is_staff=True, is_superuser=True
    )
    ticket = make_ticket(by=customer, subject="Policy check")

    staff = sign_in(browser, live_server, admin.email)
    reports: list[str] = []
    watch_for_csp_violations(staff, reports)
    response = visit(staff, f"{live_server.url}/desk/tickets/{ticket.number}/", "desk-ticket")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert staff.locator("h1").inner_text() == "Policy check"

    visit(staff, f"{live_server.url}/api/v1/docs/", "api-docs")
    staff.wait_for_selector(".swagger-ui .information-container", timeout=15000)
    assert staff.locator(".opblock").count() > 5  # Swagger UI ran and read the schema

    visit(staff, f"{live_server.url}/admin/", "admin")
    assert staff.locator("#site-name").count() == 1
    visit(staff, f"{live_server.url}/admin/support/ticket/", "admin-tickets")
    assert ticket.number in staff.content()

    help_center = sign_in(browser, live_server, customer.email)
    watch_for_csp_violations(help_center, reports)
    visit(help_center, f"{live_server.url}/help/tickets/{ticket.number}/", "help-ticket")
    assert "Policy check" in help_center.content()
    assert reports == [], reports

    # The watch sees what the policy blocks: an injected inline script does not run.
    help_center.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    help_center.wait_for_timeout(300)
    assert help_center.evaluate("() => window.ran") is None
    assert any("script-src" in report for report in reports), reports
