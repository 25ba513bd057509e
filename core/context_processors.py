from .roles import is_staff_member
from .selectors import unread_notification_count

DESK_LAYOUT = "desk/base.html"
HELP_LAYOUT = "help/base.html"


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_desk_user": False, "unread_notifications": 0, "user_layout": HELP_LAYOUT}
    desk_user = is_staff_member(user)
    return {
        "is_desk_user": desk_user,
        "unread_notifications": unread_notification_count(user=user),
        # Pages shared by both audiences (preferences, notifications) wear the viewer's layout.
        "user_layout": DESK_LAYOUT if desk_user else HELP_LAYOUT,
    }
