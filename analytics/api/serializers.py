"""The analytics API's query and the report's shape (`selectors.report` builds the dict)."""

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from core.api import serializers as api
from support.models.choices import Channel, Priority

from ..metrics import TIMES, day_of
from ..selectors import DIMENSIONS, GROUPINGS, MAX_DAYS, Query

DEFAULT_DAYS = 30


class AnalyticsQuerySerializer(api.Serializer):
    start = serializers.DateField(required=False, help_text="First day (default: 29 days ago).")
    end = serializers.DateField(required=False, help_text="Last day (default: today).")
    group = serializers.ChoiceField(choices=GROUPINGS, required=False, default="day")
    by = serializers.ChoiceField(
        choices=DIMENSIONS, required=False, allow_null=True, default=None,
        help_text="Break the figures down by this dimension.",
    )  # fmt: skip
    team = serializers.IntegerField(required=False, min_value=0, help_text="Team id (0: none).")
    agent = serializers.IntegerField(required=False, min_value=0, help_text="Agent id (0: none).")
    category = serializers.IntegerField(
        required=False, min_value=0, help_text="Category id (0: none)."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    compare = serializers.BooleanField(
        required=False, default=True, help_text="Also the period of the same length before."
    )
    export = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def validate(self, attrs):
        today = day_of(timezone.now())
        end = attrs.get("end") or today
        start = attrs.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise serializers.ValidationError({"end": ["Must not be before start."]})
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError({"end": [f"At most {MAX_DAYS} days."]})
        if start.year < 2000 or end.year > 2100:
            raise serializers.ValidationError({"start": ["Between 2000 and 2100."]})
        attrs["start"], attrs["end"] = start, end
        return attrs

    def query(self) -> Query:
        data = self.validated_data
        filters = {name: data[name] for name in DIMENSIONS if name in data}
        return Query(start=data["start"], end=data["end"], group=data["group"], by=data["by"],
                     filters=filters, compare=data["compare"])  # fmt: skip


class AnalyticsTimeSerializer(api.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)


class AnalyticsTimesSerializer(api.Serializer):
    pass


for _name in TIMES:
    AnalyticsTimesSerializer._declared_fields[_name] = AnalyticsTimeSerializer(
        help_text="Minutes (working minutes: of the SLA calendar)."
    )


class AnalyticsFiguresSerializer(api.Serializer):
    created = serializers.IntegerField()
    solved = serializers.IntegerField()
    backlog = serializers.IntegerField(allow_null=True, help_text="Active at the period's end.")
    replies = serializers.IntegerField()
    reopens = serializers.IntegerField()
    reopen_rate = serializers.FloatField(allow_null=True)
    fcr = serializers.IntegerField()
    fcr_rate = serializers.FloatField(allow_null=True)
    first_response_median = serializers.FloatField(allow_null=True)
    resolution_median = serializers.FloatField(allow_null=True)
    times = AnalyticsTimesSerializer()
    response_measured = serializers.IntegerField()
    response_compliance = serializers.FloatField(allow_null=True)
    resolution_measured = serializers.IntegerField()
    resolution_compliance = serializers.FloatField(allow_null=True)
    response_breaches = serializers.IntegerField()
    resolution_breaches = serializers.IntegerField()
    csat_responses = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True)
    nps_responses = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    escalations = serializers.IntegerField()
    escalations_by_level = serializers.DictField(child=serializers.IntegerField())


class AnalyticsSeriesSerializer(api.Serializer):
    period = serializers.DateField(help_text="The period's first day.")
    figures = AnalyticsFiguresSerializer()


class AnalyticsPreviousSerializer(api.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    totals = AnalyticsFiguresSerializer()


class AnalyticsBreakdownSerializer(api.Serializer):
    key = serializers.CharField(help_text="The dimension's value (an id, or a name).")
    label = serializers.CharField()
    figures = AnalyticsFiguresSerializer()
    previous = AnalyticsFiguresSerializer(allow_null=True)


class AnalyticsChangeSerializer(api.Serializer):
    pass


for _name in (
    "created", "solved", "backlog", "first_response_median", "resolution_median",
    "response_compliance", "resolution_compliance", "reopen_rate", "fcr_rate", "csat", "nps",
):  # fmt: skip
    AnalyticsChangeSerializer._declared_fields[_name] = serializers.FloatField(allow_null=True)


class AnalyticsIncidentSerializer(api.Serializer):
    severity = serializers.CharField()
    incidents = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()
    mtta_minutes = serializers.FloatField(allow_null=True)
    mttr_minutes = serializers.FloatField(allow_null=True)


class AnalyticsKnowledgeSerializer(api.Serializer):
    suggestions_opened = serializers.IntegerField()
    deflected = serializers.IntegerField(help_text="Followed by no request within 24 hours.")
    deflection_rate = serializers.FloatField(allow_null=True)


class AnalyticsReportSerializer(api.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    group = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField()
    totals = AnalyticsFiguresSerializer()
    series = AnalyticsSeriesSerializer(many=True)
    previous = AnalyticsPreviousSerializer(allow_null=True)
    change = AnalyticsChangeSerializer(allow_null=True, help_text="Current minus previous.")
    breakdown = AnalyticsBreakdownSerializer(many=True)
    incidents = AnalyticsIncidentSerializer(many=True, help_text="MTTA and MTTR by severity.")
    knowledge = AnalyticsKnowledgeSerializer(allow_null=True, help_text="Deflection.")
    stale = serializers.BooleanField(
        help_text="The rollup job is far behind: these figures leave out its backlog."
    )
