from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("desk/privacy/", views.privacy_page, name="desk"),
    path("desk/privacy/holds/", views.hold_action, name="holds"),
    path("desk/privacy/<int:pk>/<slug:step>/", views.request_action, name="action"),
    path("desk/privacy/download/<str:token>/", views.download, name="download"),
]
