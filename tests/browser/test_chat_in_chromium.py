"""Live chat in a real browser: a visitor on another site's page with the widget, an agent in the
desk's chat console, two browser contexts, one uvicorn serving pages and sockets.

Typing shows and clears; messages flow both ways; the visitor's socket is cut while the agent
sends three messages, and after the reconnect all three appear once and in order; the offline
form creates a ticket. Screenshots of the widget and the console for the README.
"""

import os

import pytest

from core.roles import Role
from support.models import AgentProfile, ChatMessage, ChatSession, ChatWidget, Ticket
from support.models.choices import Channel
from tests.core.test_asgi import server
from tests.factories import UserFactory
from tests.support.factories import make_default_sla_policies

from .test_pages_in_chromium import SCREENSHOTS, browser, sign_in, watch_for_csp_violations

__all__ = ["browser", "server"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]
# Another origin than the server's: the page of a site that embeds the widget.
SHOP = "http://localhost:8765"


def host_page(route, server_url, key):
    route.fulfill(
        content_type="text/html",
        body=(
            "<!doctype html><title>Shop</title><h1>The shop</h1>"
            f'<script src="{server_url}/chat/widget.js" data-widget="{key}" async></script>'
        ),
    )


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"chat-{name}.png"))


def visitor_page(browser, server, key, cut):
    """The shop's page; its chat socket goes through a route the test can cut."""
    # The shop is another site on this machine: Chromium asks before a page loads from loopback.
    context = browser.new_context(
        viewport={"width": 1100, "height": 760}, permissions=["local-network-access"]
    )
    page = context.new_page()
    page.route(f"{SHOP}/", lambda route: host_page(route, server.url, key))
    sockets = []

    def through(ws):
        if cut["on"]:
            ws.close(code=4000, reason="cut by the test")
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/chat/sessions/**", through)
    page.goto(f"{SHOP}/")
    return page, sockets


def test_a_visitor_and_an_agent_chat_through_a_cut_socket(browser, server):
    make_default_sla_policies()
    agent = UserFactory(roles=[Role.AGENT], email="agent@example.com", full_name="Avery Agent")
    AgentProfile.objects.create(user=agent, max_concurrent_chats=3)
    widget = ChatWidget.objects.create(
        name="Shop chat", public_key="shop", allowed_origins=[SHOP, server.url]
    )
    reports: list[str] = []

    # The agent opens the console: the desk socket's first ping makes them present.
    desk = sign_in(browser, server, "agent@example.com")
    watch_for_csp_violations(desk, reports)
    desk.goto(f"{server.url}/desk/chats/")
    desk.wait_for_selector("#desk-socket-state:has-text('Online')")

    cut = {"on": False}
    visitor, sockets = visitor_page(browser, server, widget.public_key, cut)
    visitor.click("[data-support-chat=launcher]")
    chat = visitor.frame_locator("[data-support-chat=frame]")
    chat.locator("#view-start").wait_for()
    chat.locator("#start-form input[name=visitor_name]").fill("Vic Visitor")
    chat.locator("#start-form input[name=visitor_email]").fill("vic@example.com")
    chat.locator("#start-form button").click()
    chat.locator("#chat-status:has-text('Chatting with Avery Agent')").wait_for()

    # The chat is the agent's: it appears in "My chats".
    desk.locator("#chat-mine a:has-text('Vic Visitor')").click()
    desk.locator("#chat-messages li:has-text('joined the chat')").wait_for()

    # Typing shows on the desk and clears when the visitor sends.
    chat.locator("#composer-body").press_sequentially("Hello, my order")
    desk.locator("#chat-typing:has-text('typing')").wait_for()
    chat.locator("#composer-body").press("Enter")
    desk.locator("#chat-messages li:has-text('Hello, my order')").wait_for()
    desk.locator("#chat-typing").wait_for(state="hidden")

    desk.fill("#chat-body", "Hi Vic, let me look.")
    desk.press("#chat-body", "Enter")
    chat.locator("#messages li:has-text('let me look')").wait_for()
    shot(visitor, "widget")

    # The visitor's socket is cut (and stays refused) while the agent sends three messages.
    cut["on"] = True
    for ws in sockets:
        ws.close(code=4000, reason="cut by the test")
    chat.locator("#chat-status:has-text('Reconnecting')").wait_for()
    for n in (1, 2, 3):
        desk.fill("#chat-body", f"Update {n}")
        desk.press("#chat-body", "Enter")
        desk.locator(f"#chat-messages li:has-text('Update {n}')").wait_for()
    cut["on"] = False
    chat.locator("#messages li:has-text('Update 3')").wait_for(timeout=40_000)
    texts = chat.locator("#messages li").all_inner_texts()
    updates = [t.splitlines()[-1] for t in texts if "Update" in t]  # below the author's name
    assert updates == ["Update 1", "Update 2", "Update 3"], texts
    session = ChatSession.objects.get(widget=widget)
    assert ChatMessage.objects.filter(session=session, body_text__startswith="Update").count() == 3

    # A whisper stays on the desk.
    desk.check("#chat-whisper")
    desk.fill("#chat-body", "VIP customer")
    desk.press("#chat-body", "Enter")
    desk.locator("#chat-messages li.whisper:has-text('VIP customer')").wait_for()
    desk.uncheck("#chat-whisper")
    desk.fill("#chat-body", "All sorted!")
    desk.press("#chat-body", "Enter")
    chat.locator("#messages li:has-text('All sorted!')").wait_for()
    assert "VIP customer" not in " ".join(chat.locator("#messages li").all_inner_texts())

    # The agent steps away on the desk's availability form (another tab): the console's Agents
    # list and the visitor's status follow, without a reload; back again, the same.
    presence = desk.locator(f"#chat-agents li[data-agent='{agent.pk}'] [data-presence]")
    tab = desk.context.new_page()
    for status, shown, told in (("away", "Away", "is away"), ("available", "Available", "is here")):
        tab.goto(f"{server.url}/desk/")
        tab.select_option("#availability", status)
        tab.click("form.availability button")
        presence.filter(has_text=shown).wait_for()
        chat.locator(f"#chat-status:has-text('Avery Agent {told}')").wait_for()
    tab.close()
    shot(desk, "console")

    # The visitor ends and rates the chat.
    chat.locator("#chat-end").click()
    chat.locator("#view-rate").wait_for()
    chat.locator(".star[data-rating='5']").click()
    chat.locator("#rate-done").wait_for()
    session.refresh_from_db()
    assert (session.status, session.rating) == ("ended", 5)
    assert not reports, reports


def test_the_offline_form_creates_a_chat_ticket(browser, server):
    make_default_sla_policies()
    widget = ChatWidget.objects.create(
        name="Shop chat", public_key="shop-off", allowed_origins=[SHOP]
    )
    visitor, _ = visitor_page(browser, server, widget.public_key, {"on": False})
    visitor.click("[data-support-chat=launcher]")
    chat = visitor.frame_locator("[data-support-chat=frame]")
    chat.locator("#view-offline").wait_for()  # said before the visitor types
    chat.locator("#offline-form input[name=visitor_email]").fill("olive@example.com")
    chat.locator("#offline-form textarea").fill("Please call me back about my invoice")
    chat.locator("#offline-form button").click()
    chat.locator("#offline-done:has-text('Thank you')").wait_for()
    shot(visitor, "offline")
    ticket = Ticket.objects.with_customer_email("olive@example.com").get()
    assert ticket.channel == Channel.CHAT
    assert ticket.subject == "Please call me back about my invoice"
