"""What live chat holds about a person, for `core.privacy`: the chats they started (name,
address, the page they chatted from, their rating) and the messages of those chats.

Erasure keeps each session's times, states, agent and rating (the chat SLA figures read those)
and removes what identifies the visitor: name, address, page, rating comment, the bodies they
wrote; other people's messages in their chats keep their text with the visitor's address,
name and phone scrubbed. Chats linked to a held ticket, or of a held organisation's customer,
are left alone. A chat turned into a ticket is also the ticket's (support's part erases that).
"""

from django.db.models import Q

from core import privacy
from core.bulk import update_rows
from core.crypto import hash_or_empty, keyed_hash

from ..models.choices import SenderType
from .models import ChatEvent, ChatMessage, ChatSession, SessionStatus

CHUNK = 500
ERASED_HTML = f"<p>{privacy.ERASED}</p>"
FINISHED = (SessionStatus.ENDED, SessionStatus.ARCHIVED, SessionStatus.OFFLINE)
MESSAGE_TEXT = ("body_html", "body_text")


def _erased_name_hash() -> str:
    """What an anonymised session's name hash holds (a function: the hash key is a setting)."""
    return keyed_hash(privacy.ERASED)


def sessions_of(subject: privacy.Subject):
    digest = hash_or_empty(subject.email)  # the address's keyed hash: the column is encrypted
    q = Q(visitor_email_hash=digest) if digest else Q(pk__in=[])
    if subject.user_id:
        q |= Q(customer_id=subject.user_id)
    return ChatSession.objects.filter(q)


def _not_held(holds: privacy.Holds) -> Q:
    kept = Q()
    if holds.ticket_ids or holds.organization_ids:
        kept &= Q(ticket__isnull=True) | holds.ticket_filter("ticket__")
    if holds.organization_ids:
        kept &= ~Q(customer__organization_id__in=holds.organization_ids)
    return kept


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    sessions = list(sessions_of(subject).select_related("agent", "ticket").order_by("pk"))
    messages = ChatMessage.objects.filter(session__in=sessions).order_by("session_id", "seq")
    if not subject.include_internal:
        messages = messages.filter(is_internal=False)
    by_session: dict[int, list[dict]] = {}
    for m in messages.select_related("author"):
        by_session.setdefault(m.session_id, []).append(
            {
                "seq": m.seq,
                "sender": m.sender_type,
                "author": m.author.display_name if m.author_id else None,
                "text": m.body_text,
                "internal": m.is_internal,
                "at": privacy.iso(m.created_at),
            }
        )
    archive.add(
        "chat_sessions",
        [
            {
                "id": str(s.public_id),
                "visitor_name": s.visitor_name,
                "visitor_email": s.visitor_email,
                "page_url": s.page_url,
                "status": s.status,
                "agent": s.agent.display_name if s.agent_id else None,
                "ticket": s.ticket.number if s.ticket_id else None,
                "started_at": privacy.iso(s.started_at),
                "ended_at": privacy.iso(s.ended_at),
                "rating": s.rating,
                "rating_comment": s.rating_comment,
                "messages": by_session.get(s.pk, []),
            }
            for s in sessions
        ],
    )


def anonymise_sessions(ids: list[int], subject: privacy.Subject | None = None) -> dict[str, int]:
    """The sessions' visitor identity and the visitor's own words gone; the rest kept (with
    `subject`, its identifiers scrubbed from the agents' messages too)."""
    done = {"chat_sessions": 0, "chat_messages": 0}
    for offset in range(0, len(ids), CHUNK):
        chunk = ids[offset : offset + CHUNK]
        # One statement for what every session gets; the address is the person's stand-in (one
        # for all their sessions), else one per session, written encrypted with its hash.
        shared = {
            "visitor_name": privacy.ERASED,
            "visitor_name_hash": _erased_name_hash(),
            "page_url": "",
            "rating_comment": "",
            "customer": None,
        }
        if subject is not None:
            shared.update(
                visitor_email=subject.erased_email,
                visitor_email_hash=keyed_hash(subject.erased_email),
            )
        done["chat_sessions"] += ChatSession.objects.filter(pk__in=chunk).update(**shared)
        if subject is None:
            stand_ins = []
            for pk in chunk:
                address = privacy.erased_email(f"chat-{pk}")
                stand_ins.append(
                    ChatSession(
                        pk=pk, visitor_email=address, visitor_email_hash=keyed_hash(address)
                    )
                )
            update_rows(ChatSession, stand_ins, ["visitor_email", "visitor_email_hash"])
        done["chat_messages"] += ChatMessage.objects.filter(
            session_id__in=chunk, sender_type=SenderType.CUSTOMER
        ).update(body_text=privacy.ERASED, body_html=ERASED_HTML)
        if subject is not None:
            others = ChatMessage.objects.filter(session_id__in=chunk).exclude(
                sender_type=SenderType.CUSTOMER
            )
            done["chat_messages"] += len(privacy.scrub_rows(others, MESSAGE_TEXT, subject))
        ChatEvent.objects.filter(session_id__in=chunk).delete()  # the relay's copies
    return done


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    ids = list(sessions_of(subject).filter(_not_held(holds)).values_list("pk", flat=True))
    done = anonymise_sessions(ids, subject)
    if subject.user_id:
        # What a staff member wrote in other people's chats keeps its text without their name.
        written = ChatMessage.objects.filter(author_id=subject.user_id).exclude(session_id__in=ids)
        done["chat_messages"] += len(privacy.scrub_rows(written, MESSAGE_TEXT, subject))
    return done


def _transcripts_due(cutoff, holds: privacy.Holds, action: str):
    due = ChatSession.objects.filter(status__in=FINISHED, ended_at__lt=cutoff).filter(
        _not_held(holds)
    )
    if action == "anonymise":
        # Anonymised sessions carry the erased name (the columns themselves are encrypted).
        due = due.exclude(visitor_name_hash=_erased_name_hash())
    return due


def _apply_transcripts(action: str, pks: list[int]) -> int:
    if action == "delete":
        return ChatSession.objects.filter(pk__in=pks).delete()[1].get("support.ChatSession", 0)
    return anonymise_sessions(pks)["chat_sessions"]


def register() -> None:
    privacy.register(
        privacy.Part(
            name="chat",
            models=("support.ChatSession", "support.ChatMessage", "support.ChatEvent"),
            export=export,
            erase=erase,
            order=40,  # before support's part, which erases the tickets chats became
        )
    )
    privacy.register_retention(
        privacy.RetentionKind(
            key="chat.transcripts",
            label="Chat transcripts (finished chats)",
            actions=("anonymise", "delete"),
            default_days=365,
            default_action="anonymise",
            due=_transcripts_due,
            apply=_apply_transcripts,
        )
    )
    privacy.exempt(
        ["support.ChatWidget", "support.ChatParticipant", "support.ChatArchive"],
        "chat configuration, who joined a chat and when (user ids and times), scheduled work",
    )
