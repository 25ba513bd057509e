from django.urls import path, re_path

from . import views

urlpatterns = [
    path("status/", views.status_page, name="status-page"),
    path("status/summary.json", views.summary_json, name="status-summary"),
    path("status/feed.atom", views.feed, name="status-feed"),
    path("status/history/", views.history, name="status-history"),
    re_path(
        r"^status/incidents/(?P<number>[Ii][Nn][Cc]-[0-9]{8}-[0-9]{1,9})/$",
        views.incident_page,
        name="status-incident",
    ),
    path("status/subscribe/", views.subscribe, name="status-subscribe"),
    path(
        "status/subscribe/confirm/<str:token>/", views.confirm_subscription, name="status-confirm"
    ),  # fmt: skip
    path("status/unsubscribe/<str:token>/", views.unsubscribe, name="status-unsubscribe"),
]
