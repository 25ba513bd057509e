from django.urls import path, re_path

from . import desk_views, views

NUMBER = r"[Ii][Nn][Cc]-[0-9]{8}-[0-9]{1,9}"

urlpatterns = [
    path("status/", views.status_page, name="status-page"),
    path("status/summary.json", views.summary_json, name="status-summary"),
    path("status/feed.atom", views.feed, name="status-feed"),
    path("status/history/", views.history, name="status-history"),
    re_path(
        rf"^status/incidents/(?P<number>{NUMBER})/$",
        views.incident_page,
        name="status-incident",
    ),
    path("status/subscribe/", views.subscribe, name="status-subscribe"),
    path(
        "status/subscribe/confirm/<str:token>/", views.confirm_subscription, name="status-confirm"
    ),  # fmt: skip
    path("status/unsubscribe/<str:token>/", views.unsubscribe, name="status-unsubscribe"),
]

urlpatterns += [
    path("desk/incidents/", desk_views.incident_list, name="desk-incidents"),
    path("desk/incidents/new/", desk_views.incident_new, name="desk-incident-new"),
    path("desk/incidents/metrics/", desk_views.incident_metrics, name="desk-incident-metrics"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/$", desk_views.incident_page,
            name="desk-incident"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/acknowledge/$", desk_views.acknowledge,
            name="desk-incident-acknowledge"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/transition/$", desk_views.transition,
            name="desk-incident-transition"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/updates/$", desk_views.post_update,
            name="desk-incident-update"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/tickets/$", desk_views.link_tickets,
            name="desk-incident-link"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/postmortem/article/$", desk_views.draft_article,
            name="desk-incident-draft-article"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/components/$", desk_views.set_components,
            name="desk-incident-components"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/postmortem/$", desk_views.postmortem_edit,
            name="desk-incident-postmortem"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/articles/$", desk_views.link_article,
            name="desk-incident-link-article"),
    re_path(rf"^desk/incidents/(?P<number>{NUMBER})/articles/unlink/$", desk_views.unlink_article,
            name="desk-incident-unlink-article"),
]  # fmt: skip
