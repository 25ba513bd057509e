from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("chat/sessions/<uuid:public_id>/poll/", views.poll, name="poll"),
]
