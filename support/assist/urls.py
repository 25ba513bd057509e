from django.urls import path

from . import views

urlpatterns = [
    path("desk/tickets/<str:number>/ai/", views.decide, name="assist-decide"),
]
