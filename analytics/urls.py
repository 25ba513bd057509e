from django.urls import path

from . import views

urlpatterns = [
    path("desk/analytics/", views.dashboard, name="desk-analytics"),
    path("desk/analytics/tickets/", views.tickets, name="desk-analytics-tickets"),
]
