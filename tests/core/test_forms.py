"""core.forms' choice field: a page's short select lists are read as one plain query."""

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.forms import ModelChoiceField
from core.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # outside a transaction, as on a page


class StaffForm(forms.Form):
    person = ModelChoiceField(queryset=User.objects.order_by("email"), empty_label="Anyone")


def test_the_choices_render_from_one_query_without_a_server_side_cursor():
    second = UserFactory(email="b@example.com")
    first = UserFactory(email="a@example.com")
    with CaptureQueriesContext(connection) as captured:
        html = str(StaffForm()["person"])
    statements = [query["sql"] for query in captured]
    assert len(statements) == 1 and not statements[0].lstrip().upper().startswith("DECLARE")
    assert (
        html.index("Anyone")
        < html.index(f'value="{first.pk}"')
        < html.index(f'value="{second.pk}"')
    )


def test_a_choice_outside_the_queryset_is_still_refused():
    UserFactory(email="a@example.com")
    form = StaffForm({"person": "999999"})
    assert not form.is_valid() and "person" in form.errors
