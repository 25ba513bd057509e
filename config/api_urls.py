"""Everything under /api/v1/: each app contributes its own urls module."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The split view serves Swagger UI's start-up script from its own URL instead of inline, so the
# page runs under the site's script policy; Swagger UI sets style attributes as it renders, so
# this page alone may use inline styles. All of it comes from this site (the vendored sidecar).
docs_view = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
    path("", include("core.api.urls")),
    path("insurance/", include("insurance.api.urls")),
    path("incidents/", include("incidents.api.urls")),
    path("bookings/", include("bookings.api.urls")),
    path("knowledge/", include("knowledge.api.urls")),
    path("support/analytics/", include("analytics.api.urls")),
    path("support/", include("support.api.urls")),
    path("chat/", include("support.chat.api.urls")),
    path("privacy/", include("privacy.api.urls")),
    path("ai/", include("support.assist.api.urls")),
]
