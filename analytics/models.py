"""Rollup tables: one row per (day, team, agent, priority, category, channel), the facts each
ticket contributed, and the watermark of the incremental job.

Dimension columns are plain values, not foreign keys: 0 (or "") means none, so the unique key
holds on every database (a NULL would be distinct from another NULL), and a deleted team's
history stays as it was.
"""

from django.db import models
from django.utils import timezone

from .metrics import COUNTS, TIMES

DIMENSION_FIELDS = ("team_id", "agent_id", "priority", "category_id", "channel")


class DailyRollup(models.Model):
    day = models.DateField()
    team_id = models.BigIntegerField(default=0)
    agent_id = models.BigIntegerField(default=0)
    priority = models.CharField(max_length=10, default="")
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=10, default="")
    # Histogram buckets per time ({"first_response_calendar": {"37": 2, ...}}) and escalations
    # per level ({"levels": {"1": 3}}).
    histograms = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", *DIMENSION_FIELDS], name="analytics_rollup_key")
        ]
        indexes = [
            models.Index(fields=["team_id", "day"], name="analytics_rollup_team"),
            models.Index(fields=["agent_id", "day"], name="analytics_rollup_agent"),
        ]

    def __str__(self):
        return f"{self.day} team {self.team_id} agent {self.agent_id}"


class DailySlice(models.Model):
    """The same measures by day and one dimension's value (or none: the whole day), kept with
    the rollups. A report about one dimension at most (every figure, or by team, or of one
    priority) reads these: some fifty rows a day instead of one per combination."""

    day = models.DateField()
    dimension = models.CharField(max_length=10, default="", help_text='"" for the whole day.')
    value = models.CharField(max_length=40, default="")
    histograms = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "value", "day"], name="analytics_slice_key"
            )
        ]
        indexes = [
            # A report's days, and the backlog before its first day (the sum of every earlier
            # day's change) read from the index alone on PostgreSQL, whatever dead row
            # versions the table's updates left behind.
            models.Index(
                fields=["dimension", "day"],
                include=["value", "backlog_change"],
                name="analytics_slice_backlog",
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.dimension}={self.value}"


for _model in (DailyRollup, DailySlice):
    for _name in COUNTS:
        _model.add_to_class(_name, models.IntegerField(default=0))
    for _name in TIMES:
        _model.add_to_class(f"{_name}_n", models.IntegerField(default=0))
        _model.add_to_class(f"{_name}_sum", models.FloatField(default=0))


class TicketFact(models.Model):
    """What one ticket has contributed to the rollups, so a change can be taken back exactly."""

    ticket_id = models.BigIntegerField(primary_key=True)
    team_id = models.BigIntegerField(default=0)
    priority = models.CharField(max_length=10, default="")
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=10, default="")
    contributions = models.JSONField(default=list)
    first_day = models.DateField()
    last_day = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["last_day", "first_day"], name="analytics_fact_days")]

    def __str__(self):
        return f"facts of ticket {self.ticket_id}"


class Watermark(models.Model):
    """How far the incremental job has read the ticket events (one row per stream)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    # Ids below the watermark that were missing when it passed them, [[low, high, ISO time]]:
    # an event whose transaction commits after a later one's (ids are taken at INSERT, rows
    # appear at COMMIT) is found there by the next runs (`rollups.GAP_PATIENCE`).
    gaps = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name} at {self.last_event_id}"


class AlertSent(models.Model):
    """One row per alert condition and period: the unique key makes each alert go out once."""

    key = models.CharField(max_length=200, unique=True)
    rule = models.CharField(max_length=40)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.key
