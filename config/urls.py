from django.contrib import admin
from django.urls import include, path

from config import shell  # noqa: F401  (fills the page shell's registries)
from core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("support.urls")),
    path("", include("core.urls")),
]

# Errors: the API's JSON error format under /api/ (unknown paths included), our pages elsewhere.
handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error
