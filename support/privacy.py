"""What support holds about a person, for `core.privacy`: tickets they filed, the messages on
them, attachments, ratings, e-mails received from them, access links, saved views.

Erasure keeps every ticket row with its times, states, SLA figures and rating (reports and
rollups read those) and removes what identifies the customer: address and name, the subject
and description they wrote, the bodies of their messages, their files. Other people's messages
on their tickets keep their text with the customer's address, name and phone scrubbed out.
"""

from django.db.models import CharField, F, Q, TextField, Value
from django.db.models.functions import Cast, Concat

from core import privacy
from core.bulk import update_rows
from core.crypto import hash_or_empty, keyed_hash
from core.privacy_parts import unguarded

from .models import (
    Attachment,
    InboundEmail,
    SavedQueueView,
    Ticket,
    TicketAccessLink,
    TicketEscalation,
    TicketEvent,
    TicketMessage,
    TriggerRun,
)

CHUNK = 500
ERASED_HTML = f"<p>{privacy.ERASED}</p>"
MESSAGE_TEXT = ("body_html", "body_text")


def tickets_of(subject: privacy.Subject):
    digest = hash_or_empty(subject.email)  # the address's keyed hash: the column is encrypted
    q = Q(customer_email_hash=digest) if digest else Q(pk__in=[])
    if subject.user_id:
        q |= Q(customer_id=subject.user_id)
    return Ticket.objects.filter(q)


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    tickets = list(tickets_of(subject).select_related("category").order_by("pk"))
    ids = [t.pk for t in tickets]
    numbers = {t.pk: t.number for t in tickets}
    archive.add(
        "tickets",
        [
            {
                "number": t.number,
                "subject": t.subject,
                "description": t.description_text,
                "customer_email": t.customer_email,
                "customer_name": t.customer_name,
                "status": t.status,
                "priority": t.priority,
                "channel": t.channel,
                "category": t.category.name if t.category else None,
                "created_at": privacy.iso(t.created_at),
                "first_responded_at": privacy.iso(t.first_responded_at),
                "resolved_at": privacy.iso(t.resolved_at),
                "closed_at": privacy.iso(t.closed_at),
            }
            for t in tickets
        ],
    )
    archive.add(
        "ratings",
        [
            {
                "ticket": t.number,
                "rating": t.satisfaction_rating,
                "comment": t.satisfaction_comment,
                "nps_score": t.nps_score,
                "rated_at": privacy.iso(t.rated_at),
            }
            for t in tickets
            if t.rated_at
        ],
    )
    messages = TicketMessage.objects.filter(ticket_id__in=ids)
    if not subject.include_internal:
        messages = messages.filter(is_internal=False)
    records = []
    for m in messages.order_by("ticket_id", "created_at", "pk").iterator(chunk_size=CHUNK):
        records.append(
            {
                "ticket": numbers[m.ticket_id],
                "from": "you"
                if subject.user_id and m.author_id == subject.user_id
                else m.sender_type,
                "internal_note": m.is_internal,
                "body": m.body_text,
                "created_at": privacy.iso(m.created_at),
            }
        )
    archive.add("messages", records)
    if subject.user_id:
        # Staff: what they wrote on other people's tickets, without its text (it is about
        # those customers, not about them).
        written = TicketMessage.objects.filter(author_id=subject.user_id).exclude(ticket_id__in=ids)
        if not subject.include_internal:
            written = written.filter(is_internal=False)
        archive.add(
            "messages_written_on_other_tickets",
            [
                {
                    "ticket_id": m.ticket_id,
                    "internal_note": m.is_internal,
                    "created_at": privacy.iso(m.created_at),
                }
                for m in written.only("ticket_id", "is_internal", "created_at")
                .order_by("pk")
                .iterator(chunk_size=CHUNK)
            ],
        )
        archive.add(
            "saved_queue_views",
            [
                {"name": v.name, "query": v.query, "created_at": privacy.iso(v.created_at)}
                for v in SavedQueueView.objects.filter(user_id=subject.user_id).order_by("pk")
            ],
        )
    attachments = Attachment.objects.filter(ticket_id__in=ids).select_related("message")
    if not subject.include_internal:
        attachments = attachments.exclude(message__is_internal=True)
    files = []
    for a in attachments.order_by("pk"):
        path = archive.add_file("attachments", a.original_name, a.file.storage, a.file.name)
        files.append(
            {
                "ticket": numbers[a.ticket_id],
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "created_at": privacy.iso(a.created_at),
                "file": path,
            }
        )
    archive.add("attachments", files)
    archive.add(
        "emails_received",
        [
            {
                "subject": e.subject,
                "from": e.sender,
                "received_at": privacy.iso(e.received_at),
                "outcome": e.outcome,
                "text": e.original_text,
            }
            for e in InboundEmail.objects.filter(sender=subject.email).order_by("pk")
        ],
    )


def _held(subject: privacy.Subject, holds: privacy.Holds) -> list[str]:
    held = tickets_of(subject).filter(holds.held_filter())
    return [
        f"ticket {number} is under a legal hold"
        for number in held.values_list("number", flat=True)[:20]
    ]


def _texts(queryset, fields):
    """The queryset with a text alias `<field>_text` for each JSON field (for contains)."""
    return queryset.alias(**{f"{f}_text": Cast(f, TextField()) for f in fields})


def _mentioning(queryset, fields, subject: privacy.Subject | None):
    """The rows whose text fields may mention the person. With a subject, those that do,
    compared in SQL; without (retention: each ticket's own contact), every row, compared in
    Python by `scrub_rows`: the contact's address and name are encrypted columns."""
    if subject is None:
        return queryset
    q = Q(pk__in=[])
    for f in fields:
        for value in subject.identifiers():
            q |= Q(**{f"{f}__icontains": value})
    return queryset.filter(q)


def _placeholder(subject: privacy.Subject | None, ticket_field: str):
    if subject is not None:
        return Value(subject.erased_email)
    return Concat(
        Value("erased-t"),
        Cast(ticket_field, CharField()),
        Value(f"@{privacy.ERASED_DOMAIN}"),
        output_field=CharField(),
    )


def anonymise_tickets(ticket_ids: list[int], subject: privacy.Subject | None = None) -> dict:
    """Strip the customer's identity and words from these tickets, keeping the records.

    Set-based: a bounded number of statements for the whole batch, plus one UPDATE per 500
    rows that mention the customer (other people's messages, events: `scrub_rows`). With no
    subject (retention), each ticket's own customer address and name are what is scrubbed;
    they are encrypted columns, so those rows are compared in Python, not in SQL.
    """
    ids = list(ticket_ids)
    tickets = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids).only(
            "pk", "customer_id", "customer_email", "customer_name", "sla_override_reason"
        )
    }
    ids = list(tickets)

    def who(ticket_id) -> privacy.Subject:
        if subject is not None:
            return subject
        t = tickets[ticket_id]
        return privacy.Subject(email=t.customer_email, name=t.customer_name, tag=f"t{t.pk}")

    def who_wrote(row) -> privacy.Subject:
        return who(row.ticket_id)

    done = {"tickets": 0, "messages": 0, "attachments": 0, "events": 0, "emails_received": 0}
    messages = TicketMessage.objects.filter(ticket_id__in=ids)
    by_customer = Q(sender_type="customer") | Q(author_id=F("ticket__customer_id"))
    if subject is not None and subject.user_id:
        by_customer |= Q(author_id=subject.user_id)
    # Other people's messages first: the customer's own lose their text below.
    others = _mentioning(messages.exclude(by_customer), MESSAGE_TEXT, subject)
    scrubbed = privacy.scrub_rows(others, MESSAGE_TEXT, who_wrote, load=("ticket_id",))
    done["messages"] = len(scrubbed) + messages.filter(by_customer).update(
        body_html=ERASED_HTML, body_text=privacy.ERASED, email_message_id=""
    )
    files = list(Attachment.objects.filter(ticket_id__in=ids))
    for a in files:
        a.file.delete(save=False)
    done["attachments"] = Attachment.objects.filter(pk__in=[a.pk for a in files]).delete()[0]

    event_fields = ("before", "after", "metadata")
    events = _mentioning(
        _texts(unguarded(TicketEvent).filter(ticket_id__in=ids), event_fields),
        (*(f"{f}_text" for f in event_fields), "note"),
        subject,
    )
    scrubbed = privacy.scrub_rows(events, ("note", *event_fields), who_wrote, load=("ticket_id",))
    if scrubbed:
        privacy.audit_scrubbed(TicketEvent, scrubbed)
    done["events"] = len(scrubbed)

    runs = _texts(TriggerRun.objects.filter(ticket_id__in=ids), ("changes", "plan"))
    runs = _mentioning(runs, ("changes_text", "plan_text"), subject)
    privacy.scrub_rows(runs, ("changes", "plan"), who_wrote, load=("ticket_id",))
    escalations = _texts(TicketEscalation.objects.filter(ticket_id__in=ids), ("notified",))
    escalations = _mentioning(escalations, ("reason", "notified_text"), subject)
    privacy.scrub_rows(escalations, ("reason", "notified"), who_wrote, load=("ticket_id",))
    done["emails_received"] = InboundEmail.objects.filter(ticket_id__in=ids).update(
        sender=_placeholder(subject, "ticket_id"),
        sender_name="",
        recipients=[],
        subject=privacy.ERASED,
        original_text="",
        raw_message=b"",
    )
    TicketAccessLink.objects.filter(ticket_id__in=ids).delete()
    for t in tickets.values():
        if t.sla_override_reason:
            Ticket.objects.filter(pk=t.pk).update(
                sla_override_reason=privacy.scrub(t.sla_override_reason, who(t.pk))
            )
    # The contact columns are encrypted: the placeholder address is written encrypted too, with
    # its hash (one statement for a person's erasure, one `update_rows` for a retention batch).
    erased = {
        "customer_name": "",
        "customer_name_hash": "",
        "subject": privacy.ERASED,
        "description": "",
        "description_text": "",
        "satisfaction_comment": "",
    }
    if subject is not None:
        erased.update(
            customer_email=subject.erased_email,
            customer_email_hash=keyed_hash(subject.erased_email),
        )
    # The search document is rebuilt by the table's trigger from the new values.
    done["tickets"] = Ticket.objects.filter(pk__in=ids).update(**erased)
    if subject is None:
        placeholders = []
        for pk in ids:
            address = privacy.erased_email(f"t{pk}")
            placeholders.append(
                Ticket(pk=pk, customer_email=address, customer_email_hash=keyed_hash(address))
            )
        update_rows(Ticket, placeholders, ["customer_email", "customer_email_hash"])
    return done


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    ids = list(tickets_of(subject).filter(holds.ticket_filter()).values_list("pk", flat=True))
    done = anonymise_tickets(ids, subject)
    # What they wrote elsewhere (staff replies and notes) keeps its text without their name.
    if subject.user_id:
        written = TicketMessage.objects.filter(author_id=subject.user_id).exclude(ticket_id__in=ids)
        done["messages"] += len(privacy.scrub_rows(written, MESSAGE_TEXT, subject))
        done["saved_queue_views"] = SavedQueueView.objects.filter(user_id=subject.user_id).delete()[
            0
        ]
    done["emails_received"] += InboundEmail.objects.filter(sender=subject.email).update(
        sender=subject.erased_email,
        sender_name="",
        recipients=[],
        subject=privacy.ERASED,
        original_text="",
        raw_message=b"",
    )
    TicketAccessLink.objects.filter(email=subject.email).delete()
    return done


# --- retention --------------------------------------------------------------------------------


def _closed_tickets_due(cutoff, holds: privacy.Holds, action: str):
    due = Ticket.objects.filter(status__in=["closed", "cancelled"], closed_at__lt=cutoff).filter(
        holds.ticket_filter()
    )
    if action == "anonymise":
        # Anonymised tickets carry the erased subject (the contact columns are encrypted).
        due = due.exclude(subject=privacy.ERASED)
    return due


def _apply_closed_tickets(action: str, pks: list[int]) -> int:
    if action == "delete":
        for a in Attachment.objects.filter(ticket_id__in=pks):
            a.file.delete(save=False)
        # Their history goes with them (the foreign key cascades): the audit chain is told.
        events = unguarded(TicketEvent).filter(ticket_id__in=pks).values_list("pk", flat=True)
        privacy.audit_removed(TicketEvent, list(events))
        TicketAccessLink.objects.filter(ticket_id__in=pks).delete()
        InboundEmail.objects.filter(ticket_id__in=pks).delete()
        return Ticket.objects.filter(pk__in=pks).delete()[1].get("support.Ticket", 0)
    Ticket.objects.filter(pk__in=pks).update(customer=None)
    return anonymise_tickets(pks)["tickets"]


def _attachments_due(cutoff, holds: privacy.Holds, action: str):
    return Attachment.objects.filter(created_at__lt=cutoff).filter(holds.ticket_filter("ticket__"))


def _apply_attachments(action: str, pks: list[int]) -> int:
    count = 0
    for a in Attachment.objects.filter(pk__in=pks):
        a.file.delete(save=False)
        a.delete()
        count += 1
    return count


def _inbound_due(cutoff, holds: privacy.Holds, action: str):
    return InboundEmail.objects.filter(received_at__lt=cutoff).filter(
        Q(ticket__isnull=True) | holds.ticket_filter("ticket__")
    )


def _apply_inbound(action: str, pks: list[int]) -> int:
    return InboundEmail.objects.filter(pk__in=pks).delete()[0]


def register() -> None:
    privacy.register(
        privacy.Part(
            name="support",
            models=(
                "support.Ticket",
                "support.TicketMessage",
                "support.MessageRecipient",
                "support.Attachment",
                "support.TicketEvent",
                "support.TicketAccessLink",
                "support.TicketEscalation",
                "support.InboundEmail",
                "support.SavedQueueView",
                "support.TriggerRun",
            ),
            export=export,
            erase=erase,
            blocks=_held,
            order=50,
        )
    )
    privacy.exempt(
        [
            "support.Category",
            "support.Tag",
            "support.SLAPolicy",
            "support.EscalationPolicy",
            "support.EscalationLevel",
            "support.ResponseTemplate",
            "support.Rule",
            "support.RuleEvent",
            "support.RuleFiring",
            "support.Team",
            "support.AgentProfile",
            "support.AgentProfileEvent",
            "support.TicketLink",
            "support.TicketArticle",
        ],
        "configuration, links and staff ids: no customer's words or contact details",
    )
    privacy.register_retention(
        privacy.RetentionKind(
            key="support.closed_tickets",
            label="Closed tickets and their messages",
            actions=("anonymise", "delete"),
            default_days=730,
            default_action="anonymise",
            due=_closed_tickets_due,
            apply=_apply_closed_tickets,
        )
    )
    privacy.register_retention(
        privacy.RetentionKind(
            key="support.attachments",
            label="Ticket attachments",
            actions=("delete",),
            default_days=365,
            default_action="delete",
            due=_attachments_due,
            apply=_apply_attachments,
        )
    )
    privacy.register_retention(
        privacy.RetentionKind(
            key="support.inbound_emails",
            label="Received e-mails (raw messages)",
            actions=("delete",),
            default_days=90,
            default_action="delete",
            due=_inbound_due,
            apply=_apply_inbound,
        )
    )
