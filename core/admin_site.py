"""The admin site of the product: the people who work the desk sign in to it too.

Django's own site admits only users with the `is_staff` flag; here every active agent, support
lead and admin is admitted as well (DESIGN §1: agents work the queue "in Django admin and
templates"), and each sees only the models their role's permissions name, each list scoped
by the same rules as the desk.
"""

from django.contrib import admin

from .permissions import can_see_admin


class SupportAdminSite(admin.AdminSite):
    site_header = "Support administration"
    site_title = "Support admin"

    def has_permission(self, request):
        return can_see_admin(request.user)
