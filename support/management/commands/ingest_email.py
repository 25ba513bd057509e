"""`manage.py ingest_email <paths…>`: `.eml` files and mbox archives, through the same path as
the ESP's webhook (`support.inbound.services.receive`); one outcome line per message."""

import mailbox
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from support.inbound.parse import message_from_bytes
from support.inbound.services import receive


class Command(BaseCommand):
    help = "Feed .eml files and mbox archives through inbound e-mail, printing each outcome."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help=".eml files or mbox archives")

    def handle(self, *args, **options):
        paths = options["paths"]
        missing = [path for path in paths if not Path(path).is_file()]
        if missing:
            raise CommandError(f"Not a file: {', '.join(missing)}")
        failures = 0
        for path in paths:
            for label, raw in _messages(Path(path)):
                try:
                    record = receive(message_from_bytes(raw), raw=raw)
                except Exception as exc:  # noqa: BLE001 - one bad mail must not stop an import
                    failures += 1
                    self.stderr.write(f"{label}: error: {exc.__class__.__name__}: {exc}")
                    continue
                ticket = record.ticket.number if record.ticket else "-"
                self.stdout.write(
                    f"{label}: {record.outcome} {ticket} {record.email_message_id}"
                    + (f" ({record.reason})" if record.reason else "")
                )
        if failures:
            raise CommandError(f"{failures} message(s) could not be ingested.")


def _messages(path: Path):
    """(label, bytes) per message: an mbox archive (starts with a "From " line) or one mail."""
    with path.open("rb") as handle:
        is_mbox = handle.read(5) == b"From "
    if not is_mbox:
        yield str(path), path.read_bytes()
        return
    archive = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(archive.keys(), start=1):
            yield f"{path}#{index}", archive.get_bytes(key)
    finally:
        archive.close()
