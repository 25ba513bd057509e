from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.roles import is_staff_member
from core.selectors import notifications_for

DESK_NOTIFICATIONS_SHOWN = 10


@login_required
def desk_home(request):
    if not is_staff_member(request.user):
        return render(request, "desk/not_staff.html", status=403)
    context = {
        "notifications": list(notifications_for(user=request.user)[:DESK_NOTIFICATIONS_SHOWN]),
    }
    return render(request, "desk/home.html", context)


def help_home(request):
    return render(request, "help/home.html")
