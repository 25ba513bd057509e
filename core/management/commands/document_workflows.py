"""Print every app's state machine (`<app>/workflow.py`) into docs/state-machines.md."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import autodiscover_modules

from core import workflow

DOC = Path(settings.BASE_DIR) / "docs" / "state-machines.md"


def generated() -> str:
    autodiscover_modules("workflow")
    return workflow.document()


class Command(BaseCommand):
    help = "Write docs/state-machines.md from the transition tables (--check: fail if stale)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true")

    def handle(self, *args, check=False, **options):
        text = generated()
        if check:
            if not DOC.exists() or DOC.read_text() != text:
                raise CommandError(f"{DOC} is out of date: run manage.py document_workflows")
            return
        DOC.write_text(text)
        self.stdout.write(f"Wrote {DOC}")
