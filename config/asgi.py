"""The ASGI entry point: the same Django application as `config.wsgi`, for an ASGI server.

    uvicorn config.asgi:application --lifespan off

Live chat's WebSocket routes are mounted here and nowhere else: `application` is a Channels
`ProtocolTypeRouter({"http": http_application, "websocket": <the /ws/ routes>})`. HTTP keeps
being `http_application` (same middleware, same URLs), and the routes are imported after
`get_asgi_application()` has set Django up, because they import models. The sockets read the
session cookie (`AuthMiddlewareStack`: agents on the desk); visitors send a ticket instead.

Our middleware and views are synchronous: under ASGI they run in asgiref's one shared sync
thread per process, a request at a time (request ids are `contextvars`, which asgiref carries
into that thread), and WhiteNoise's file responses are read whole into memory (Django warns
about the synchronous iterator). Both are fine for the pages a chat process also serves, and
are why HTTP stays on gunicorn in production (DESIGN §2) while uvicorn serves `/ws/`. Run it
with `DATABASE_CONN_MAX_AGE=0`: Django advises against persistent connections under ASGI.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

http_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from support.chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
