"""Demo data for AI assist: a few months of finished tickets with learnable text (older than the
support seeder's six weeks), so that `ai_eval` on a fresh `make run` has enough held-out tickets
to mean something; then the classifiers are trained once, through the same gate as ever."""

import datetime as dt
import logging
import random

from django.utils import timezone

from core.models import OutboxMessage, User
from core.models.notifications import OutboxStatus

from .demo_text import learnable_text

HISTORY_TICKETS = 600
logger = logging.getLogger(__name__)


def seed_history() -> None:
    from support import services
    from support.demo import SUBJECTS, clock_at
    from support.models import Category, Ticket
    from support.models.choices import Channel, Priority

    if Ticket.objects.filter(subject__startswith="[history]").exists():
        return
    customers = list(User.objects.filter(groups__name="customer").order_by("pk"))
    agents = list(User.objects.filter(groups__name="agent").order_by("pk"))
    if not customers or not agents:
        return
    categories = {c.slug: c for c in Category.objects.filter(slug__in=SUBJECTS)}
    rng = random.Random(18)
    started = timezone.now()
    for index in range(HISTORY_TICKETS):
        slug = rng.choice(sorted(categories))
        priority = rng.choices(list(Priority), weights=[1, 3, 5, 3])[0]
        other_subject, text = learnable_text(random.Random(10_000 + index), slug, priority)
        at = started - dt.timedelta(days=43 + (HISTORY_TICKETS - index) * 140 / HISTORY_TICKETS)
        customer = customers[index % len(customers)]
        with clock_at(at):
            ticket = services.create_ticket(
                by=customer,
                subject="[history] " + (other_subject or rng.choice(SUBJECTS[slug])),
                description=f"<p>{text}</p>",
                category=categories[slug],
                priority=priority,
                channel=rng.choice([Channel.WEB, Channel.EMAIL, Channel.API]),
                created_at=at,
            )
        with clock_at(at + dt.timedelta(hours=rng.uniform(1, 30))):
            services.resolve_ticket(ticket=ticket, by=rng.choice(agents))
        with clock_at(at + dt.timedelta(days=2)):
            services.close_ticket(ticket=ticket, by=customer)
    OutboxMessage.objects.filter(created_at__gte=started, status=OutboxStatus.PENDING).exclude(
        channel="in_app"
    ).update(status=OutboxStatus.SENT, last_error="demo data: not sent")


def train_models() -> None:
    from . import classifiers

    for target in classifiers.TARGETS:
        if classifiers.active_artifact(target) is None:
            report = classifiers.train_and_evaluate(target)
            classifiers.save(report)
            logger.info("demo: %s model %s", target, report.reason)


def embed_articles() -> None:
    from . import retrieval

    retrieval.sync_chunks()
