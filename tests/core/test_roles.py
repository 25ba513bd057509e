import pytest
from django.contrib.auth.models import Group

from core.roles import ROLE_PERMISSIONS, Role, has_role, is_staff_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


def test_role_groups_hold_exactly_the_declared_permissions():
    for role in (Role.AGENT, Role.SUPPORT_LEAD):
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }
        assert granted == ROLE_PERMISSIONS[role]


def test_user_permissions_follow_the_role():
    lead = UserFactory(roles=[Role.SUPPORT_LEAD])
    customer = UserFactory(roles=[Role.CUSTOMER])
    assert lead.has_perm("core.change_businesscalendar")
    assert not customer.has_perm("core.change_businesscalendar")
    assert not customer.has_perm("core.view_user")


def test_admin_role_holds_every_permission():
    admin = UserFactory(roles=[Role.ADMIN])
    assert admin.has_perm("core.delete_businesscalendar")
    assert admin.has_perm("auth.change_group")


def test_staff_membership_is_decided_by_role():
    assert is_staff_member(UserFactory(roles=[Role.AGENT]))
    assert not is_staff_member(UserFactory(roles=[Role.CUSTOMER]))
    assert has_role(UserFactory(roles=[Role.REVIEWER]), Role.REVIEWER)
