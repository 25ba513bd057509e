from django.core.management.base import BaseCommand

from support.assist import breach, classifiers


class Command(BaseCommand):
    help = (
        "Train candidate classifiers on the organisation's tickets and print, on the newest 20 % "
        "held out by time, their metrics beside the baselines and the active model. Stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--target", choices=[*classifiers.TARGETS, "breach"], action="append")

    def handle(self, *args, target=None, **options):
        for name in target or [*classifiers.TARGETS, "breach"]:
            if name == "breach":
                self.stdout.write(breach.format_report(breach.train_and_evaluate()))
                continue
            report = classifiers.train_and_evaluate(name)
            self.stdout.write(classifiers.format_report(report))
