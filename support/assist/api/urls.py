from django.urls import re_path

from support.api.views import TICKET_REF

from . import views

TICKET = rf"^tickets/(?P<ticket>{TICKET_REF})"
urlpatterns = [
    re_path(
        rf"{TICKET}/suggestions/$", views.TicketSuggestionsView.as_view(), name="ai-suggestions"
    ),
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
