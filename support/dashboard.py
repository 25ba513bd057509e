"""The agent's dashboard: my and my teams' workload, SLA compliance today and this week, the
breached and at-risk tickets, response and resolution times, satisfaction, and the last two
weeks of created and solved tickets. Every figure is one aggregate query over what the agent
may see (`visible_to`), in the viewer's time zone; none reads rows one by one.

The rules, stated once (issue 16's analytics will extend them):
- SLA compliance over a period: of the tickets whose clock stopped in it (first public reply,
  resolution), the share that met their target (no breach flag).
- Response and resolution times: the mean of the working minutes each clock took, for the
  clocks that stopped in the period.
- Satisfaction (CSAT): the share of ratings of 4 or 5 among those given in the period.
- Solved: tickets whose latest resolution falls in the period (reopening clears it, so a
  ticket resolved twice counts once, when it was resolved last).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Ticket
from .models.choices import ACTIVE_STATUSES, Status
from .queue import view_filter

DAYS_CHARTED = 14
LIST_SHOWN = 8


@dataclass(frozen=True)
class Compliance:
    stopped: int
    met: int
    mean_minutes: float | None

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.stopped) if self.stopped else None


def _compliance(tickets, *, since, stopped_at: str, breached: str, minutes: str) -> Compliance:
    row = tickets.filter(**{f"{stopped_at}__gte": since}).aggregate(
        stopped=Count("pk"),
        met=Count("pk", filter=Q(**{breached: False})),
        mean=Avg(minutes),
    )
    return Compliance(row["stopped"], row["met"], row["mean"])


def _day_starts(now):
    local = timezone.localtime(now)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - dt.timedelta(days=today.weekday())
    return today, week


def dashboard(user, *, now=None) -> dict:
    now = now or timezone.now()
    today, week = _day_starts(now)
    visible = Ticket.objects.visible_to(user)
    mine = visible.filter(assigned_to=user)
    teams = visible.filter(team__in=user.support_teams.values("pk"))
    workload = dict(
        mine.filter(status__in=ACTIVE_STATUSES)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    team_load = list(
        teams.filter(status__in=ACTIVE_STATUSES)
        .values("team__name")
        .annotate(
            active=Count("pk"),
            unassigned=Count("pk", filter=Q(assigned_to__isnull=True)),
            breached=Count("pk", filter=view_filter("breached", user, now=now)),
        )
        .order_by("team__name")
    )
    ratings = mine.filter(rated_at__gte=week).aggregate(
        rated=Count("pk"), happy=Count("pk", filter=Q(satisfaction_rating__gte=4))
    )
    labels = dict(Status.choices)
    return {
        "workload": [(labels[s], workload[s]) for s in ACTIVE_STATUSES if workload.get(s)],
        "workload_total": sum(workload.values()),
        "team_load": team_load,
        "periods": [
            (
                label,
                _compliance(
                    mine,
                    since=since,
                    stopped_at="first_responded_at",
                    breached="response_breached",
                    minutes="first_response_working_minutes",
                ),
                _compliance(
                    mine,
                    since=since,
                    stopped_at="resolved_at",
                    breached="resolution_breached",
                    minutes="resolution_working_minutes",
                ),
            )
            for label, since in (("Today", today), ("This week", week))
        ],
        "csat": round(100 * ratings["happy"] / ratings["rated"]) if ratings["rated"] else None,
        "rated": ratings["rated"],
        "breached": list(
            visible.filter(view_filter("breached", user, now=now))
            .select_related("assigned_to")
            .order_by("sla_due_at", "id")[:LIST_SHOWN]
        ),
        "at_risk": list(
            visible.filter(view_filter("at_risk", user, now=now))
            .select_related("assigned_to")
            .order_by("sla_due_at", "id")[:LIST_SHOWN]
        ),
        "in_teams": user.support_teams.exists(),
        # Everything the agent may see: their teams' tickets and the ones no team has yet.
        "chart": _chart(visible, today=today),
    }


def _chart(tickets, *, today) -> dict:
    """Created and solved per day over the last DAYS_CHARTED days (two grouped queries), with
    the bar heights of a small server-drawn SVG."""
    start = today - dt.timedelta(days=DAYS_CHARTED - 1)
    zone = timezone.get_current_timezone()

    def per_day(field):
        return dict(
            tickets.filter(**{f"{field}__gte": start})
            .annotate(day=TruncDate(field, tzinfo=zone))
            .values("day")
            .annotate(n=Count("pk"))
            .values_list("day", "n")
        )

    created, solved = per_day("created_at"), per_day("resolved_at")
    days = [(start + dt.timedelta(days=n)).date() for n in range(DAYS_CHARTED)]
    peak = max([1, *created.values(), *solved.values()])
    height = 80
    bars = []
    for index, day in enumerate(days):
        created_h = round(height * created.get(day, 0) / peak)
        solved_h = round(height * solved.get(day, 0) / peak)
        bars.append(
            {
                "day": day,
                "created": created.get(day, 0),
                "solved": solved.get(day, 0),
                "created_h": created_h,
                "solved_h": solved_h,
                "created_y": height - created_h,
                "solved_y": height - solved_h,
                "x": index * 22,
                "label_x": index * 22 + 9,
                "solved_x": index * 22 + 10,
            }
        )
    return {
        "bars": bars,
        "height": height,
        "label_y": height + 14,
        "view_height": height + 20,
        "width": DAYS_CHARTED * 22,
        "peak": peak,
    }
