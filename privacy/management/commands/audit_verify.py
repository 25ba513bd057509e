"""`manage.py audit_verify`: seal what is due, then verify the audit hash chain in the database
(exit status 1 on any break); `--file export.jsonl` verifies an exported file instead."""

import sys

from django.core.management.base import BaseCommand

from privacy import audit_export, chain


class Command(BaseCommand):
    help = "Verify the audit hash chain (or an export's chain with --file)."

    def add_arguments(self, parser):
        parser.add_argument("--file", help="A JSON Lines file from audit_export.")
        parser.add_argument("--no-seal", action="store_true", help="Do not seal new rows first.")

    def handle(self, *args, file=None, no_seal=False, **options):
        if file:
            with open(file, encoding="utf-8") as fh:
                problems = audit_export.verify_jsonl(fh)
            links = "file"
        else:
            if not no_seal:
                chain.seal()
            result = chain.verify()
            problems, links = result.problems, f"{result.links} links"
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            self.stderr.write(f"audit chain BROKEN ({links}): {len(problems)} problem(s)")
            sys.exit(1)
        self.stdout.write(f"audit chain verified ({links})")
