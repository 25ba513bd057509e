import pytest

from support.assist import classifiers

from .test_classifiers import synthetic

_trained = {}


@pytest.fixture
def team_model(db, settings):
    """An active team model trained on synthetic text (team slugs account, billing, technical);
    trained once per test session, stored afresh for each test."""
    settings.AI_MIN_TRAINING_TICKETS = 100
    if "team" not in _trained:
        _trained["team"] = classifiers.train_and_evaluate("team", data=synthetic())
    report = _trained["team"]
    assert report.activate, report.reason
    return classifiers.save(report)
