"""The app's URLs plus `/bench/noop/`: the cheapest Django response, the floor of every request."""

from django.http import HttpResponse
from django.urls import include, path


def noop(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/noop/", noop, name="bench-noop"),
    path("", include("config.urls")),
]
