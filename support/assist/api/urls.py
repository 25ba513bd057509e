from django.urls import path, re_path

from support.api.views import TICKET_REF

from . import views

TICKET = rf"^tickets/(?P<ticket>{TICKET_REF})"
urlpatterns = [
    path("query/", views.QueryView.as_view(), name="ai-query"),
    re_path(r"^tools/(?P<tool>[A-Za-z0-9_-]{1,60})/$", views.ToolView.as_view(), name="ai-tool"),
    re_path(
        rf"{TICKET}/suggestions/$", views.TicketSuggestionsView.as_view(), name="ai-suggestions"
    ),
    re_path(rf"{TICKET}/drafts/$", views.TicketDraftView.as_view(), name="ai-ticket-draft"),
    path("drafts/<int:pk>/", views.DraftDecisionView.as_view(), name="ai-draft-decision"),
    re_path(
        rf"{TICKET}/suggestions/accept/$",
        views.SuggestionDecisionView.as_view(decision="accept"),
        name="ai-suggestion-accept",
    ),
    re_path(
        rf"{TICKET}/suggestions/reject/$",
        views.SuggestionDecisionView.as_view(decision="reject"),
        name="ai-suggestion-reject",
    ),
]
