from . import shell
from .selectors import unread_notification_count


def navigation(request):
    """The account bar's unread count, and the layout of the viewer's own area.

    Menu entries, banners and panels are drawn by the `shell` template tags when a page asks.
    """
    user = getattr(request, "user", None)
    # Pages shared by every audience (preferences, notifications) wear the viewer's layout.
    layout = shell.layout_for(user)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0, "user_layout": layout}
    return {"unread_notifications": unread_notification_count(user=user), "user_layout": layout}
