"""What insurance holds about a person (`core.privacy`): their documents, the files they sent
for information requests, and each document's activity.

Erasure deletes the files and clears the policy details, keeping each document's row, status,
dates and activity (the review record), so review figures stay whole.
"""

from core import privacy
from core.privacy_parts import scrub_events

from .models import DocumentActivity, InfoRequestItem, InsuranceDocument


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    if not subject.user_id:
        return
    documents = list(InsuranceDocument.objects.filter(owner_id=subject.user_id).order_by("pk"))
    records = []
    for d in documents:
        path = (
            archive.add_file("insurance", d.file_name, d.file.storage, d.file.name)
            if d.file
            else None
        )
        records.append(
            {
                "id": d.pk,
                "policy_number": d.policy_number,
                "insurer": d.insurer,
                "coverage_type": d.coverage_type,
                "coverage_start": privacy.iso(d.coverage_start),
                "coverage_end": privacy.iso(d.coverage_end),
                "status": d.status,
                "decision_reason": d.decision_reason,
                "submitted_at": privacy.iso(d.submitted_at),
                "decided_at": privacy.iso(d.decided_at),
                "file": path,
            }
        )
    archive.add("insurance_documents", records)
    items = []
    for item in (
        InfoRequestItem.objects.filter(request__document__owner_id=subject.user_id)
        .select_related("request")
        .order_by("pk")
    ):
        path = (
            archive.add_file("insurance", item.file_name, item.file.storage, item.file.name)
            if item.file
            else None
        )
        items.append(
            {
                "document": item.request.document_id,
                "needed": item.needed,
                "instructions": item.instructions,
                "note": item.note,
                "fulfilled_at": privacy.iso(item.fulfilled_at),
                "file": path,
            }
        )
    archive.add("insurance_information_requests", items)
    archive.add(
        "insurance_activity",
        [
            {
                "document": a.document_id,
                "kind": a.kind,
                "reason": a.reason,
                "at": privacy.iso(a.created_at),
            }
            for a in DocumentActivity.objects.filter(document__owner_id=subject.user_id).order_by(
                "pk"
            )
        ],
    )


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    if not subject.user_id:
        return {}
    documents = InsuranceDocument.objects.filter(owner_id=subject.user_id)
    files = 0
    for d in documents:
        if d.file:
            d.file.delete(save=False)
            files += 1
    for item in InfoRequestItem.objects.filter(request__document__owner_id=subject.user_id):
        if item.file:
            item.file.delete(save=False)
            files += 1
    InfoRequestItem.objects.filter(request__document__owner_id=subject.user_id).update(
        note="", file="", file_name="", sha256=""
    )
    count = documents.update(
        file="",
        file_name=privacy.ERASED,
        sha256="",
        policy_number=privacy.ERASED,
        insurer=privacy.ERASED,
    )
    events = scrub_events(
        DocumentActivity.objects.filter(document__owner_id=subject.user_id), subject, ("reason",)
    )
    return {"insurance_documents": count, "insurance_files": files, "insurance_activity": events}


def register() -> None:
    privacy.register(
        privacy.Part(
            name="insurance",
            models=(
                "insurance.InsuranceDocument",
                "insurance.InfoRequest",
                "insurance.InfoRequestItem",
                "insurance.DocumentActivity",
            ),
            export=export,
            erase=erase,
            order=40,
        )
    )
    privacy.exempt("insurance.Reminder", "scheduled work: ids and times only")
