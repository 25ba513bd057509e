from django.core.management.base import BaseCommand

from core.demo import DEMO_LOGINS, DEMO_PASSWORD, run_seeders


class Command(BaseCommand):
    help = "Create a believable demo company (idempotent: running it again changes nothing)."

    def handle(self, *args, **options):
        run_seeders(log=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for email, role in DEMO_LOGINS:
            self.stdout.write(f"  {role:<13} {email:<26} password: {DEMO_PASSWORD}")
