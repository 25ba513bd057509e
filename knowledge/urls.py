from django.urls import path

from . import views

# The help center's fixed paths come before `<slug>`: an article slugged "search" or
# "suggest" would be shadowed by them.
urlpatterns = [
    path("help/kb/", views.kb_home, name="kb-home"),
    path("help/kb/search/", views.kb_search, name="kb-search"),
    path("help/kb/suggest/", views.kb_suggest, name="kb-suggest"),
    path("help/kb/category/<str:category>/", views.kb_category, name="kb-category"),
    path("help/kb/<slug:slug>/", views.kb_article, name="kb-article"),
    path("help/kb/<slug:slug>/feedback/", views.kb_feedback, name="kb-feedback"),
    path("desk/kb/", views.desk_list, name="kb-desk"),
    path("desk/kb/new/", views.desk_new, name="kb-desk-new"),
    path("desk/kb/preview/", views.desk_preview, name="kb-desk-preview"),
    path("desk/kb/unanswered/", views.desk_unanswered, name="kb-desk-unanswered"),
    path("desk/kb/insights/", views.desk_insights, name="kb-desk-insights"),
    path("desk/kb/related-options/", views.desk_related_options, name="kb-desk-related-options"),
    path("desk/kb/<str:number>/", views.desk_article, name="kb-desk-article"),
    path("desk/kb/<str:number>/status/", views.desk_status, name="kb-desk-status"),
    path(
        "desk/kb/<str:number>/revisions/<int:revision>/",
        views.desk_revision,
        name="kb-desk-revision",
    ),
    path(
        "desk/kb/<str:number>/revisions/<int:revision>/restore/",
        views.desk_restore,
        name="kb-desk-restore",
    ),
]
