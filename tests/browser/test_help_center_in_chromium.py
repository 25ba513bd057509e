"""The help center in a real browser, as people without an account and customers use it.

A visitor writes through the contact form, opens the request from the e-mailed link and
replies with a file; a visitor signs up and confirms; a signed-in customer sees only their own
requests and rates a resolved one. Screenshots at desktop and phone width for the README.
"""

import os
import re

import pytest

from core.models import OutboxMessage, User
from support import services
from support.models import Ticket
from tests.factories import UserFactory
from tests.support.factories import make_default_sla_policies, make_ticket
from tests.support.test_conversation import png_bytes

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def help_center_setup(settings):
    settings.BOT_TRAP_MIN_SECONDS = 0  # Playwright types faster than people
    make_default_sla_policies()


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"help-{name}.png"), full_page=True)


def both_widths(page, name):
    page.set_viewport_size(DESKTOP)
    shot(page, name)
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, (
        f"{name} scrolls sideways at phone width"
    )
    page.set_viewport_size(DESKTOP)


def e_mailed_path(pattern, recipient):
    mail = OutboxMessage.objects.filter(recipient=recipient).order_by("-pk").first()
    return re.search(r"http://[^/\s]+(" + pattern + r"[^/\s]+/)", mail.body).group(1)


def test_a_visitor_writes_opens_the_e_mailed_link_and_replies_with_a_file(
    browser, live_server, tmp_path
):
    page = browser.new_context(viewport=DESKTOP).new_page()
    reports: list[str] = []
    watch_for_csp_violations(page, reports)
    page.goto(f"{live_server.url}/help/")
    assert page.locator("h1").inner_text() == "How can we help?"
    both_widths(page, "home")

    page.click("text=Contact support")
    page.fill("#id_name", "Vera Visitor")
    page.fill("#id_email", "vera@example.org")
    page.fill("#id_subject", "My invoice is wrong")
    page.fill("#id_description", "The total is doubled.\nSee https://example.org/invoice/7")
    trap = page.locator("#id_website").bounding_box()  # the bot trap is out of sight
    assert trap["x"] + trap["width"] < 0
    shot_file = tmp_path / "invoice.png"
    shot_file.write_bytes(png_bytes())
    page.set_input_files("#id_files", str(shot_file))
    both_widths(page, "contact-form")
    page.click("button:has-text('Send')")
    ticket = Ticket.objects.get(subject="My invoice is wrong")
    assert ticket.number in page.locator(".ticket-number").inner_text()
    assert ticket.attachments.count() == 1

    page.goto(live_server.url + e_mailed_path("/help/access/", "vera@example.org"))
    page.click(f"button:has-text('Open {ticket.number}')")
    assert page.locator("h1").inner_text() == "My invoice is wrong"
    assert page.locator(".message .body a[href='https://example.org/invoice/7']").count() == 1
    assert "The total is doubled.<br>" in page.inner_html(".message .body")
    page.fill("#id_body", "Here is the second invoice.")
    page.set_input_files("#id_files", str(shot_file))
    page.click("#reply button:has-text('Send')")
    reply = ticket.messages.get()
    assert reply.sender_type == "customer" and reply.attachments.count() == 1
    assert page.locator(".message.customer .files li").count() == 2
    both_widths(page, "request")
    assert reports == [], reports


def test_a_visitor_signs_up_and_confirms(browser, live_server):
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(f"{live_server.url}/help/")
    page.click("text=Sign up")
    page.fill("#id_full_name", "Nina New")
    page.fill("#id_email", "nina@example.org")
    page.fill("#id_password1", "correct-horse-battery-9")
    page.fill("#id_password2", "correct-horse-battery-9")
    shot(page, "sign-up")
    page.click("button:has-text('Create account')")
    assert page.locator("h1").inner_text() == "Check your inbox"
    assert not User.objects.get(email="nina@example.org").is_active

    page.goto(live_server.url + e_mailed_path("/accounts/signup/confirm/", "nina@example.org"))
    page.click("button:has-text('Confirm and sign in')")
    assert "Your address is confirmed" in page.content()
    assert User.objects.get(email="nina@example.org").is_active
    page.click("text=My requests")
    assert page.locator("h1").inner_text() == "Your requests"


def test_a_customer_sees_only_their_requests_and_rates_a_resolved_one(browser, live_server):
    customer = UserFactory(roles=["customer"], email="cara@example.org", full_name="Cara")
    agent = UserFactory(roles=["agent"], email="agent-help@example.org")
    resolved = make_ticket(by=customer, subject="Cannot export my data")
    make_ticket(by=customer, subject="Second question")
    make_ticket(by=UserFactory(roles=["customer"]), subject="Someone else entirely")
    services.add_message(ticket=resolved, by=agent, body="Fixed: export works again.")
    services.resolve_ticket(ticket=resolved, by=agent)

    page = sign_in(browser, live_server, customer.email)
    page.click("text=My requests")
    rows = page.locator("table.requests tbody tr")
    assert rows.count() == 2
    assert "Someone else entirely" not in page.content()
    assert (
        page.locator("table.requests tbody tr")
        .first.inner_text()
        .startswith("Cannot export my data")
    )  # last updated first: the answer and the resolution came after the second request
    both_widths(page, "requests")

    page.click("text=Cannot export my data")
    page.check("input[name=rating][value='5']")
    page.fill("#id_comment", "Quick and clear")
    page.click("button:has-text('Rate')")
    assert "Thank you for your rating!" in page.content()
    assert page.locator("#rating").inner_text().count("★") == 5
    resolved.refresh_from_db()
    assert resolved.satisfaction_rating == 5
    page.click("button:has-text('Yes, it')")
    resolved.refresh_from_db()
    assert resolved.status == "closed"
    assert "How did we do?" not in page.content()
