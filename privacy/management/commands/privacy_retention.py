"""`manage.py privacy_retention`: the dry-run report of the next retention run; `--run` works
one bounded batch per enabled kind now (the beat job does the same through scheduled work)."""

from django.core.management.base import BaseCommand

from privacy import retention


class Command(BaseCommand):
    help = "Show what the next retention run would do (or, with --run, do one batch)."

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="Work one batch per kind now.")

    def handle(self, *args, run=False, **options):
        for kind, policy in retention.policies():
            state = "on" if policy.enabled else "off"
            self.stdout.write(f"{kind.key}: {policy.action} after {policy.days} days ({state})")
        for plan in retention.dry_run():
            self.stdout.write(
                f"  {plan.kind}: {plan.count} rows older than {plan.cutoff:%Y-%m-%d} would be "
                f"{plan.action}d; first ids {plan.ids[:20]}"
            )
        if run:
            done = retention.run_once()
            for key, ids in done.items():
                self.stdout.write(f"  {key}: {len(ids)} rows changed")
