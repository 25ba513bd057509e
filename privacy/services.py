"""Privacy work: requests (export, erasure), their confirmation, legal holds, and the two engines
that run every registered part of `core.privacy`.

Rules that hold here:
- Only support leads and admins ask; a different lead or admin confirms what needs confirming
  (every erasure; an export with internal notes, which only a staff member's export may have).
- An erasure runs at the end of its grace period (`PRIVACY_ERASURE_GRACE_DAYS`) as core
  scheduled work, in one transaction over every part: all of it happens, or none.
- A legal hold on the person's organisation, or on a ticket of theirs, blocks the erasure.
- Each step is a `PrivacyEvent`; an erasure's event says how many of what were erased, never
  what they contained.
"""

import io
import json
import zipfile
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core import audit, privacy, scheduling
from core.errors import Conflict, DomainError
from core.models import User

from . import permissions
from .models import (
    OPEN_STATUSES,
    ErasureWork,
    LegalHold,
    PrivacyEvent,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
)

SIGNING_SALT = "privacy.export-download"


def grace_period() -> timedelta:
    return timedelta(days=getattr(settings, "PRIVACY_ERASURE_GRACE_DAYS", 7))


def link_lifetime() -> timedelta:
    return timedelta(hours=getattr(settings, "PRIVACY_EXPORT_LINK_HOURS", 48))


def _record(kind, *, by=None, request=None, **metadata):
    return audit.record(PrivacyEvent, kind=kind, actor=by, request=request, metadata=metadata)


# --- holds ------------------------------------------------------------------------------------


def active_holds() -> privacy.Holds:
    rows = LegalHold.objects.filter(released_at__isnull=True).values_list(
        "organization_id", "ticket_id"
    )
    orgs, tickets = set(), set()
    for organization_id, ticket_id in rows:
        if organization_id:
            orgs.add(organization_id)
        if ticket_id:
            tickets.add(ticket_id)
    return privacy.Holds(organization_ids=frozenset(orgs), ticket_ids=frozenset(tickets))


def place_hold(*, by, reason: str, organization=None, ticket=None) -> LegalHold:
    permissions.can_manage.require(by)
    if (organization is None) == (ticket is None):
        raise DomainError("A hold is on one organisation or one ticket.")
    if not reason.strip():
        raise DomainError("A hold needs a reason.", errors={"reason": ["Required."]})
    with transaction.atomic():
        hold = LegalHold.objects.create(
            organization=organization, ticket=ticket, reason=reason.strip(), placed_by=by
        )
        _record(
            PrivacyEvent.Kind.HOLD_PLACED,
            by=by,
            hold=hold.pk,
            organization=organization and organization.pk,
            ticket=ticket and ticket.pk,
        )
    return hold


def release_hold(*, hold: LegalHold, by) -> LegalHold:
    permissions.can_manage.require(by)
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if hold.released_at:
            return hold
        hold.released_at, hold.released_by = timezone.now(), by
        hold.save(update_fields=["released_at", "released_by"])
        _record(PrivacyEvent.Kind.HOLD_RELEASED, by=by, hold=hold.pk)
    return hold


def blocking_reasons(subject: privacy.Subject, holds: privacy.Holds | None = None) -> list[str]:
    holds = holds or active_holds()
    reasons = []
    if subject.user_id and holds.organization_ids:
        org = User.objects.filter(pk=subject.user_id).values_list("organization_id", flat=True)
        if org and org[0] in holds.organization_ids:
            reasons.append("their organisation is under a legal hold")
    for part in privacy.parts():
        if part.blocks:
            reasons += part.blocks(subject, holds)
    return reasons


# --- requests ---------------------------------------------------------------------------------


def subject_of(request: PrivacyRequest) -> privacy.Subject:
    tag = request.number
    if request.subject_user_id:
        return privacy.Subject.of_user(
            request.subject_user, include_internal=request.include_internal_notes, tag=tag
        )
    return privacy.Subject(email=request.subject_email, tag=tag)


def create_request(
    *,
    by,
    kind: str,
    user=None,
    email: str = "",
    include_internal_notes: bool = False,
    reason: str = "",
) -> PrivacyRequest:
    """Ask for an export or erasure of one person (an account, or an address without one).

    An export without internal notes is confirmed at once and queued; the rest wait for a
    second lead's confirmation.
    """
    permissions.can_manage.require(by)
    if kind not in RequestKind.values:
        raise DomainError("Unknown kind of request.", errors={"kind": ["Unknown."]})
    if user is None:
        email = email.strip().lower()
        if not email:
            raise DomainError(
                "Name the person: an account or an address.", errors={"email": ["Required."]}
            )
        user = User.objects.with_email(email).first()
    email = user.email.lower() if user else email
    if include_internal_notes:
        if kind != RequestKind.EXPORT:
            raise DomainError(
                "Internal notes belong to exports only.",
                errors={"include_internal_notes": ["Exports only."]},
            )
        if user is None or not privacy.Subject.of_user(user).is_staff:
            raise DomainError(
                "Internal notes go only into a staff member's export.",
                errors={"include_internal_notes": ["Staff members' exports only."]},
            )
    with transaction.atomic():
        if PrivacyRequest.objects.filter(
            kind=kind, subject_email=email, status__in=OPEN_STATUSES
        ).exists():
            raise Conflict("This person already has an open request of this kind.")
        request = PrivacyRequest.objects.create(
            kind=kind,
            subject_user=user,
            subject_email=email,
            include_internal_notes=include_internal_notes,
            reason=reason.strip(),
            requested_by=by,
        )
        _record(
            PrivacyEvent.Kind.REQUESTED,
            by=by,
            request=request,
            request_kind=kind,
            internal_notes=include_internal_notes,
        )
        if kind == RequestKind.EXPORT and not include_internal_notes:
            _approve(request, by=by)
    return request


def approve(*, request: PrivacyRequest, by) -> PrivacyRequest:
    """A second lead confirms: an export is queued, an erasure scheduled after its grace period."""
    permissions.can_confirm.require(by, request)
    with transaction.atomic():
        request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.PENDING:
            raise Conflict(f"The request is {request.get_status_display().lower()}.")
        _approve(request, by=by)
    return request


def _approve(request: PrivacyRequest, *, by) -> None:
    from core.jobs import enqueue_on_commit

    from . import tasks

    now = timezone.now()
    request.status = RequestStatus.APPROVED
    request.approved_by, request.approved_at = by, now
    if request.kind == RequestKind.ERASURE:
        request.due_at = now + grace_period()
        scheduling.schedule(
            ErasureWork, key=f"erasure:{request.pk}", due_at=request.due_at, request=request
        )
    request.save(update_fields=["status", "approved_by", "approved_at", "due_at"])
    _record(PrivacyEvent.Kind.APPROVED, by=by, request=request, due_at=privacy.iso(request.due_at))
    if request.kind == RequestKind.EXPORT:
        enqueue_on_commit(tasks.build_export, request.pk)


def reject(*, request: PrivacyRequest, by, reason: str = "") -> PrivacyRequest:
    permissions.can_confirm.require(by, request)
    return _close(request, by=by, status=RequestStatus.REJECTED, only=[RequestStatus.PENDING])


def cancel(*, request: PrivacyRequest, by) -> PrivacyRequest:
    """Withdraw a request before it runs (an erasure until its grace period ends)."""
    permissions.can_manage.require(by, request)
    return _close(
        request,
        by=by,
        status=RequestStatus.CANCELLED,
        only=[RequestStatus.PENDING, RequestStatus.APPROVED],
    )


def _close(request, *, by, status, only) -> PrivacyRequest:
    with transaction.atomic():
        request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in only:
            raise Conflict(f"The request is {request.get_status_display().lower()}.")
        request.status, request.finished_at = status, timezone.now()
        request.save(update_fields=["status", "finished_at"])
        scheduling.cancel(ErasureWork.objects.filter(request=request))
        kind = {
            RequestStatus.REJECTED: PrivacyEvent.Kind.REJECTED,
            RequestStatus.CANCELLED: PrivacyEvent.Kind.CANCELLED,
        }[status]
        _record(kind, by=by, request=request)
    return request


# --- export -----------------------------------------------------------------------------------


def build_export(request_id: int, *, progress=None) -> PrivacyRequest | None:
    """Collect every part's records and files into one zip (data.json + files/), store it and
    give it an expiry. Progress is committed after each part, so a page can show it.

    Idempotent: a request that is not approved (already built, cancelled) is left alone; a
    running one whose worker died is built again from the start.
    """
    with transaction.atomic():
        request = (
            PrivacyRequest.objects.select_for_update(of=("self",))
            .filter(pk=request_id, kind=RequestKind.EXPORT)
            .select_related("subject_user")
            .first()
        )
        if request is None or request.status not in (RequestStatus.APPROVED, RequestStatus.RUNNING):
            return None
        request.status, request.started_at, request.progress = (
            RequestStatus.RUNNING,
            timezone.now(),
            0,
        )
        request.save(update_fields=["status", "started_at", "progress"])
    subject = subject_of(request)
    archive = privacy.Archive()
    parts = [p for p in privacy.parts() if p.export]
    for index, part in enumerate(parts, start=1):
        part.export(subject, archive)
        _progress(request, int(90 * index / len(parts)), f"Collected {part.name}")
    document = {
        "request": request.number,
        "generated_at": timezone.now().isoformat(),
        "subject": {"email": subject.email, "account": bool(subject.user_id)},
        "internal_notes_included": subject.include_internal,
        "sections": archive.sections,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(document, indent=2, ensure_ascii=False, default=str))
        for path, storage, name in archive.files:
            try:
                with storage.open(name, "rb") as fh:
                    zf.writestr(path, fh.read())
            except (FileNotFoundError, OSError):
                zf.writestr(path + ".missing", b"")
    size = buffer.tell()
    buffer.seek(0)
    with transaction.atomic():
        request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.RUNNING:
            return request
        if request.archive:
            request.archive.delete(save=False)
        request.archive.save(
            f"{request.number}-{timezone.now():%Y%m%d%H%M%S}.zip", File(buffer), save=False
        )
        request.archive_size = size
        request.status, request.progress, request.progress_note = RequestStatus.DONE, 100, "Ready"
        request.finished_at = timezone.now()
        request.expires_at = request.finished_at + link_lifetime()
        request.result = {name: len(rows) for name, rows in archive.sections.items()}
        request.result["files"] = len(archive.files)
        request.save()
        _record(
            PrivacyEvent.Kind.EXPORTED, request=request, size=size, **{"counts": request.result}
        )
    return request


def _progress(request, percent: int, note: str) -> None:
    PrivacyRequest.objects.filter(pk=request.pk, status=RequestStatus.RUNNING).update(
        progress=percent, progress_note=note[:200]
    )


def download_token(request: PrivacyRequest) -> str:
    return signing.TimestampSigner(salt=SIGNING_SALT).sign(f"{request.pk}:{request.archive.name}")


def download_url(request: PrivacyRequest) -> str | None:
    if request.status != RequestStatus.DONE or not request.archive or request.kind != "export":
        return None
    return reverse("privacy:download", args=[download_token(request)])


def open_download(token: str, *, by) -> PrivacyRequest:
    """The export a signed link names, if the link is genuine, unexpired and for its current
    archive; each download is recorded. Raises `signing.BadSignature` otherwise."""
    permissions.can_manage.require(by)
    value = signing.TimestampSigner(salt=SIGNING_SALT).unsign(
        token, max_age=link_lifetime().total_seconds()
    )
    pk, name = value.split(":", 1)
    request = PrivacyRequest.objects.filter(pk=int(pk), status=RequestStatus.DONE).first()
    if request is None or request.archive.name != name or request.expires_at < timezone.now():
        raise signing.BadSignature("This link no longer opens an export.")
    _record(PrivacyEvent.Kind.DOWNLOADED, by=by, request=request)
    return request


# --- erasure ----------------------------------------------------------------------------------


def run_erasure(request: PrivacyRequest) -> PrivacyRequest:
    """Anonymise the person in every part, in the caller's transaction (the scheduled work's).

    A hold found now (placed during the grace period) blocks it: nothing is erased and the
    request says so.
    """
    request = (
        PrivacyRequest.objects.select_for_update(of=("self",))
        .select_related("subject_user")
        .get(pk=request.pk)
    )
    if request.status != RequestStatus.APPROVED or request.kind != RequestKind.ERASURE:
        return request
    subject = subject_of(request)
    holds = active_holds()
    reasons = blocking_reasons(subject, holds)
    now = timezone.now()
    if reasons:
        request.status, request.finished_at = RequestStatus.BLOCKED, now
        request.error = "; ".join(reasons)[:2000]
        request.save(update_fields=["status", "finished_at", "error"])
        _record(PrivacyEvent.Kind.BLOCKED, request=request, holds=len(reasons))
        return request
    erased: dict[str, int] = {}
    for part in privacy.parts():
        if part.erase:
            for what, count in part.erase(subject, holds).items():
                if count:
                    erased[f"{part.name}.{what}"] = erased.get(f"{part.name}.{what}", 0) + count
    request.status, request.finished_at = RequestStatus.DONE, now
    request.subject_email = subject.erased_email
    request.reason = ""
    request.result = erased
    request.save(update_fields=["status", "finished_at", "subject_email", "reason", "result"])
    _record(PrivacyEvent.Kind.ERASED, request=request, erased=erased)
    return request


def erase_own_requests(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    """The privacy app's own part: earlier requests about the person keep their trail, with
    the address replaced and their archives deleted."""
    rows = PrivacyRequest.objects.filter(subject_email=subject.email)
    files = 0
    for request in rows.exclude(archive=""):
        request.archive.delete(save=False)
        files += 1
    count = rows.update(subject_email=subject.erased_email, reason="", archive="")
    done = {"requests": count, "archives": files}
    if subject.user_id:
        # Sign-in records keep their kind and time; the client addresses go.
        from core.privacy_parts import unguarded

        from .models import AccountEvent

        events = unguarded(AccountEvent).filter(user_id=subject.user_id).exclude(metadata={})
        pks = list(events.values_list("pk", flat=True))
        if pks:
            unguarded(AccountEvent).filter(pk__in=pks).update(metadata={})
            privacy.audit_scrubbed(AccountEvent, pks)
        done["account_events"] = len(pks)
    return done
