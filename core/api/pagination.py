from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


class UncountedPageNumberPagination(PageNumberPagination):
    """Numbered pages without a total: no COUNT(*) over a large filtered table.

    Fetches one row more than the page to know whether a next page exists.
    """

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        try:
            self.page_number = max(1, int(request.query_params.get(self.page_query_param, 1)))
        except (TypeError, ValueError):
            self.page_number = 1
        offset = (self.page_number - 1) * page_size
        rows = list(queryset[offset : offset + page_size + 1])
        self.has_next = len(rows) > page_size
        return rows[:page_size]

    def _link(self, number):
        from rest_framework.utils.urls import remove_query_param, replace_query_param

        url = self.request.build_absolute_uri()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response(self, data):
        from rest_framework.response import Response

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
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
