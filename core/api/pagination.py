"""Numbered pages. `page` and `page_size` are whole numbers, or the request is a 400.

DRF would answer a `page` that is not a number with 404 "Invalid page" and quietly cap a
`page_size` above the maximum; a client sending either has a bug it should be told about.
"""

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.inputs import parse_count
from core.paging import MAX_PAGE, page_of


class StrictPageParameters:
    page_query_param = "page"
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def requested_page(self, request) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        number = parse_count(raw, minimum=1)
        if number is None:
            raise ValidationError(
                {self.page_query_param: ["A page is a whole number from 1."]}, code="invalid"
            )
        return number

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = parse_count(raw, minimum=1, maximum=self.max_page_size)
        if size is None:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"A page size is a whole number from 1 to {self.max_page_size}."
                    ]
                },
                code="invalid",
            )
        return size

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number (from 1).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class PageNumberPagination(StrictPageParameters, pagination.PageNumberPagination):
    """Counted pages (`count`, `next`, `previous`); a page past the last is a 404."""

    def paginate_queryset(self, queryset, request, view=None):
        self.requested_page(request)  # refuses what is not a page number
        return super().paginate_queryset(queryset, request, view)


class UncountedPageNumberPagination(StrictPageParameters, pagination.PageNumberPagination):
    """Numbered pages without a total (`core.paging`): `next` and `previous` links only."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        number = self.requested_page(request)
        page = page_of(queryset, min(number, MAX_PAGE + 1), self.get_page_size(request))
        self.page_number, self.has_next = number, page.has_next
        return page.object_list

    def _link(self, number):
        url = self.request.build_absolute_uri()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page_number + 1) if self.has_next else None,
                "previous": self._link(self.page_number - 1) if self.page_number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
