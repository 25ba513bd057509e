from django.urls import path

from . import views

urlpatterns = [
    path("desk/ai/", views.usage_page, name="assist-usage"),
    path("desk/tickets/<str:number>/ai/", views.decide, name="assist-decide"),
]
