from django.core.management.base import BaseCommand

from support.assist import breach, classifiers


class Command(BaseCommand):
    help = (
        "Train the classifiers, print their evaluation, store each as a versioned artifact and "
        "activate those that beat their baselines (and the active model) on held-out tickets."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target", choices=[*classifiers.TARGETS, "breach"], action="append")
        parser.add_argument(
            "--no-activate", action="store_true", help="Store the artifacts without activating."
        )

    def handle(self, *args, target=None, no_activate=False, **options):
        for name in target or [*classifiers.TARGETS, "breach"]:
            if name == "breach":
                report, _ = breach.retrain(activate=not no_activate)
                self.stdout.write(breach.format_report(report))
                continue
            report = classifiers.train_and_evaluate(name)
            self.stdout.write(classifiers.format_report(report))
            artifact = classifiers.save(report, activate=False if no_activate else None)
            if artifact:
                state = "active" if artifact.is_active else "stored, inactive"
                self.stdout.write(f"artifact {artifact.sha256[:12]} ({state})\n")
