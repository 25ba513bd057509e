import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.privacy_parts import unguarded
from privacy import audit_export, chain, services
from privacy.models import AccountEvent, AuditSeal
from support.models import TicketEvent

LATER = timezone.now() + dt.timedelta(hours=1)


def _sealed():
    sealed = chain.seal(now=LATER)
    assert sealed > 0
    return sealed


def test_the_chain_verifies_and_finds_an_altered_row(alice):
    _sealed()
    assert chain.verify().ok
    event = TicketEvent.objects.filter(ticket=alice.ticket).first()
    unguarded(TicketEvent).filter(pk=event.pk).update(after={"status": "forged"})
    result = chain.verify()
    assert result.problems == [f"support.TicketEvent {event.pk}: altered since it was sealed"]


def test_the_chain_finds_a_deleted_row_and_a_removed_seal(alice):
    _sealed()
    event = TicketEvent.objects.filter(ticket=alice.ticket).last()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM support_ticketevent WHERE id = %s", [event.pk])
    assert f"support.TicketEvent {event.pk}: sealed, and deleted since" in chain.verify().problems
    middle = AuditSeal.objects.order_by("pk")[3]
    middle.delete()
    assert any("chain is broken" in p for p in chain.verify().problems)


def test_sealing_again_seals_nothing_twice_and_new_rows_join_the_end(alice, staff):
    first = _sealed()
    assert chain.seal(now=LATER) == 0
    from support.services import add_message

    add_message(ticket=alice.ticket, by=staff.agent, body="One more")
    assert chain.seal(now=LATER + dt.timedelta(minutes=5)) >= 1
    assert AuditSeal.objects.count() > first and chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_erasure_reseals_what_it_anonymised_and_the_chain_still_verifies(
    lead, second_lead, alice
):
    from core import audit

    audit.record(
        TicketEvent, kind="updated", ticket=alice.ticket, after={"customer_email": alice.user.email}
    )
    _sealed()
    request = services.create_request(by=lead, kind="erasure", user=alice.user)
    services.approve(request=request, by=second_lead)
    from django.db import transaction

    with transaction.atomic():
        request.refresh_from_db()
        assert services.run_erasure(request).status == "done"
    assert AuditSeal.objects.filter(reason="erasure").exists()
    assert chain.verify().ok


def test_the_export_streams_every_domain_and_its_own_chain_detects_a_changed_line(alice, lead):
    start, end = timezone.now() - dt.timedelta(days=1), LATER
    lines = list(audit_export.jsonl(start, end))
    tables = {json.loads(line)["table"] for line in lines}
    assert {"support.TicketEvent", "insurance.DocumentActivity", "bookings.BookingEvent"} <= tables
    assert "privacy.AccountEvent" in tables  # role changes of the people made
    assert audit_export.verify_jsonl(lines) == []
    record = json.loads(lines[2])
    record["kind"] = "forged"
    tampered = [*lines[:2], json.dumps(record) + "\n", *lines[3:]]
    assert audit_export.verify_jsonl(tampered) == ["line 3: the export's chain is broken here"]
    assert audit_export.verify_jsonl(lines[:1] + lines[2:]) == [
        "line 2: the export's chain is broken here"
    ]
    csv_text = "".join(audit_export.csv_lines(start, end))
    assert csv_text.count("\n") >= len(lines) + 1


def test_the_commands_export_and_verify(alice, tmp_path):
    out = io.StringIO()
    day = timezone.now().date()
    call_command(
        "audit_export", "--from", str(day), "--to", str(day + dt.timedelta(days=1)), stdout=out
    )
    path = tmp_path / "audit.jsonl"
    path.write_text(out.getvalue())
    verified = io.StringIO()
    call_command("audit_verify", "--file", str(path), stdout=verified)
    assert "verified" in verified.getvalue()
    path.write_text(out.getvalue().replace('"kind":"created"', '"kind":"forged"', 1))
    with pytest.raises(SystemExit):
        call_command(
            "audit_verify", "--file", str(path), stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_sign_ins_and_failures_are_account_events(client, alice):
    alice.user.set_password("pw-12345678")
    alice.user.save()
    assert client.post(reverse("login"), {"username": alice.user.email, "password": "nope"})
    client.post(reverse("login"), {"username": alice.user.email, "password": "pw-12345678"})
    kinds = list(AccountEvent.objects.filter(user=alice.user).values_list("kind", flat=True))
    assert "sign_in_failed" in kinds and "signed_in" in kinds
    failed = AccountEvent.objects.filter(kind="sign_in_failed").get()
    assert alice.user.email not in json.dumps(failed.metadata)


def test_the_beat_task_seals_in_bounded_batches_until_done(alice, monkeypatch):
    from privacy import tasks

    monkeypatch.setattr(chain, "BATCH", 3)
    monkeypatch.setattr(chain, "SEAL_LAG", dt.timedelta(seconds=-3600))  # everything is due
    assert chain.seal() == 3  # one batch
    total = tasks.seal_audit_chain()
    assert total + 3 == AuditSeal.objects.count() > 6
    assert chain.verify().ok
