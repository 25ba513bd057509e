from django.urls import path

from . import views

urlpatterns = [
    path("desk/", views.desk_home, name="desk-home"),
    path("desk/tickets/<str:number>/", views.desk_ticket, name="desk-ticket"),
    path("desk/tickets/<str:number>/action/", views.desk_ticket_action, name="desk-ticket-action"),
    path("help/", views.help_home, name="help-home"),
    path("help/tickets/new/", views.help_new_ticket, name="help-new-ticket"),
    path("help/tickets/<str:number>/", views.help_ticket, name="help-ticket"),
    path("help/tickets/<str:number>/action/", views.help_ticket_action, name="help-ticket-action"),
]
