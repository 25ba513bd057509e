"""Reminders go out through the scheduled-work sweeper: when due, once, retried, capped.

The clock is frozen (`clock`) and moved; the sweeper is given the same moment (`now=`).
Nothing sleeps.
"""

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings
from django.db.models import Count

from core import scheduling
from core.models import OutboxMessage
from core.scheduling import WorkState
from core.tasks import run_scheduled_work
from insurance import services
from insurance.models import ActivityKind, DocumentActivity, InsuranceDocument, Reminder, Status
from insurance.tasks import expire_lapsed_documents
from tests.concurrency import assert_outcomes, run_concurrently

from .factories import approved, in_review, pdf

UTC = dt.UTC


@pytest.fixture
def registration():
    return next(r for r in scheduling.registrations() if r.model is Reminder)


def sweep(registration, clock):
    return scheduling.sweep_model(registration, now=clock.at)


def reminder_mail(owner):
    return OutboxMessage.objects.filter(channel="email", recipient=owner.email).exclude(
        subject__contains="approved"
    )


def sent_activities(document):
    return DocumentActivity.objects.filter(document=document, kind=ActivityKind.REMINDER_SENT)


@pytest.mark.django_db
class TestExpiryReminders:
    def test_each_goes_out_when_due_once_and_a_redelivered_sweep_sends_nothing(
        self, owner, reviewer, clock, registration
    ):
        document = approved(owner, reviewer, end=dt.date(2026, 7, 31))

        clock.set(dt.datetime(2026, 7, 24, 6, 59, tzinfo=UTC))  # 08:59 in Berlin
        assert not sweep(registration, clock)
        clock.move(minutes=1)
        assert sweep(registration, clock).done == 1
        assert not sweep(registration, clock)  # the same sweep again, or a redelivered one

        [mail] = reminder_mail(owner)
        assert "expires in 7 days" in mail.subject
        assert mail.key == f"insurance:{document.pk}:expiry_7d:2026-07-31:email"
        [activity] = sent_activities(document)
        assert activity.after == {"kind": "expiry_7d", "to": owner.email}
        assert list(document.reminders.order_by("due_at").values_list("state", flat=True)) == [
            WorkState.DONE,
            WorkState.PENDING,
            WorkState.PENDING,
        ]

        clock.set(dt.datetime(2026, 7, 31, 7, 0, tzinfo=UTC))
        assert sweep(registration, clock).done == 2
        assert reminder_mail(owner).count() == 3

    def test_through_the_beat_task_twice(self, owner, reviewer, clock):
        document = approved(owner, reviewer, end=dt.date(2026, 7, 31))
        Reminder.objects.filter(document=document).update(
            due_at=dt.datetime(2026, 3, 1, tzinfo=UTC)
        )
        clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

        with mock.patch("core.scheduling.timezone.now", clock):
            first, second = run_scheduled_work(), run_scheduled_work()

        assert first["insurance.Reminder"]["done"] == 3
        assert second["insurance.Reminder"]["done"] == 0
        assert sent_activities(document).count() == 3

    def test_a_reminder_for_a_document_no_longer_approved_is_dropped(
        self, owner, reviewer, clock, registration
    ):
        document = approved(owner, reviewer, end=dt.date(2026, 7, 31))
        InsuranceDocument.objects.filter(pk=document.pk).update(status=Status.EXPIRED)

        clock.set(dt.datetime(2026, 7, 24, 7, 0, tzinfo=UTC))
        assert sweep(registration, clock).done == 1

        assert not reminder_mail(owner).exists()
        assert not sent_activities(document).exists()

    def test_a_failure_is_retried_with_backoff_then_failed_after_the_limit(
        self, owner, reviewer, clock, registration
    ):
        document = approved(owner, reviewer, end=dt.date(2026, 7, 31))
        clock.set(dt.datetime(2026, 7, 24, 7, 0, tzinfo=UTC))
        first = document.reminders.order_by("due_at").first()
        broken = mock.patch(
            "insurance.notifications.expiry_reminder", side_effect=RuntimeError("SMTP down")
        )
        waits = []
        with broken:
            for attempt in range(1, registration.max_attempts + 1):
                swept = sweep(registration, clock)
                first.refresh_from_db()
                assert first.attempts == attempt
                if attempt < registration.max_attempts:
                    assert (swept.retrying, first.state) == (1, WorkState.PENDING)
                    waits.append(first.due_at - clock.at)
                    assert not sweep(registration, clock)  # not before its backoff
                    clock.set(first.due_at)
                else:
                    assert (swept.failed, first.state) == (1, WorkState.FAILED)
        assert waits == [dt.timedelta(minutes=2**n) for n in range(registration.max_attempts - 1)]
        assert first.last_error == "RuntimeError: SMTP down"
        # Nothing of a failed attempt was kept: no e-mail, no activity.
        assert not reminder_mail(owner).exists()
        assert not sent_activities(document).exists()


@pytest.mark.django_db
class TestMissingInfoReminders:
    def test_every_few_days_until_the_cap(self, owner, reviewer, clock, registration):
        document = in_review(owner, reviewer)
        services.request_info(document=document, by=reviewer, items=[{"needed": "Page 2"}])
        interval = dt.timedelta(days=settings.INSURANCE_MISSING_INFO_INTERVAL_DAYS)
        cap = settings.INSURANCE_MISSING_INFO_MAX_REMINDERS
        started = clock.at

        for n in range(1, cap + 1):
            clock.set(started + n * interval - dt.timedelta(seconds=1))
            assert not sweep(registration, clock)
            clock.move(seconds=1)
            assert sweep(registration, clock).done == 1
            assert sent_activities(document).count() == n

        clock.move(days=30)
        assert not sweep(registration, clock)
        reminders = reminder_mail(owner).filter(subject__contains="still needed")
        assert reminders.count() == cap
        assert "- Page 2" in reminders.first().body
        assert list(document.reminders.values_list("sequence", flat=True).order_by("due_at")) == [
            *range(1, cap + 1)
        ]

    def test_answering_the_checklist_cancels_the_next_one(
        self, owner, reviewer, clock, registration
    ):
        document = in_review(owner, reviewer)
        request = services.request_info(
            document=document, by=reviewer, items=[{"needed": "Page 2"}]
        )
        clock.move(days=3)
        sweep(registration, clock)
        assert document.reminders.filter(state=WorkState.PENDING).count() == 1

        services.provide_info(document=document, by=owner, item=request.items.get(), file=pdf())

        assert not document.reminders.filter(state__in=scheduling.IN_FLIGHT).exists()
        clock.move(days=30)
        assert not sweep(registration, clock)

    def test_a_manual_reminder_goes_out_with_the_next_sweep(
        self, owner, reviewer, clock, registration
    ):
        document = in_review(owner, reviewer)
        services.request_info(document=document, by=reviewer, items=[{"needed": "Page 2"}])
        services.remind(document=document, by=reviewer)

        assert sweep(registration, clock).done == 1
        [activity] = sent_activities(document)
        assert activity.metadata["manual"] is True
        # The automatic cadence is untouched: its first is still three days out.
        assert document.reminders.filter(state=WorkState.PENDING, manual=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_reminder_once(owner, reviewer, clock, registration):
    documents = [approved(owner, reviewer, end=dt.date(2026, 7, 31)) for _ in range(8)]
    Reminder.objects.update(due_at=dt.datetime(2026, 3, 1, tzinfo=UTC))
    due = Reminder.objects.count()
    assert due == 24

    small = scheduling.Registration(
        Reminder, registration.handler, batch_size=3, max_attempts=registration.max_attempts
    )
    outcomes = run_concurrently(lambda: scheduling.sweep_model(small, now=clock.at), [()] * 2)

    swept = assert_outcomes(outcomes, succeeded=2)
    assert sum(s.done for s in swept) == due
    assert sum(s.skipped + s.retrying + s.failed for s in swept) == 0
    assert set(Reminder.objects.values_list("state", "attempts")) == {(WorkState.DONE, 1)}
    per_key = (
        OutboxMessage.objects.filter(channel="email", key__contains=":expiry_")
        .values("key")
        .annotate(n=Count("pk"))
    )
    assert len(per_key) == due and {row["n"] for row in per_key} == {1}
    sent = DocumentActivity.objects.filter(kind=ActivityKind.REMINDER_SENT)
    assert sent.count() == due
    assert {d.pk for d in documents} == set(sent.values_list("document_id", flat=True))


# --- the expiry job ---------------------------------------------------------------------------


def test_beat_runs_the_expiry_job_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["insurance-expire-documents"]
    assert entry == {"task": "insurance.tasks.expire_lapsed_documents", "schedule": 3600.0}
    assert expire_lapsed_documents.name == "insurance.tasks.expire_lapsed_documents"
    reminders_entry = settings.CELERY_BEAT_SCHEDULE["core-scheduled-work"]
    assert reminders_entry["task"] == "core.tasks.run_scheduled_work"


@pytest.mark.django_db
def test_the_expiry_job_expires_once(owner, reviewer, clock):
    document = approved(owner, reviewer, end=dt.date(2026, 7, 31))
    clock.set(dt.datetime(2026, 8, 1, 0, 0, tzinfo=UTC))  # 02:00 on 1 August in Berlin

    assert (expire_lapsed_documents(), expire_lapsed_documents()) == (1, 0)
    document.refresh_from_db()
    assert document.status == Status.EXPIRED
    assert (
        DocumentActivity.objects.filter(document=document, kind=ActivityKind.EXPIRED).count() == 1
    )
    assert OutboxMessage.objects.filter(key=f"insurance:{document.pk}:expired:email").count() == 1
