"""A person with data in every domain, made through each domain's services."""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from bookings import services as bookings
from core.models import OutboxMessage
from core.roles import Role
from incidents import subscribers
from knowledge import services as knowledge
from support.models import InboundEmail
from support.services import add_message, change_status, create_ticket, rate_ticket
from tests.bookings import factories as booking_factories
from tests.factories import OrganizationFactory, UserFactory
from tests.insurance import factories as insurance_factories
from tests.knowledge.factories import make_article


@dataclass
class Person:
    user: object
    token: str  # a word found only in what this person wrote or holds
    ticket: object = None
    document: object = None
    booking: object = None
    chat_agent: object = None

    @property
    def identifiers(self) -> list[str]:
        return [self.user.email, self.user.full_name, self.user.phone, self.token]


@dataclass
class Staff:
    agent: object
    reviewer: object
    technician: object
    article: object


def make_staff() -> Staff:
    agent = UserFactory(roles=[Role.AGENT], full_name="Avery Agentson")
    return Staff(
        agent=agent,
        reviewer=UserFactory(roles=[Role.REVIEWER], full_name="Rita Reviewer"),
        technician=UserFactory(roles=[Role.TECHNICIAN], full_name="Ted Technician"),
        article=make_article(by=UserFactory(roles=[Role.SUPPORT_LEAD])),
    )


def make_person(staff: Staff, token: str, *, organization=None) -> Person:
    """A customer named after `token` with a ticket (replies both ways, a note, a file, a
    rating), an article rating, a status subscription, an insurance document, a reviewed
    booking, a received e-mail and the notifications all of that sent."""
    user = UserFactory(
        roles=[Role.CUSTOMER],
        email=f"{token}@example.com",
        full_name=f"{token.title()} Customer",
        phone="+44 7700 900" + str(abs(hash(token)) % 900 + 100),
        organization=organization or OrganizationFactory(),
    )
    person = Person(user=user, token=token)
    ticket = create_ticket(
        by=user,
        subject=f"Printer {token} jams",
        description=f"<p>My printer {token} jams at page two.</p>",
        attachments=[SimpleUploadedFile(f"{token}.txt", f"log of {token}".encode(), "text/plain")],
    )
    add_message(ticket=ticket, by=staff.agent, body=f"Hello {user.full_name}, try a reset.")
    add_message(ticket=ticket, by=staff.agent, body=f"NOTE about {token}", internal=True)
    add_message(ticket=ticket, by=user, body=f"Reset done, still {token}.")
    change_status(ticket=ticket, to="resolved", by=staff.agent)
    rate_ticket(ticket=ticket, by=user, rating=4, comment=f"Fine {token}")
    ticket.refresh_from_db()
    person.ticket = ticket
    knowledge.give_feedback(article=staff.article, user=user, rating=5, comment=f"Clear {token}")
    subscribers.subscribe(email=user.email)
    person.document = insurance_factories.submit(user, insurer=f"Insurer {token}")
    booking = booking_factories.verified(user, staff.technician, location=f"1 {token} Road")
    bookings.leave_review(booking=booking, by=user, rating=5, comment=f"Great {token}")
    person.booking = booking
    InboundEmail.objects.create(
        email_message_id=f"<{token}@mail>",
        sender=user.email,
        sender_name=user.full_name,
        subject=f"Mail {token}",
        outcome="reply_added",
        ticket=ticket,
        original_text=f"Body {token}",
        raw_message=b"raw",
    )
    _chat(person, staff)
    from support.assist.models import AIInteraction

    AIInteraction.objects.create(
        feature="query", provider="local", user=user, ticket=ticket, outcome="success",
        prompt=f"How do I fix printer {token}?", response=f"Reset printer {token}.",
    )  # fmt: skip
    assert OutboxMessage.objects.filter(recipient=user.email).exists()
    return person


def _chat(person: Person, staff: Staff) -> None:
    """A chat of the person with the staff agent: messages both ways, a whisper, a rating."""
    from django.db import transaction

    from support.chat import services as chat
    from tests.support.chat.factories import ChatWidgetFactory, online_agent

    agent = online_agent(full_name="Casey Chatagent")
    widget = ChatWidgetFactory(name=f"widget {person.token}")
    with transaction.atomic():
        session, _ = chat.start_session(
            widget=widget, customer=person.user, page_url=f"https://shop.example/{person.token}"
        )
    if session.agent_id is None:
        session = chat.accept_session(session=session, by=agent)
    else:
        agent = session.agent
    person.chat_agent = agent
    chat.post_message(session=session, by=None, client_msg_id="v1", body=f"Chat {person.token}")
    chat.post_message(
        session=session, by=agent, client_msg_id="a1", body=f"Hi {person.user.full_name}"
    )
    chat.post_message(
        session=session, by=agent, client_msg_id="w1", body=f"WHISPER {person.token}",
        internal=True,
    )  # fmt: skip
    chat.end_session(session=session, by=None)
    chat.rate_session(session=session, rating=5, comment=f"Chat was great {person.token}")
