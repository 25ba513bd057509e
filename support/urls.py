from django.urls import path

from . import help_views, views
from .rules import views as rule_views

urlpatterns = [
    path("desk/", views.desk_home, name="desk-home"),
    path("desk/bulk/", views.desk_bulk, name="desk-bulk"),
    path("desk/dashboard/", views.desk_dashboard, name="desk-dashboard"),
    path("desk/availability/", views.desk_availability, name="desk-availability"),
    path("desk/views/", views.desk_saved_views, name="desk-saved-views"),
    path("desk/tickets/<str:number>/", views.desk_ticket, name="desk-ticket"),
    path("desk/tickets/<str:number>/action/", views.desk_ticket_action, name="desk-ticket-action"),
    path("desk/tickets/<str:number>/preview/", views.desk_preview, name="desk-ticket-preview"),
    path("desk/tickets/<str:number>/presence/", views.desk_presence, name="desk-ticket-presence"),
    path("desk/tickets/<str:number>/template/", views.desk_template, name="desk-ticket-template"),
    path("desk/rules/", rule_views.rules_list, name="desk-rules"),
    path("desk/rules/new/<str:kind>/", rule_views.rule_new, name="desk-rule-new"),
    path("desk/rules/<int:pk>/", rule_views.rule_edit, name="desk-rule"),
    path("desk/rules/<int:pk>/action/", rule_views.rule_action, name="desk-rule-action"),
    path("help/", help_views.help_home, name="help-home"),
    path("help/access/", help_views.help_access_request, name="help-access-request"),
    path("help/access/<str:token>/", help_views.help_access, name="help-access"),
    path("help/tickets/", help_views.help_requests, name="help-requests"),
    path("help/tickets/new/", help_views.help_new_ticket, name="help-new-ticket"),
    path("help/tickets/sent/", help_views.help_ticket_sent, name="help-ticket-sent"),
    path("help/tickets/<str:number>/", help_views.help_ticket, name="help-ticket"),
    path(
        "help/tickets/<str:number>/files/<int:attachment_id>/",
        help_views.help_ticket_file,
        name="help-ticket-file",
    ),
    path(
        "help/tickets/<str:number>/action/",
        help_views.help_ticket_action,
        name="help-ticket-action",
    ),
]
