"""What the owner and the reviewers are told, always through the outbox (once per key).

Keys name the document and the step (or the reminder row), so a retried transaction or a
redelivered task never sends twice.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from core.notifications import notify_email, notify_in_app
from core.roles import Role

from .models import ActivityKind

SUBJECT_PREFIX = "Insurance document"


def _describe(document) -> str:
    return f"{document.insurer} policy {document.policy_number}"


def owner_url(document) -> str:
    return settings.SITE_URL + reverse("insurance-help-document", args=[document.pk])


def reviewer_url(document) -> str:
    return settings.SITE_URL + reverse("insurance-desk-document", args=[document.pk])


def _tell_owner(document, *, key: str, subject: str, body: str) -> None:
    owner = document.owner
    url = owner_url(document)
    notify_email(
        key=f"{key}:email",
        to=owner.email,
        user=owner,
        subject=subject,
        body=f"{body}\n\nYour document: {url}",
    )
    notify_in_app(
        key=f"{key}:in-app", user=owner, title=subject, body=body.split("\n", 1)[0], url=url
    )


def reviewers():
    """Active users with the reviewer role (admins review too, but are not paged for it)."""
    return get_user_model().objects.filter(Q(groups__name=Role.REVIEWER), is_active=True).distinct()


def decision(document, kind) -> None:
    if kind == ActivityKind.APPROVED:
        subject = f"{SUBJECT_PREFIX} approved: {_describe(document)}"
        body = (
            f"Your insurance document ({_describe(document)}) has been approved. "
            f"It covers you until {document.coverage_end:%d %B %Y}; we will remind you before "
            "then."
        )
    else:
        subject = f"{SUBJECT_PREFIX} rejected: {_describe(document)}"
        body = (
            f"Your insurance document ({_describe(document)}) was not accepted.\n\n"
            f"Reason: {document.decision_reason}\n\nPlease send a new version."
        )
    _tell_owner(
        document,
        key=f"insurance:{document.pk}:{kind}:{document.decided_at:%Y%m%dT%H%M%S.%f}",
        subject=subject,
        body=body,
    )


def _checklist(items) -> str:
    lines = []
    for item in items:
        line = f"- {item.needed}"
        if item.instructions:
            line += f": {item.instructions}"
        lines.append(line)
    return "\n".join(lines)


def info_requested(document, request) -> None:
    body = f"We need more information about your insurance document ({_describe(document)}):\n\n"
    if request.message:
        body += request.message + "\n\n"
    body += _checklist(request.items.all())
    _tell_owner(
        document,
        key=f"insurance:{document.pk}:request:{request.pk}",
        subject=f"{SUBJECT_PREFIX}: information needed ({_describe(document)})",
        body=body,
    )


def missing_info_reminder(document, reminder, outstanding) -> None:
    body = (
        f"Reminder: we still need this for your insurance document ({_describe(document)}):\n\n"
        + _checklist(outstanding)
    )
    _tell_owner(
        document,
        key=reminder.idempotency_key,
        subject=f"{SUBJECT_PREFIX}: information still needed ({_describe(document)})",
        body=body,
    )


def expiry_reminder(document, reminder) -> None:
    when = {
        "expiry_7d": "in 7 days",
        "expiry_3d": "in 3 days",
        "expiry_0d": "today",
    }[reminder.kind]
    _tell_owner(
        document,
        key=reminder.idempotency_key,
        subject=f"{SUBJECT_PREFIX} expires {when}: {_describe(document)}",
        body=(
            f"Your insurance ({_describe(document)}) ends {when}, on "
            f"{document.coverage_end:%d %B %Y}. Please send the renewed policy before then."
        ),
    )


def back_in_review(document) -> None:
    if document.reviewer_id is None or not document.reviewer.is_active:
        return
    notify_in_app(
        key=f"insurance:{document.pk}:back-in-review:{document.updated_at:%Y%m%dT%H%M%S.%f}",
        user=document.reviewer,
        title=f"Information provided: {_describe(document)}",
        body="Every requested item was provided; the document is back in review.",
        url=reviewer_url(document),
    )


def expired(document) -> None:
    _tell_owner(
        document,
        key=f"insurance:{document.pk}:expired",
        subject=f"{SUBJECT_PREFIX} expired: {_describe(document)}",
        body=(
            f"Your insurance ({_describe(document)}) ended on {document.coverage_end:%d %B %Y}. "
            "Please send the renewed policy."
        ),
    )
    for reviewer in reviewers():
        notify_in_app(
            key=f"insurance:{document.pk}:expired:reviewer:{reviewer.pk}",
            user=reviewer,
            title=f"Expired: {_describe(document)}",
            body=f"{document.owner.email}'s insurance ended on {document.coverage_end:%Y-%m-%d}.",
            url=reviewer_url(document),
        )
