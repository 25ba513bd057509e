"""Chat's pages and the long-poll fallback (the socket-free path through the same services)."""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from core.errors import NotFound

from . import services

POLL_MAX_SECONDS = 25
POLL_EVERY_SECONDS = 0.5


def _poll_once(public_id, token, after_seq):
    session = services.session_for_token(public_id, token)
    rows = list(services.messages_after(session, after_seq, staff=False, limit=500))
    state = services.session_event(session)
    return session, rows, state


@require_GET
async def poll(request, public_id):
    """`GET /chat/sessions/<id>/poll/?after_seq=&wait=`: the visitor's messages after
    `after_seq`, answered as soon as there is one, or empty after `wait` seconds (at most 25).

    Async, so on the ASGI server a waiting poll holds no thread; it reads the database every
    half second (one indexed query), the same reads as the socket's replay.
    """
    token = request.headers.get("X-Chat-Token", "")
    try:
        after = max(int(request.GET.get("after_seq", 0)), 0)
        wait = min(max(float(request.GET.get("wait", POLL_MAX_SECONDS)), 0), POLL_MAX_SECONDS)
    except ValueError:
        return JsonResponse(
            {"detail": "after_seq and wait are numbers.", "code": "invalid", "errors": {}},
            status=400,
        )
    deadline = time.monotonic() + wait
    while True:
        try:
            session, rows, state = await sync_to_async(_poll_once)(public_id, token, after)
        except NotFound:
            return JsonResponse(
                {"detail": "No such chat.", "code": "not_found", "errors": {}}, status=404
            )
        if rows or state["status"] not in ("queued", "active") or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_EVERY_SECONDS)
    return JsonResponse(
        {
            "results": [services.message_event(m, author_name=_author(m)) for m in rows],
            "session": state,
            "last_seq": rows[-1].seq if rows else after,
        }
    )


def _author(message):
    return message.author.display_name if message.author_id else None


def transcript_download(request, public_id, fmt):
    """`/chat/sessions/<id>/transcript.txt|.html`: staff (signed in) get everything; the visitor
    (their token in `X-Chat-Token`, as the widget sends it) what they saw. Anyone else: 404."""
    from django.http import Http404, HttpResponse

    from core.roles import is_staff_member

    from . import transcript

    staff = request.user.is_authenticated and is_staff_member(request.user)
    try:
        if staff:
            session = services.staff_session(request.user, public_id)
        else:
            session = services.session_for_token(public_id, request.headers.get("X-Chat-Token", ""))
    except NotFound:
        raise Http404("No such chat.") from None
    if fmt == "html":
        response = HttpResponse(transcript.as_html(session, staff=staff), content_type="text/html")
    else:
        response = HttpResponse(
            transcript.as_text(session, staff=staff), content_type="text/plain; charset=utf-8"
        )
    name = f"chat-{session.started_at:%Y%m%d-%H%M}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
