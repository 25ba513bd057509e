"""State machines as data: one check, one 409 with the allowed targets, docs from the tables."""

import pytest
from django.db import models
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.api.exceptions import exception_handler
from core.management.commands.document_workflows import DOC, generated
from core.workflow import STAFF, StateMachine, Transition, TransitionRefused, UnknownState


class Phase(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    GONE = "gone", "Gone"


@pytest.fixture
def machine():
    from core import workflow

    made = StateMachine(
        "test-article",
        Phase,
        [Transition("draft", "live", {STAFF}), Transition("live", "gone", {STAFF, "author"})],
        noun="article",
    )
    yield made
    workflow._registry.pop("test-article")


def test_allowed_targets_depend_on_the_party(machine):
    assert machine.allowed("live", party=STAFF) == ["gone"]
    assert machine.allowed("draft", party="author") == []
    machine.check("live", "gone", party="author")


def test_a_refused_move_names_the_allowed_targets(machine):
    with pytest.raises(TransitionRefused) as refused:
        machine.check("draft", "gone", party=STAFF)
    assert refused.value.status_code == 409
    assert refused.value.code == "invalid_transition"
    assert refused.value.extra == {"status": "draft", "allowed": ["live"]}
    with pytest.raises(TransitionRefused, match="none \\(the article is final\\)"):
        machine.check("gone", "live", party=STAFF)
    with pytest.raises(UnknownState):
        machine.check("draft", "published", party=STAFF)


def test_the_api_answers_a_refused_move_with_409_and_the_allowed_targets(machine):
    try:
        machine.check("draft", "gone", party=STAFF)
    except TransitionRefused as exc:
        request = APIRequestFactory().post("/")
        response = exception_handler(exc, {"view": APIView(), "request": request})
    assert response.status_code == 409
    assert response.data["code"] == "invalid_transition"
    assert response.data["allowed"] == ["live"]
    assert response.data["status"] == "draft"


def test_a_table_naming_an_unknown_state_or_a_second_machine_of_a_name_is_refused(machine):
    with pytest.raises(ValueError, match="not a state"):
        StateMachine("test-bad", Phase, [Transition("draft", "archived", {STAFF})])
    with pytest.raises(ValueError, match="already registered"):
        StateMachine("test-article", Phase, [])


def test_the_docs_print_every_table_from_the_code():
    assert DOC.read_text() == generated(), "run: manage.py document_workflows"
    assert "## ticket" in generated()
