"""Every change to an insurance document: checked, made under the document's lock, on the record.

Each function checks who may (`permissions`), then whether the document's state allows it
(`workflow.DOCUMENT`, a refusal is a 409 naming the allowed targets), then changes the rows and
writes the `DocumentActivity` in the same transaction. Files are validated (sniffed by content,
PDF or image, size cap) and stored before that transaction (`core.attachments.stored_uploads`),
never under the document's row lock. E-mail goes through the outbox only.
"""

from datetime import UTC, date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import scheduling
from core.attachments import stored_uploads
from core.audit import record
from core.errors import Conflict
from core.workflow import SYSTEM

from . import notifications, reminders
from .models import (
    BUCKET,
    ActivityKind,
    CoverageType,
    DocumentActivity,
    InfoRequest,
    InfoRequestItem,
    InsuranceDocument,
    Reminder,
    ReminderKind,
    Status,
)
from .permissions import can_act_as_owner, can_review, can_submit, can_update, is_reviewer
from .workflow import DOCUMENT, REVIEWER

#: What a proof of insurance may be: a PDF or a photo/scan of it (sniffed, never the name).
DOCUMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/webp")
POLICY_FIELDS = ("policy_number", "insurer", "coverage_type", "coverage_start", "coverage_end")
MAX_ITEMS = 20
# An owner may change the policy fields while the document waits for a decision; once it is
# decided, a change is a new version (`replace`), or a reviewer's correction.
OWNER_EDITABLE = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW, Status.INFO_REQUESTED})
REVIEWER_EDITABLE = OWNER_EDITABLE | {Status.APPROVED}


# --- helpers ------------------------------------------------------------------------------------


def _activity(document, kind, *, by=None, reason="", before=None, after=None, **metadata):
    return record(
        DocumentActivity,
        kind=kind,
        actor=by,
        before=before,
        after=after,
        metadata=metadata,
        document=document,
        reason=reason,
    )


@transaction.atomic
def record_download(*, document, by, **what) -> None:
    """A file of `document` was handed to `by` (the page or the API): on the record."""
    _activity(document, ActivityKind.DOWNLOADED, by=by, **what)


def _locked(document) -> InsuranceDocument:
    return InsuranceDocument.objects.select_for_update().select_related("owner").get(pk=document.pk)


def _upload(files, *, by):
    return stored_uploads(
        files,
        bucket=BUCKET,
        allowed_types=DOCUMENT_TYPES,
        max_bytes=settings.INSURANCE_DOCUMENT_MAX_BYTES,
        uploader=by,
    )


def _policy_snapshot(document) -> dict:
    return {
        name: (value.isoformat() if isinstance(value, date) else value)
        for name in POLICY_FIELDS
        if (value := getattr(document, name)) is not None
    }


def check_policy(values: dict) -> dict:
    """The policy fields cleaned, or `ValidationError` naming each bad one; nothing is changed."""
    errors = {}
    cleaned = {}
    for name in ("policy_number", "insurer"):
        if name in values:
            text = (values[name] or "").strip()
            if not text:
                errors[name] = "This field is required."
            cleaned[name] = text
    if "coverage_type" in values:
        if values["coverage_type"] not in CoverageType.values:
            errors["coverage_type"] = f"{values['coverage_type']!r} is not a coverage type."
        cleaned["coverage_type"] = values["coverage_type"]
    for name in ("coverage_start", "coverage_end"):
        if name in values:
            if not isinstance(values[name], date) or isinstance(values[name], datetime):
                errors[name] = "A date is required."
            cleaned[name] = values[name]
    start, end = cleaned.get("coverage_start"), cleaned.get("coverage_end")
    if isinstance(start, date) and isinstance(end, date) and end <= start:
        errors["coverage_end"] = "The coverage must end after it starts."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _notify_owner_of_decision(document, kind):
    notifications.decision(document, kind)


# --- submitting and replacing -------------------------------------------------------------------


def submit(
    *,
    by,
    file,
    policy_number: str,
    insurer: str,
    coverage_type: str,
    coverage_start: date,
    coverage_end: date,
    replaces: InsuranceDocument | None = None,
) -> InsuranceDocument:
    """A new document of `by`'s, status submitted, with its `submitted` activity."""
    can_submit.require(by)
    policy = check_policy(
        {
            "policy_number": policy_number,
            "insurer": insurer,
            "coverage_type": coverage_type,
            "coverage_start": coverage_start,
            "coverage_end": coverage_end,
        }
    )
    with _upload([file], by=by) as [stored], transaction.atomic():
        old = None
        if replaces is not None:
            old = _locked(replaces)
            _check_replaceable(old, by=by)
        document = InsuranceDocument.objects.create(
            owner=by,
            organization_id=by.organization_id,
            file=stored.name,
            file_name=stored.upload.safe_name,
            content_type=stored.upload.content_type,
            size=stored.upload.size,
            sha256=stored.upload.sha256,
            replaces=old,
            **policy,
        )
        _activity(
            document,
            ActivityKind.SUBMITTED,
            by=by,
            after=_policy_snapshot(document),
            file=document.file_name,
            **({"replaces": old.pk} if old else {}),
        )
        # An approved version stays in force until its replacement is approved (`approve`).
        if old is not None and old.status != Status.APPROVED:
            _supersede(old, replacement=document, by=by)
    return document


def replace(*, document: InsuranceDocument, by, file, **changes) -> InsuranceDocument:
    """A new version of `document` (policy fields not given are copied); see `submit`."""
    can_act_as_owner.require(by, document)
    _check_replaceable(document, by=by)
    values = {name: changes.get(name, getattr(document, name)) for name in POLICY_FIELDS}
    return submit(by=by, file=file, replaces=document, **values)


def _check_replaceable(document, *, by):
    can_act_as_owner.require(by, document)
    DOCUMENT.check(document.status, Status.SUPERSEDED, party=SYSTEM)
    pending = document.replacements.exclude(status__in=[Status.REJECTED, Status.SUPERSEDED])
    if newer := pending.first():
        raise Conflict(
            f"Document {document.pk} is already being replaced by document {newer.pk}; "
            "replace that one instead.",
            extra={"replacement": newer.pk},
        )


def _supersede(document, *, replacement, by):
    DOCUMENT.check(document.status, Status.SUPERSEDED, party=SYSTEM)
    before = document.status
    document.status = Status.SUPERSEDED
    document.updated_at = timezone.now()
    document.save(update_fields=["status", "updated_at"])
    _activity(
        document,
        ActivityKind.SUPERSEDED,
        by=by,
        before={"status": before},
        after={"status": document.status},
        replaced_by=replacement.pk,
    )
    _cancel_reminders(document, Reminder.objects.filter(document=document), by=by)


# --- review -------------------------------------------------------------------------------------


def _move(document, target, *, by, party=REVIEWER):
    DOCUMENT.check(document.status, target, party=party)
    before = document.status
    document.status = target
    document.updated_at = timezone.now()
    return before


def start_review(*, document: InsuranceDocument, by) -> InsuranceDocument:
    can_review.require(by, document)
    with transaction.atomic():
        document = _locked(document)
        before = _move(document, Status.UNDER_REVIEW, by=by)
        document.reviewer = by
        document.save(update_fields=["status", "reviewer", "updated_at"])
        _activity(
            document,
            ActivityKind.REVIEW_STARTED,
            by=by,
            before={"status": before},
            after={"status": document.status},
        )
    return document


def approve(*, document: InsuranceDocument, by, reason: str = "") -> InsuranceDocument:
    """Approved, with its three expiry reminders scheduled in the owner's time zone; the version
    it replaces (if still in force) is superseded and its pending reminders cancelled."""
    can_review.require(by, document)
    with transaction.atomic():
        document = _locked(document)
        DOCUMENT.check(document.status, Status.APPROVED, party=REVIEWER)
        if document.coverage_end < reminders.owner_today(document):
            raise Conflict(
                f"The coverage ended on {document.coverage_end:%Y-%m-%d}; "
                "a lapsed policy cannot be approved.",
                code="coverage_ended",
            )
        before = _move(document, Status.APPROVED, by=by)
        document.reviewer = by
        document.decision_reason = reason.strip()
        document.decided_at = timezone.now()
        document.save(
            update_fields=["status", "reviewer", "decision_reason", "decided_at", "updated_at"]
        )
        scheduled = reminders.schedule_expiry(document)
        _activity(
            document,
            ActivityKind.APPROVED,
            by=by,
            reason=document.decision_reason,
            before={"status": before},
            after={"status": document.status},
            reminders=[r.due_at.isoformat() for r in scheduled],
        )
        if document.replaces_id:
            old = _locked(document.replaces)
            if old.status != Status.SUPERSEDED:
                _supersede(old, replacement=document, by=by)
        _notify_owner_of_decision(document, ActivityKind.APPROVED)
    return document


def reject(*, document: InsuranceDocument, by, reason: str) -> InsuranceDocument:
    can_review.require(by, document)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the document is rejected."})
    with transaction.atomic():
        document = _locked(document)
        before = _move(document, Status.REJECTED, by=by)
        document.reviewer = by
        document.decision_reason = reason
        document.decided_at = timezone.now()
        document.save(
            update_fields=["status", "reviewer", "decision_reason", "decided_at", "updated_at"]
        )
        _activity(
            document,
            ActivityKind.REJECTED,
            by=by,
            reason=reason,
            before={"status": before},
            after={"status": document.status},
        )
        _notify_owner_of_decision(document, ActivityKind.REJECTED)
    return document


def request_info(
    *, document: InsuranceDocument, by, items: list[dict], message: str = ""
) -> InfoRequest:
    """A checklist for the owner (each item: `needed`, optional `instructions`); the document
    waits in info_requested, and the owner is reminded every few days until it is complete."""
    can_review.require(by, document)
    cleaned = []
    for index, item in enumerate(items or []):
        needed = (item.get("needed") or "").strip()
        if not needed:
            raise ValidationError({"items": f"Item {index + 1} needs a description."})
        cleaned.append((needed[:200], (item.get("instructions") or "").strip()))
    if not cleaned:
        raise ValidationError({"items": "Name at least one thing that is needed."})
    if len(cleaned) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} items."})
    with transaction.atomic():
        document = _locked(document)
        before = _move(document, Status.INFO_REQUESTED, by=by)
        document.reviewer = by
        document.save(update_fields=["status", "reviewer", "updated_at"])
        request = InfoRequest.objects.create(
            document=document, requested_by=by, message=message.strip()
        )
        InfoRequestItem.objects.bulk_create(
            InfoRequestItem(request=request, position=i, needed=needed, instructions=instructions)
            for i, (needed, instructions) in enumerate(cleaned, start=1)
        )
        _activity(
            document,
            ActivityKind.INFO_REQUESTED,
            by=by,
            reason=request.message,
            before={"status": before},
            after={"status": document.status, "items": [needed for needed, _ in cleaned]},
            request=request.pk,
        )
        reminders.schedule_missing_info(request, sequence=1)
        notifications.info_requested(document, request)
    return request


def provide_info(
    *, document: InsuranceDocument, by, item: InfoRequestItem, file, note: str = ""
) -> InfoRequestItem:
    """The owner's upload for one checklist item; the last one sends the document back to review
    and cancels the missing-information reminders."""
    can_act_as_owner.require(by, document)
    with _upload([file], by=by) as [stored], transaction.atomic():
        document = _locked(document)
        if document.status != Status.INFO_REQUESTED:
            raise Conflict(
                "No information is requested on this document.",
                extra={"status": document.status},
            )
        item = (
            InfoRequestItem.objects.select_for_update()
            .select_related("request")
            .get(pk=item.pk, request__document=document)
        )
        if item.request.fulfilled_at is not None or item.fulfilled_at is not None:
            raise Conflict(f"Item {item.position} has been answered already.")
        now = timezone.now()
        item.fulfilled_at, item.fulfilled_by, item.note = now, by, note.strip()
        item.file, item.file_name = stored.name, stored.upload.safe_name
        item.content_type, item.size = stored.upload.content_type, stored.upload.size
        item.sha256 = stored.upload.sha256
        item.save()
        _activity(
            document,
            ActivityKind.INFO_PROVIDED,
            by=by,
            reason=item.note,
            after={"item": item.needed, "file": item.file_name},
            request=item.request_id,
            item=item.pk,
        )
        request = item.request
        if not request.items.filter(fulfilled_at__isnull=True).exists():
            request.fulfilled_at = now
            request.save(update_fields=["fulfilled_at"])
            _cancel_reminders(document, Reminder.objects.filter(info_request=request), by=by)
            before = _move(document, Status.UNDER_REVIEW, by=by, party=SYSTEM)
            document.save(update_fields=["status", "updated_at"])
            _activity(
                document,
                ActivityKind.REVIEW_STARTED,
                before={"status": before},
                after={"status": document.status},
                request=request.pk,
                because="every requested item was provided",
            )
            notifications.back_in_review(document)
    return item


# --- changes ------------------------------------------------------------------------------------


def update(*, document: InsuranceDocument, by, **changes) -> InsuranceDocument:
    """Change policy fields. The owner may while the document waits for a decision; a reviewer
    may correct an approved one too, and a new end date reschedules its expiry reminders."""
    can_update.require(by, document)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    with transaction.atomic():
        document = _locked(document)
        editable = REVIEWER_EDITABLE if is_reviewer(by) else OWNER_EDITABLE
        if document.status not in editable:
            advice = "replace it with a new version" if document.owner_id == by.pk else ""
            raise Conflict(
                f"A document that is {document.get_status_display().lower()} cannot be changed"
                + (f"; {advice}." if advice else "."),
                extra={"status": document.status},
            )
        merged = {name: changes.get(name, getattr(document, name)) for name in POLICY_FIELDS}
        cleaned = check_policy(merged)
        changed = {n: v for n, v in cleaned.items() if n in changes and getattr(document, n) != v}
        if not changed:
            return document
        before = {n: v for n, v in _policy_snapshot(document).items() if n in changed}
        old_end = document.coverage_end
        for name, value in changed.items():
            setattr(document, name, value)
        document.updated_at = timezone.now()
        document.save(update_fields=[*changed, "updated_at"])
        _activity(
            document,
            ActivityKind.UPDATED,
            by=by,
            before=before,
            after={n: v for n, v in _policy_snapshot(document).items() if n in changed},
        )
        if document.status == Status.APPROVED and document.coverage_end != old_end:
            expiry = Reminder.objects.filter(
                document=document, kind__in=[k.value for k in reminders.EXPIRY_KINDS]
            )
            _cancel_reminders(document, expiry, by=by)
            reminders.schedule_expiry(document)
    return document


def expire(*, document: InsuranceDocument, now: datetime | None = None) -> InsuranceDocument | None:
    """Marks an approved document whose coverage has lapsed expired (the daily job); tells the
    owner and the reviewers. None when it is not (or no longer) due: safe to run again."""
    with transaction.atomic():
        document = _locked(document)
        if document.status != Status.APPROVED:
            return None
        if document.coverage_end >= reminders.owner_today(document, now=now):
            return None
        before = _move(document, Status.EXPIRED, by=None, party=SYSTEM)
        document.save(update_fields=["status", "updated_at"])
        _activity(
            document,
            ActivityKind.EXPIRED,
            before={"status": before},
            after={"status": document.status},
            coverage_end=document.coverage_end.isoformat(),
        )
        _cancel_reminders(document, Reminder.objects.filter(document=document), by=None)
        notifications.expired(document)
    return document


def expire_lapsed(*, now: datetime | None = None) -> int:
    """Expires every approved document whose last covered day has passed in its owner's zone.

    Candidates are those whose end is before tomorrow in UTC (no zone is more than a day
    ahead); each is then checked against its owner's own date, in its own transaction.
    """
    now = now or timezone.now()
    horizon = now.astimezone(UTC).date()
    candidates = InsuranceDocument.objects.filter(
        status=Status.APPROVED, coverage_end__lte=horizon
    ).values_list("pk", flat=True)
    expired = 0
    for pk in list(candidates.iterator(chunk_size=500)):
        if expire(document=InsuranceDocument(pk=pk), now=now) is not None:
            expired += 1
    return expired


# --- reminders ----------------------------------------------------------------------------------


def _cancel_reminders(document, queryset, *, by) -> int:
    pending = list(
        queryset.filter(state__in=scheduling.IN_FLIGHT).values_list("kind", "due_at", "pk")
    )
    cancelled = scheduling.cancel(queryset)
    if cancelled:
        _activity(
            document,
            ActivityKind.REMINDER_CANCELLED,
            by=by,
            before={"reminders": [f"{kind} {due:%Y-%m-%d %H:%M}" for kind, due, _ in pending]},
            reminders=[pk for *_, pk in pending],
        )
    return cancelled


def remind(*, document: InsuranceDocument, by) -> Reminder:
    """A reminder of the open checklist, asked for by a reviewer; sent by the next sweep.

    Respects the schedule: refused (409, with `next_allowed_at`) within
    `INSURANCE_REMINDER_COOLDOWN_HOURS` of the last reminder sent or asked for.
    """
    can_review.require(by, document)
    with transaction.atomic():
        document = _locked(document)
        request = document.info_requests.filter(fulfilled_at__isnull=True).first()
        if document.status != Status.INFO_REQUESTED or request is None:
            raise Conflict(
                "Only a document waiting for requested information can be reminded of it.",
                extra={"status": document.status},
            )
        now = timezone.now()
        next_allowed = reminders.next_manual_reminder_at(document)
        if next_allowed is not None and next_allowed > now:
            raise Conflict(
                f"A reminder went out recently; the next may be sent from {next_allowed:%Y-%m-%d}"
                f" {next_allowed:%H:%M} UTC.",
                code="reminded_recently",
                extra={"next_allowed_at": next_allowed.isoformat()},
            )
        reminder = scheduling.schedule(
            Reminder,
            key=f"insurance:{document.pk}:manual:{now:%Y%m%dT%H%M%S.%f}",
            due_at=now,
            document=document,
            info_request=request,
            kind=ReminderKind.MISSING_INFO,
            manual=True,
        )
    return reminder
