"""The insurance services: every transition allowed and refused, the file and policy checks,
the reminders each step schedules or cancels, and the activity each step writes."""

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from core.attachments import AttachmentRejected
from core.errors import Conflict, NotAllowed
from core.models import OutboxMessage
from core.scheduling import WorkState
from core.workflow import TransitionRefused
from insurance import services
from insurance.models import (
    ActivityKind,
    DocumentActivity,
    InsuranceDocument,
    Reminder,
    ReminderKind,
    Status,
)
from insurance.models import document_storage as storage

from .factories import EXE, HTML, PDF, approved, in_review, pdf, png, submit

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def kinds(document):
    return list(DocumentActivity.objects.filter(document=document).values_list("kind", flat=True))


def stored_names():
    try:
        _, files = storage().listdir("")
    except FileNotFoundError:
        return set()
    return files


# --- submitting: the file and the policy -----------------------------------------------------


def test_submit_stores_the_sniffed_file_and_writes_the_submitted_activity(owner):
    document = submit(owner, file=pdf("My Policy 2026.pdf"))

    document.refresh_from_db()
    assert document.status == Status.SUBMITTED
    assert (document.owner, document.organization) == (owner, owner.organization)
    assert (document.content_type, document.file_name) == ("application/pdf", "My_Policy_2026.pdf")
    assert document.size == len(PDF)
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    [activity] = DocumentActivity.objects.filter(document=document)
    assert (activity.kind, activity.actor) == (ActivityKind.SUBMITTED, owner)
    assert activity.after["coverage_end"] == "2026-12-31"


def test_an_image_of_the_policy_is_accepted(owner):
    assert submit(owner, file=png()).content_type == "image/png"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("policy.pdf", EXE, "type_not_allowed"),  # a renamed executable
        ("policy.pdf", HTML, "type_not_allowed"),  # HTML posing as a PDF
        ("policy.txt", b"just some text", "type_not_allowed"),  # allowed elsewhere, not here
        ("policy.png", PDF, "type_mismatch"),  # a PDF called .png
        ("policy.pdf", b"", "empty"),
    ],
)
def test_files_that_are_not_a_pdf_or_image_are_refused_and_nothing_is_kept(
    owner, name, content, code
):
    before = stored_names()
    with pytest.raises(AttachmentRejected) as refused:
        submit(owner, file=pdf(name, content))

    assert refused.value.code == code
    assert not InsuranceDocument.objects.exists()
    assert not DocumentActivity.objects.exists()
    assert stored_names() == before


def test_a_file_over_the_cap_is_refused(owner, settings):
    settings.INSURANCE_DOCUMENT_MAX_BYTES = len(PDF) - 1
    with pytest.raises(AttachmentRejected) as refused:
        submit(owner)
    assert refused.value.code == "too_large"
    assert not InsuranceDocument.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end": dt.date(2026, 1, 1)}, "coverage_end"),  # ends the day it starts
        ({"end": dt.date(2025, 6, 1)}, "coverage_end"),  # ends before it starts
        ({"policy_number": "  "}, "policy_number"),
        ({"insurer": ""}, "insurer"),
        ({"coverage_type": "pets"}, "coverage_type"),
    ],
)
def test_bad_policy_fields_are_refused_before_anything_is_stored(owner, fields, field):
    before = stored_names()
    with pytest.raises(ValidationError) as refused:
        submit(owner, **fields)
    assert field in refused.value.message_dict
    assert not InsuranceDocument.objects.exists()
    assert stored_names() == before


@pytest.mark.parametrize("role", ["reviewer", "technician", "agent", "lead"])
def test_only_customers_and_providers_submit(request, role):
    with pytest.raises(NotAllowed):
        submit(request.getfixturevalue(role))
    assert not InsuranceDocument.objects.exists()


# --- every transition, allowed and refused ---------------------------------------------------

ITEMS = [{"needed": "Page 2 of the policy", "instructions": "The page with the signature."}]
ACTIONS = {
    "start_review": lambda doc, by: services.start_review(document=doc, by=by),
    "approve": lambda doc, by: services.approve(document=doc, by=by),
    "reject": lambda doc, by: services.reject(document=doc, by=by, reason="Unreadable"),
    "request_info": lambda doc, by: services.request_info(document=doc, by=by, items=ITEMS),
}
# The status each reviewer action reaches from each status; a missing pair is refused (409).
ALLOWED = {
    ("submitted", "start_review"): "under_review",
    ("under_review", "approve"): "approved",
    ("under_review", "reject"): "rejected",
    ("under_review", "request_info"): "info_requested",
}


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_reviewer_transition_allowed_and_refused(owner, reviewer, status, action):
    document = submit(owner)
    InsuranceDocument.objects.filter(pk=document.pk).update(status=status)
    activities = DocumentActivity.objects.count()

    target = ALLOWED.get((status, action))
    if target is None:
        with pytest.raises(TransitionRefused) as refused:
            ACTIONS[action](document, reviewer)
        assert refused.value.extra["status"] == status
        document.refresh_from_db()
        assert document.status == status
        assert DocumentActivity.objects.count() == activities
        assert not Reminder.objects.exists()
    else:
        ACTIONS[action](document, reviewer)
        document.refresh_from_db()
        assert document.status == target
        assert document.reviewer == reviewer
        assert DocumentActivity.objects.count() == activities + 1


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ["owner", "technician", "agent", "lead"])
def test_only_reviewers_review(request, owner, action, role):
    document = submit(owner)
    InsuranceDocument.objects.filter(pk=document.pk).update(status=Status.UNDER_REVIEW)
    with pytest.raises(NotAllowed):
        ACTIONS[action](document, request.getfixturevalue(role))


def test_an_admin_reviews_too(owner, admin_user):
    document = services.start_review(document=submit(owner), by=admin_user)
    assert document.status == Status.UNDER_REVIEW


def test_reject_needs_a_reason_and_tells_the_owner(owner, reviewer):
    document = in_review(owner, reviewer)
    with pytest.raises(ValidationError):
        services.reject(document=document, by=reviewer, reason="  ")
    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW

    services.reject(document=document, by=reviewer, reason="The policy number is cut off.")

    document.refresh_from_db()
    assert (document.status, document.decision_reason) == (
        Status.REJECTED,
        "The policy number is cut off.",
    )
    activity = DocumentActivity.objects.filter(document=document).last()
    assert (activity.kind, activity.reason, activity.actor) == (
        ActivityKind.REJECTED,
        "The policy number is cut off.",
        reviewer,
    )
    mail = OutboxMessage.objects.get(channel="email", recipient=owner.email)
    assert "The policy number is cut off." in mail.body


def test_the_activity_is_written_in_the_transaction_of_the_change(owner, reviewer):
    document = in_review(owner, reviewer)
    with (
        mock.patch("insurance.services.record", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError),
    ):
        services.approve(document=document, by=reviewer)

    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW
    assert not Reminder.objects.exists()
    assert not OutboxMessage.objects.exists()


# --- approval and the expiry reminders --------------------------------------------------------


def test_approve_schedules_the_three_expiry_reminders_in_the_owner_s_time_zone(
    owner, reviewer, clock
):
    document = approved(owner, reviewer, end=dt.date(2026, 7, 31))  # Berlin is UTC+2 in July

    rows = Reminder.objects.filter(document=document).order_by("due_at")
    assert list(rows.values_list("kind", "due_at", "state")) == [
        (ReminderKind.EXPIRY_7D, dt.datetime(2026, 7, 24, 7, 0, tzinfo=UTC), WorkState.PENDING),
        (ReminderKind.EXPIRY_3D, dt.datetime(2026, 7, 28, 7, 0, tzinfo=UTC), WorkState.PENDING),
        (ReminderKind.EXPIRY_0D, dt.datetime(2026, 7, 31, 7, 0, tzinfo=UTC), WorkState.PENDING),
    ]
    assert kinds(document)[-1] == ActivityKind.APPROVED
    assert OutboxMessage.objects.filter(channel="email", recipient=owner.email).count() == 1


def test_reminders_already_past_at_approval_are_not_scheduled(owner, reviewer, clock):
    clock.set(dt.datetime(2026, 7, 27, 12, 0, tzinfo=UTC))
    document = approved(owner, reviewer, end=dt.date(2026, 7, 31))

    assert list(document.reminders.values_list("kind", flat=True).order_by("due_at")) == [
        ReminderKind.EXPIRY_3D,
        ReminderKind.EXPIRY_0D,
    ]


def test_a_lapsed_policy_cannot_be_approved(owner, reviewer, clock):
    clock.set(dt.datetime(2027, 1, 1, 0, 30, tzinfo=UTC))  # already 1 January in Berlin
    document = in_review(owner, reviewer, end=dt.date(2026, 12, 31))
    with pytest.raises(Conflict):
        services.approve(document=document, by=reviewer)
    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW


# --- information requests ---------------------------------------------------------------------


def two_item_request(owner, reviewer):
    document = in_review(owner, reviewer)
    request = services.request_info(
        document=document,
        by=reviewer,
        items=[
            {"needed": "Signed page", "instructions": "Page 2, with the signature."},
            {"needed": "Certificate of insurance"},
        ],
        message="Two things are missing.",
    )
    return document, request


def test_request_info_writes_the_checklist_tells_the_owner_and_schedules_a_reminder(
    owner, reviewer, clock
):
    document, request = two_item_request(owner, reviewer)

    assert list(request.items.values_list("position", "needed", "fulfilled_at")) == [
        (1, "Signed page", None),
        (2, "Certificate of insurance", None),
    ]
    mail = OutboxMessage.objects.get(channel="email", recipient=owner.email)
    assert "- Signed page: Page 2, with the signature." in mail.body
    [reminder] = Reminder.objects.filter(document=document)
    assert (reminder.kind, reminder.due_at, reminder.info_request) == (
        ReminderKind.MISSING_INFO,
        clock.at + dt.timedelta(days=3),
        request,
    )
    assert kinds(document)[-1] == ActivityKind.INFO_REQUESTED


@pytest.mark.parametrize("items", [[], [{"needed": " "}], [{"needed": "x"}] * 21])
def test_a_request_needs_one_to_twenty_described_items(owner, reviewer, items):
    document = in_review(owner, reviewer)
    with pytest.raises(ValidationError):
        services.request_info(document=document, by=reviewer, items=items)
    document.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW


def test_providing_every_item_sends_the_document_back_to_review(owner, reviewer):
    document, request = two_item_request(owner, reviewer)
    first, second = request.items.all()

    services.provide_info(document=document, by=owner, item=first, file=png(), note="Here.")
    document.refresh_from_db()
    assert document.status == Status.INFO_REQUESTED
    assert Reminder.objects.get().state == WorkState.PENDING

    with pytest.raises(Conflict):  # an answered item stays answered
        services.provide_info(document=document, by=owner, item=first, file=png())

    services.provide_info(document=document, by=owner, item=second, file=pdf())

    document.refresh_from_db()
    request.refresh_from_db()
    assert document.status == Status.UNDER_REVIEW
    assert request.fulfilled_at is not None
    first.refresh_from_db()
    assert (first.file_name, first.content_type, first.note) == ("scan.png", "image/png", "Here.")
    assert Reminder.objects.get().state == WorkState.CANCELLED
    assert kinds(document)[-4:] == [
        ActivityKind.INFO_PROVIDED,
        ActivityKind.INFO_PROVIDED,
        ActivityKind.REMINDER_CANCELLED,
        ActivityKind.REVIEW_STARTED,
    ]


def test_only_the_owner_answers_and_only_with_a_pdf_or_image(owner, other_owner, reviewer):
    document, request = two_item_request(owner, reviewer)
    item = request.items.first()
    for someone in (other_owner, reviewer):
        with pytest.raises(NotAllowed):
            services.provide_info(document=document, by=someone, item=item, file=png())
    with pytest.raises(AttachmentRejected):
        services.provide_info(document=document, by=owner, item=item, file=pdf("a.pdf", HTML))
    item.refresh_from_db()
    assert item.fulfilled_at is None


def test_providing_info_when_none_is_requested_is_refused(owner, reviewer):
    document, request = two_item_request(owner, reviewer)
    InsuranceDocument.objects.filter(pk=document.pk).update(status=Status.UNDER_REVIEW)
    with pytest.raises(Conflict):
        services.provide_info(document=document, by=owner, item=request.items.first(), file=png())


# --- replacing --------------------------------------------------------------------------------


def test_replacing_a_document_waiting_for_information_supersedes_it_at_once(owner, reviewer):
    document, _ = two_item_request(owner, reviewer)

    newer = services.replace(document=document, by=owner, file=pdf("v2.pdf"), policy_number="P2")

    document.refresh_from_db()
    assert document.status == Status.SUPERSEDED
    assert (newer.status, newer.replaces, newer.policy_number, newer.insurer) == (
        Status.SUBMITTED,
        document,
        "P2",
        document.insurer,
    )
    assert Reminder.objects.get(document=document).state == WorkState.CANCELLED
    assert kinds(document)[-2:] == [ActivityKind.SUPERSEDED, ActivityKind.REMINDER_CANCELLED]


def test_an_approved_document_stays_in_force_until_its_replacement_is_approved(
    owner, reviewer, clock
):
    old = approved(owner, reviewer, end=dt.date(2026, 7, 31))
    newer = services.replace(
        document=old, by=owner, file=pdf(), coverage_start=dt.date(2026, 7, 1),
        coverage_end=dt.date(2027, 7, 31),
    )  # fmt: skip
    old.refresh_from_db()
    assert old.status == Status.APPROVED
    assert set(old.reminders.values_list("state", flat=True)) == {WorkState.PENDING}

    with pytest.raises(Conflict):  # one replacement at a time
        services.replace(document=old, by=owner, file=pdf())

    services.approve(document=services.start_review(document=newer, by=reviewer), by=reviewer)

    old.refresh_from_db()
    assert old.status == Status.SUPERSEDED
    assert set(old.reminders.values_list("state", flat=True)) == {WorkState.CANCELLED}
    assert set(newer.reminders.values_list("state", flat=True)) == {WorkState.PENDING}
    assert ActivityKind.REMINDER_CANCELLED in kinds(old)


def test_a_rejected_replacement_leaves_the_approved_version_in_force(owner, reviewer):
    old = approved(owner, reviewer)
    newer = services.replace(document=old, by=owner, file=pdf())
    services.start_review(document=newer, by=reviewer)
    services.reject(document=newer, by=reviewer, reason="Wrong policy")

    old.refresh_from_db()
    assert old.status == Status.APPROVED
    assert services.replace(document=old, by=owner, file=pdf()).replaces == old


def test_only_the_owner_replaces_and_never_a_superseded_version(owner, other_owner, reviewer):
    document = submit(owner)
    for someone in (other_owner, reviewer):
        with pytest.raises(NotAllowed):
            services.replace(document=document, by=someone, file=pdf())
    services.replace(document=document, by=owner, file=pdf())
    document.refresh_from_db()
    with pytest.raises(TransitionRefused):
        services.replace(document=document, by=owner, file=pdf())


# --- updating ---------------------------------------------------------------------------------


def test_the_owner_corrects_a_waiting_document_and_the_change_is_on_record(owner):
    document = submit(owner)

    services.update(document=document, by=owner, policy_number="POL-124")
    services.update(document=document, by=owner, policy_number="POL-124")  # no change, no row

    document.refresh_from_db()
    assert document.policy_number == "POL-124"
    activity = DocumentActivity.objects.filter(document=document).last()
    assert (activity.kind, activity.before, activity.after) == (
        ActivityKind.UPDATED,
        {"policy_number": "POL-123"},
        {"policy_number": "POL-124"},
    )
    assert kinds(document).count(ActivityKind.UPDATED) == 1


def test_update_checks_the_dates_against_the_stored_ones(owner):
    document = submit(owner)
    with pytest.raises(ValidationError):
        services.update(document=document, by=owner, coverage_end=dt.date(2025, 12, 1))
    with pytest.raises(ValidationError):
        services.update(document=document, by=owner, status="approved")


def test_an_owner_cannot_change_a_decided_document(owner, reviewer, other_owner):
    document = approved(owner, reviewer)
    with pytest.raises(Conflict):
        services.update(document=document, by=owner, insurer="Other")
    with pytest.raises(NotAllowed):
        services.update(document=submit(owner), by=other_owner, insurer="Other")


def test_a_reviewer_moving_the_end_date_reschedules_the_expiry_reminders(owner, reviewer, clock):
    document = approved(owner, reviewer, end=dt.date(2026, 7, 31))
    old = set(document.reminders.values_list("pk", flat=True))

    services.update(document=document, by=reviewer, coverage_end=dt.date(2026, 8, 31))

    assert set(Reminder.objects.filter(pk__in=old).values_list("state", flat=True)) == {
        WorkState.CANCELLED
    }
    fresh = document.reminders.exclude(pk__in=old).order_by("due_at")
    assert [r.due_at.date() for r in fresh] == [
        dt.date(2026, 8, 24),
        dt.date(2026, 8, 28),
        dt.date(2026, 8, 31),
    ]
    assert kinds(document)[-2:] == [ActivityKind.UPDATED, ActivityKind.REMINDER_CANCELLED]

    services.update(document=document, by=reviewer, insurer="Acme Re")  # the end stays
    assert document.reminders.filter(state=WorkState.PENDING).count() == 3


# --- expiry -----------------------------------------------------------------------------------


def test_expiry_follows_the_owner_s_calendar_and_tells_owner_and_reviewers(
    owner, other_owner, reviewer, clock
):
    berlin = approved(owner, reviewer, end=dt.date(2026, 7, 31))
    other_owner.time_zone = "America/Los_Angeles"
    other_owner.save()
    pacific = approved(other_owner, reviewer, end=dt.date(2026, 7, 31))

    clock.set(dt.datetime(2026, 7, 31, 23, 30, tzinfo=UTC))  # 1 August in Berlin only
    assert services.expire_lapsed() == 1
    berlin.refresh_from_db(), pacific.refresh_from_db()
    assert (berlin.status, pacific.status) == (Status.EXPIRED, Status.APPROVED)
    assert set(berlin.reminders.values_list("state", flat=True)) == {WorkState.CANCELLED}
    assert kinds(berlin)[-2:] == [ActivityKind.EXPIRED, ActivityKind.REMINDER_CANCELLED]
    assert OutboxMessage.objects.filter(recipient=owner.email, subject__contains="expired")
    assert OutboxMessage.objects.filter(recipient=f"user:{reviewer.pk}", channel="in_app")

    assert services.expire_lapsed() == 0  # run again: nothing more
    clock.set(dt.datetime(2026, 8, 1, 7, 30, tzinfo=UTC))  # 1 August in Los Angeles
    assert services.expire_lapsed() == 1
    pacific.refresh_from_db()
    assert pacific.status == Status.EXPIRED


# Replacing: a version that is not in force is superseded at once, from every status that may
# be; an approved one only when its replacement is approved (above); a superseded one never.
SUPERSEDED_AT_ONCE = [
    Status.SUBMITTED,
    Status.UNDER_REVIEW,
    Status.INFO_REQUESTED,
    Status.REJECTED,
    Status.EXPIRED,
]


@pytest.mark.parametrize("status", SUPERSEDED_AT_ONCE)
def test_replacing_supersedes_a_version_not_in_force_at_once(owner, status):
    document = submit(owner)
    InsuranceDocument.objects.filter(pk=document.pk).update(status=status)
    newer = services.replace(document=document, by=owner, file=pdf("v2.pdf"))
    document.refresh_from_db()
    assert document.status == Status.SUPERSEDED
    assert (newer.status, newer.replaces) == (Status.SUBMITTED, document)
    assert kinds(document)[-1] in (ActivityKind.SUPERSEDED, ActivityKind.REMINDER_CANCELLED)


@pytest.mark.parametrize("status", [s for s in Status.values if s != Status.APPROVED])
def test_only_an_approved_document_expires(owner, status, clock):
    document = submit(owner)
    InsuranceDocument.objects.filter(pk=document.pk).update(
        status=status, coverage_end=dt.date(2000, 1, 1), coverage_start=dt.date(1999, 1, 1)
    )
    activities = DocumentActivity.objects.count()
    assert services.expire(document=document) is None
    document.refresh_from_db()
    assert document.status == status
    assert DocumentActivity.objects.count() == activities
