"""`manage.py audit_export --from 2026-01-01 --to 2026-04-01 [--format csv|jsonl]` to stdout."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from privacy import audit_export


def _day(value: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(value), dt.UTC)


class Command(BaseCommand):
    help = "Stream every audit event and account event of a date range (UTC), hash-chained."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=_day)
        parser.add_argument("--to", dest="end", required=True, type=_day)
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")

    def handle(self, *args, start, end, format, **options):
        lines = audit_export.jsonl if format == "jsonl" else audit_export.csv_lines
        for line in lines(start, end):
            self.stdout.write(line, ending="")
