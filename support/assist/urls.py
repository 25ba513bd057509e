from django.urls import path

from . import views

urlpatterns = [
    path("desk/ai/", views.usage_page, name="assist-usage"),
    path("desk/ai/triage/", views.triage_accept, name="assist-triage"),
    path("desk/tickets/<str:number>/ai/", views.decide, name="assist-decide"),
    path("desk/tickets/<str:number>/ai/draft/", views.draft, name="assist-draft"),
    path(
        "desk/tickets/<str:number>/ai/drafts/<int:interaction>/",
        views.draft_decide,
        name="assist-draft-decide",
    ),
]
