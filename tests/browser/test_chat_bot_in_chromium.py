"""The widget's assistant in a real browser: it greets, answers a question from a public article
with a link, and "Talk to a person" brings in the agent whose console is open.

The server runs Celery tasks eagerly (the bot's answer is a task; here it runs in the request
that enqueued it, after its commit), so one uvicorn process writes the answer and wakes the
visitor's socket.
"""

import pytest

from core.roles import Role
from support.assist import retrieval
from support.models import AgentProfile, ChatSession, ChatWidget
from tests.core.test_asgi import serving
from tests.factories import UserFactory
from tests.knowledge.factories import make_article

from .test_chat_in_chromium import SHOP, shot, visitor_page
from .test_pages_in_chromium import browser, sign_in, watch_for_csp_violations

__all__ = ["browser"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
]
PASSWORD = (
    "Open the sign-in page and choose Forgot password. We e-mail you a reset link that works "
    "for one hour. Choose a new password of at least twelve characters."
)


@pytest.fixture(scope="module")
def eager_server(django_db_setup, django_db_blocker, tmp_path_factory):
    with serving(django_db_blocker, tmp_path_factory, "CELERY_TASK_ALWAYS_EAGER = True\n") as s:
        yield s


def test_the_assistant_answers_first_and_hands_off_to_a_person(browser, eager_server):
    server = eager_server
    lead = UserFactory(roles=[Role.SUPPORT_LEAD], email="lead@example.com")
    make_article(by=lead, title="Reset your password", content=PASSWORD)
    retrieval.sync_chunks()
    agent = UserFactory(roles=[Role.AGENT], email="agent@example.com", full_name="Avery Agent")
    AgentProfile.objects.create(user=agent, max_concurrent_chats=3)
    widget = ChatWidget.objects.create(
        name="Shop chat",
        public_key="shop-bot",
        allowed_origins=[SHOP, server.url],
        bot_enabled=True,
    )
    reports: list[str] = []
    desk = sign_in(browser, server, "agent@example.com")
    watch_for_csp_violations(desk, reports)
    desk.goto(f"{server.url}/desk/chats/")
    desk.wait_for_selector("#desk-socket-state:has-text('Online')")

    visitor, _ = visitor_page(browser, server, widget.public_key, {"on": False})
    watch_for_csp_violations(visitor, reports)
    visitor.click("[data-support-chat=launcher]")
    chat = visitor.frame_locator("[data-support-chat=frame]")
    chat.locator("#start-form input[name=visitor_name]").fill("Vic Visitor")
    chat.locator("#start-form input[name=visitor_email]").fill("vic@example.com")
    chat.locator("#start-form button").click()
    chat.locator("#chat-status:has-text('The assistant is here')").wait_for()
    chat.locator("#messages li.bot:has-text('I am the assistant')").wait_for()

    chat.locator("#composer-body").fill("How do I reset my password?")
    chat.locator("#composer-body").press("Enter")
    answer = chat.locator("#messages li.bot:has-text('Reset your password')")
    answer.wait_for()
    link = answer.locator("a").first
    assert "/help/kb/" in link.get_attribute("href") and link.get_attribute("target") == "_blank"
    assert ChatSession.objects.get(widget=widget).agent is None  # the bot's, not the agent's
    shot(visitor, "bot")

    chat.locator("#chat-person").click()
    chat.locator("#chat-status:has-text('Chatting with Avery Agent')").wait_for()
    chat.locator("#messages li:has-text('Connecting you with a person')").wait_for()
    assert chat.locator("#chat-person").is_hidden()
    desk.locator("#chat-mine a:has-text('Vic Visitor')").click()
    desk.locator("#chat-messages li:has-text('How do I reset my password?')").wait_for()
    desk.locator("#chat-messages li:has-text('Assistant')").first.wait_for()
    session = ChatSession.objects.get(widget=widget)
    assert session.agent == agent and not session.with_bot
    assert not reports, reports
