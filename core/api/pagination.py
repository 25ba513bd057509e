from django.conf import settings
from rest_framework import pagination

from core.paging import page_of


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


class UncountedPageNumberPagination(PageNumberPagination):
    """Numbered pages without a total (`core.paging`): `next` and `previous` links only."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page = page_of(
            queryset, request.query_params.get(self.page_query_param), self.get_page_size(request)
        )
        self.page_number, self.has_next = page.number, page.has_next
        return page.object_list

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
