from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from config import shell  # noqa: F401  (fills the page shell's registries)
from core import views as core_views

# The admin signs people in through the site's own sign-in page, which is rate-limited per
# account and per address; its own login form would be a second, unlimited door.
admin.site.login = login_required(admin.site.login)

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("analytics.urls")),
    path("", include("incidents.urls")),
    path("", include("support.chat.urls")),
    path("", include("support.urls")),
    path("", include("support.assist.urls")),
    path("", include("knowledge.urls")),
    path("", include("insurance.urls")),
    path("", include("bookings.urls")),
    path("", include("privacy.urls")),
    path("", include("core.urls")),
]

# The ESP's webhooks: delivery tracking and inbound mail (`/anymail/<esp>/tracking/`,
# `/anymail/<esp>/inbound/`), authenticated by ANYMAIL_WEBHOOK_SECRET (HTTP basic auth). Without
# a secret they are not served at all: anymail would accept anyone's calls, with a warning.
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    urlpatterns.insert(4, path("anymail/", include("anymail.urls")))

# Errors: the API's JSON error format under /api/ (unknown paths included), our pages elsewhere.
handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error
