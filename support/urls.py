from django.urls import path

from . import views

urlpatterns = [
    path("desk/", views.desk_home, name="desk-home"),
    path("help/", views.help_home, name="help-home"),
]
