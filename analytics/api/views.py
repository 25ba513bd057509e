"""GET /api/v1/support/analytics/: the report, as JSON or as a streamed CSV."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, allows
from core.replica import reading_replica
from support.api.views import ERROR_RESPONSES

from .. import exports, selectors
from ..permissions import can_see_analytics
from . import serializers as s


class AnalyticsView(APIView):
    permission_classes = [ActionPermissions]
    action_permissions = {"get": [allows(can_see_analytics)]}

    @extend_schema(
        summary="Support analytics (staff: agents their own and their teams', leads all)",
        description="Figures as defined in docs/analytics.md; `export=csv` streams the breakdown "
        "(with `by`) or the series.",
        parameters=[s.AnalyticsQuerySerializer],
        responses={
            (200, "application/json"): s.AnalyticsReportSerializer,
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="`export=csv`: one row per group"
            ),
            400: ERROR_RESPONSES[400],
        },
    )
    def get(self, request):
        params = s.AnalyticsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.query()
        with reading_replica():
            report = selectors.full_report(user=request.user, query=query)
        if params.validated_data["export"] == "csv":
            response = StreamingHttpResponse(exports.csv_lines(report), content_type="text/csv")
            name = f"analytics-{query.start}-{query.end}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response(s.AnalyticsReportSerializer(report).data)
