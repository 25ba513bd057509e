"""Alerts for support leads, checked by a beat job, each sent once per condition and period.

The rules (docs/analytics.md, "Alerts"):

- **Volume spike**: the tickets created so far in the current hour (organisation's zone) reach
  `ANALYTICS_SPIKE_FACTOR` times the usual level of that hour, the mean of the same hour over
  the 28 days before, and at least `ANALYTICS_SPIKE_MIN_TICKETS`. Once per hour.
- **Agent over capacity**: an agent holds more active tickets than their profile's capacity.
  Once per agent and day.
- **Team SLA compliance below target**: of the clocks a team's tickets stopped today (first
  replies and resolutions with a target), fewer than `ANALYTICS_SLA_TARGET` were on time, with
  at least `SLA_MIN_CLOCKS` of them. Once per team and day.
- **Poorly rated article**: a published article with at least `ARTICLE_MIN_RATINGS` ratings
  averaging below `ARTICLE_POOR_AVERAGE`, or at least as many helpful votes of which most say
  "not helpful". Once per article and ISO week.

An alert is an `AlertSent` row (unique key) plus an in-app notification and an e-mail to every
active support lead through the outbox, all in one transaction: a second run finds the key and
sends nothing.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from core.notifications import notify_email, notify_in_app
from core.roles import Role
from knowledge.models import Article
from knowledge.models import Status as ArticleStatus
from support.models import AgentProfile, Team, Ticket
from support.models.choices import ACTIVE_STATUSES

from .metrics import Totals, day_of, time_zone
from .models import AlertSent
from .permissions import Scope
from .selectors import RollupSource, add

USUAL_DAYS = 28
SLA_MIN_CLOCKS = 10
ARTICLE_MIN_RATINGS = 5
ARTICLE_POOR_AVERAGE = 2.5


@dataclass
class Alert:
    key: str
    rule: str
    title: str
    body: str
    url: str
    detail: dict


def volume_spike(now: dt.datetime) -> list[Alert]:
    tz = time_zone()
    local = now.astimezone(tz)
    hour_start = local.replace(minute=0, second=0, microsecond=0)
    windows = Q()
    for back in range(1, USUAL_DAYS + 1):
        # Each earlier day's same wall-clock hour, in that day's own offset (DST-safe).
        day = (hour_start - dt.timedelta(days=back)).date()
        start = dt.datetime.combine(day, hour_start.time(), tzinfo=tz)
        windows |= Q(created_at__gte=start, created_at__lt=start + dt.timedelta(hours=1))
    this_hour = Q(created_at__gte=hour_start, created_at__lt=now)
    # Only the 29 one-hour windows are read (range scans of the creation index), not the table.
    counts = Ticket.objects.filter(this_hour | windows).aggregate(
        now=Count("pk", filter=this_hour), before=Count("pk", filter=windows)
    )
    usual = counts["before"] / USUAL_DAYS
    threshold = max(settings.ANALYTICS_SPIKE_MIN_TICKETS, settings.ANALYTICS_SPIKE_FACTOR * usual)
    if counts["now"] < threshold:
        return []
    hour = hour_start.strftime("%Y-%m-%d %H:00")
    return [
        Alert(
            key=f"spike:{hour_start.date()}:{hour_start.hour:02d}",
            rule="volume_spike",
            title=f"Ticket volume spike: {counts['now']} tickets since {hour}",
            body=f"{counts['now']} tickets were created since {hour} ({tz}); this hour usually "
            f"brings {usual:.1f} (mean of the last {USUAL_DAYS} days).",
            url=reverse("desk-home") + "?view=all&sort=newest",
            detail={"count": counts["now"], "usual": round(usual, 2)},
        )
    ]


def agents_over_capacity(now: dt.datetime) -> list[Alert]:
    today = day_of(now)
    loads = (
        AgentProfile.objects.annotate(
            load=Count(
                "user__assigned_tickets",
                filter=Q(user__assigned_tickets__status__in=list(ACTIVE_STATUSES)),
            )
        )
        .filter(load__gt=F("capacity"), user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    return [
        Alert(
            key=f"capacity:{profile.user_id}:{today}",
            rule="agent_over_capacity",
            title=f"{profile.user.display_name} is over capacity",
            body=f"{profile.user.display_name} holds {profile.load} active tickets; their "
            f"capacity is {profile.capacity}.",
            url=reverse("desk-home") + f"?view=all&agent={profile.user_id}",
            detail={"agent": profile.user_id, "load": profile.load, "capacity": profile.capacity},
        )
        for profile in loads
    ]


def team_sla_below_target(now: dt.datetime) -> list[Alert]:
    tz = time_zone()
    today = day_of(now, tz)
    # Today's figures by team: the rollups with what changed since the job's last run.
    source = RollupSource(Scope(all=True), {}, today, tz, by="team")
    totals = defaultdict(Totals)
    for key, payload, sign in source.items(today, today):
        if key[1]:
            add(totals[key[1]], payload, sign)
    clocks = {}
    for team_id, found in totals.items():
        counts = found.counts
        clocks[team_id] = (
            counts["response_measured"] + counts["resolution_measured"],
            counts["response_met"] + counts["resolution_met"],
        )
    target = settings.ANALYTICS_SLA_TARGET
    below = {
        team_id: (measured, met)
        for team_id, (measured, met) in clocks.items()
        if measured >= SLA_MIN_CLOCKS and met / measured < target
    }
    names = dict(Team.objects.filter(pk__in=below).values_list("pk", "name"))
    alerts = []
    for team_id, (measured, met) in sorted(below.items()):
        share = met / measured
        alerts.append(
            Alert(
                key=f"team-sla:{team_id}:{today}",
                rule="team_sla_below_target",
                title=f"{names.get(team_id, team_id)}: SLA compliance {share:.0%} today",
                body=f"{met} of {measured} SLA clocks the team's tickets stopped today were on "
                f"time ({share:.0%}); the target is {target:.0%}.",
                url=reverse("desk-analytics") + f"?start={today}&end={today}&team={team_id}",
                detail={"team": team_id, "measured": measured, "met": met},
            )
        )
    return alerts


def poorly_rated_articles(now: dt.datetime) -> list[Alert]:
    year, week, _ = day_of(now).isocalendar()
    poor = Article.objects.filter(status=ArticleStatus.PUBLISHED).filter(
        Q(rating_count__gte=ARTICLE_MIN_RATINGS, rating_average__lt=ARTICLE_POOR_AVERAGE)
        | Q(
            not_helpful_count__gt=F("helpful_count"),
            not_helpful_count__gte=ARTICLE_MIN_RATINGS,
        )
    )
    return [
        Alert(
            key=f"article:{article.pk}:{year}-W{week:02d}",
            rule="poorly_rated_article",
            title=f"{article.number} is poorly rated",
            body=f"{article.number} “{article.title}”: average rating "
            f"{article.rating_average if article.rating_average is not None else '—'} from "
            f"{article.rating_count}; {article.not_helpful_count} not helpful against "
            f"{article.helpful_count} helpful.",
            url=reverse("kb-desk"),
            detail={"article": article.pk},
        )
        for article in poor.order_by("pk")[:50]
    ]


RULES = (volume_spike, agents_over_capacity, team_sla_below_target, poorly_rated_articles)


def _leads():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[Role.SUPPORT_LEAD])
        .distinct()
        .order_by("pk")
    )


def _send(alert: Alert, leads) -> bool:
    """Record the alert and queue its notifications, once: False if it was already sent."""
    try:
        with transaction.atomic():
            AlertSent.objects.create(key=alert.key, rule=alert.rule, detail=alert.detail)
            for lead in leads:
                notify_in_app(
                    key=f"analytics:{alert.key}:lead:{lead.pk}",
                    user=lead,
                    title=alert.title,
                    body=alert.body,
                    url=alert.url,
                )
                notify_email(
                    key=f"analytics:{alert.key}:lead:{lead.pk}:email",
                    to=lead.email,
                    subject=alert.title,
                    body=f"{alert.body}\n\n{alert.url}",
                    user=lead,
                )
    except IntegrityError:
        return False
    return True


def check_alerts(*, now: dt.datetime | None = None) -> list[str]:
    """Evaluate every rule and send what is new; returns the keys of the alerts sent."""
    now = now or timezone.now()
    found = [alert for rule in RULES for alert in rule(now)]
    if not found:
        return []
    already = set(
        AlertSent.objects.filter(key__in=[a.key for a in found]).values_list("key", flat=True)
    )
    leads = list(_leads())
    return [a.key for a in found if a.key not in already and _send(a, leads)]
