from core import privacy

PROJECT_APPS = [
    "core",
    "knowledge",
    "support",
    "incidents",
    "insurance",
    "bookings",
    "analytics",
    "privacy",
]


def test_every_model_of_every_app_is_covered_by_a_part_or_exempt_with_a_reason():
    """A new app (live chat, AI assist) or model fails here until its privacy.py says what it
    holds about a person: a part that exports and erases it, or an exemption saying why not."""
    from django.apps import apps

    # By app config, so an app inside another's package (support.assist) is not missed.
    labels = {c.label for c in apps.get_app_configs() if c.name.split(".")[0] in PROJECT_APPS}
    assert "support_assist" in labels
    coverage = privacy.coverage(labels)
    assert coverage.missing == []
    assert all(reason for reason in coverage.exempt.values())


def test_every_part_erases_and_names_only_real_models():
    from django.apps import apps

    for part in privacy.parts():
        assert part.erase is not None, part.name
        for label in part.models:
            apps.get_model(label)


def test_scrub_replaces_address_name_and_phone_in_any_case():
    subject = privacy.Subject(email="ann@example.com", name="Ann Smith", phone="+44 7700 900123")
    text = "Dear ann smith (ANN@example.com, +44 7700 900123), thanks"
    assert privacy.scrub(text, subject) == "Dear [erased] ([erased], [erased]), thanks"
    assert privacy.scrub_json({"a": [text]}, subject) == {"a": [privacy.scrub(text, subject)]}
