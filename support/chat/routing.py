"""The WebSocket routes, mounted by `config.asgi` under `/ws/`."""

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .consumers import AgentConsumer, VisitorConsumer

websocket_urlpatterns = [
    # Visitors' origins are checked against their widget's allowed origins once the first
    # frame says which session it is (`VisitorConsumer`).
    path("ws/chat/sessions/<uuid:public_id>/", VisitorConsumer.as_asgi()),
    # The desk carries the session cookie: only our own site's pages may open it.
    path("ws/desk/", AllowedHostsOriginValidator(AgentConsumer.as_asgi())),
]
