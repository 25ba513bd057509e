from django.urls import path, re_path

from . import views

app_name = "chat"
urlpatterns = [
    path("chat/widget.js", views.widget_script, name="widget-script"),
    path("chat/frame/<str:key>/", views.frame, name="frame"),
    path("desk/chats/", views.console, name="console"),
    path("desk/chats/<uuid:public_id>/customer/", views.customer_panel, name="customer-panel"),
    path("chat/sessions/<uuid:public_id>/poll/", views.poll, name="poll"),
    re_path(
        r"^chat/sessions/(?P<public_id>[0-9a-f-]{36})/transcript\.(?P<fmt>txt|html)$",
        views.transcript_download,
        name="transcript",
    ),
]
