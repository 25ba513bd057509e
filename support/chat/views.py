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


def widget_script(request):
    """`/chat/widget.js`: the embed script (a redirect to its static, cacheable copy)."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("chat/widget.js"))


def frame(request, key):
    """The chat inside the widget's iframe: framed only by the widget's allowed origins."""
    from django.conf import settings
    from django.shortcuts import get_object_or_404, render
    from django.views.decorators.clickjacking import xframe_options_exempt

    from .models import ChatWidget

    widget = get_object_or_404(ChatWidget, public_key=key, is_active=True)
    user = request.user if request.user.is_authenticated else None
    response = render(
        request,
        "support/chat/frame.html",
        {
            "widget": widget,
            "ws_origin": settings.CHAT_WS_ORIGIN,
            "visitor_name": user.full_name if user else "",
            "visitor_email": user.email if user else "",
        },
    )
    response._csp_replace = {"frame-ancestors": ["'self'", *widget.allowed_origins]}
    if settings.CHAT_WS_ORIGIN:
        response._csp_update = {"connect-src": [settings.CHAT_WS_ORIGIN]}
    return xframe_options_exempt(lambda r: response)(request)


def _desk_only(request):
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import render

    from .permissions import can_work_chats

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_work_chats(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


def console(request):
    """`/desk/chats/`: the agent's chat console (the queue, my chats, the conversation, the
    customer). The page draws the lists; the desk socket keeps them current."""
    from django.conf import settings
    from django.shortcuts import render

    from core.models import User
    from core.roles import STAFF_ROLES

    from ..models import AgentProfile, ResponseTemplate, Team
    from .models import SessionStatus

    refused = _desk_only(request)
    if refused:
        return refused
    sessions = services.staff_sessions()
    context = {
        "waiting": sessions.filter(status=SessionStatus.QUEUED).order_by("started_at", "pk")[:50],
        "mine": sessions.filter(status=SessionStatus.ACTIVE, agent=request.user).order_by(
            "started_at"
        )[:50],
        "templates": ResponseTemplate.objects.filter(is_active=True).order_by("name")[:100],
        "teams": Team.objects.order_by("name")[:100],
        "agents": User.objects.filter(is_active=True, groups__name__in=list(STAFF_ROLES))
        .exclude(pk=request.user.pk)
        .distinct()
        .order_by("full_name")[:200],
        # Who is available for chats; presence frames on the desk socket keep it current.
        "presence": AgentProfile.objects.filter(user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "pk")[:200],
        "ws_origin": settings.CHAT_WS_ORIGIN,
    }
    response = render(request, "support/chat/console.html", context)
    if settings.CHAT_WS_ORIGIN:
        response._csp_update = {"connect-src": [settings.CHAT_WS_ORIGIN]}
    return response


def customer_panel(request, public_id):
    """The console's customer panel: who they are and their latest tickets."""
    from django.db.models import Q
    from django.http import Http404
    from django.shortcuts import render

    from ..models import Ticket

    refused = _desk_only(request)
    if refused:
        return refused
    try:
        session = services.staff_session(request.user, public_id)
    except NotFound:
        raise Http404("No such chat.") from None
    # The visitor's tickets: by address (its keyed hash, exact and case-insensitive) or account.
    match = (
        Q(customer_email_hash=session.visitor_email_hash)
        if session.visitor_email_hash
        else Q(pk=None)
    )
    if session.customer_id:
        match |= Q(customer_id=session.customer_id)
    tickets = Ticket.objects.filter(match).order_by("-created_at")[:10]
    return render(request, "support/chat/_customer.html", {"session": session, "tickets": tickets})


def help_center_widget(request):
    """The help center's banner slot: the chat widget's script, when its widget exists."""
    from django.conf import settings

    from .models import ChatWidget

    key = settings.CHAT_HELP_CENTER_WIDGET
    if not key or not ChatWidget.objects.filter(public_key=key, is_active=True).exists():
        return None
    return "support/chat/_widget_script.html", {"widget_key": key}
