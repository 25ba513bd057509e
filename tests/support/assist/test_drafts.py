"""Reply drafts and summaries: only with a hosted provider (tested against a real loopback
server), the thread sent redacted, the agent's decision recorded on the interaction row."""

import json

import pytest

from support import services
from support.assist.models import AIInteraction, DraftOutcome, Outcome
from tests.support.factories import make_ticket

from .test_providers import OPENAI_OK

DRAFT = "Hello Ada, I have reset the link: please try again from the login page."


def _reply(text):
    body = json.loads(json.dumps(OPENAI_OK))
    body["choices"][0]["message"]["content"] = text
    return body


@pytest.fixture
def hosted(settings, httpserver):
    settings.AI_PROVIDER = "openai_compatible"
    settings.AI_BASE_URL = httpserver.url_for("/v1")
    settings.AI_MODEL = "gpt-test"
    settings.AI_MAX_RETRIES = 0
    return httpserver


@pytest.fixture
def ticket(customer, lead):
    ticket = make_ticket(
        by=customer,
        subject="Cannot sign in",
        description="<p>Login fails. Mail ada.lovelace@example.com or +44 7700 900123.</p>",
    )
    services.add_message(ticket=ticket, by=lead, body="Checked the account: locked.", internal=True)
    services.add_message(ticket=ticket, by=lead, body="Could you try once more?")
    return ticket


def _draft(api_client, ticket, kind="reply"):
    return api_client.post(
        f"/api/v1/ai/tickets/{ticket.number}/drafts/", {"kind": kind}, format="json"
    )


def _sent(server):
    return json.loads(server.log[-1][0].data)["messages"][-1]["content"]


def test_with_the_local_provider_drafts_are_refused_clearly(api_client, lead, ticket):
    api_client.force_authenticate(lead)
    response = _draft(api_client, ticket)
    assert response.status_code == 409
    assert response.json()["code"] == "drafts_unavailable"
    assert "hosted model" in response.json()["detail"]
    assert not AIInteraction.objects.exists()


def test_the_desk_shows_no_draft_button_with_the_local_provider(client, lead, ticket):
    client.force_login(lead)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Suggestions" in page and "Draft a reply" not in page


def test_a_reply_draft_from_the_hosted_model_sent_redacted(api_client, lead, ticket, hosted):
    hosted.expect_request("/v1/chat/completions").respond_with_json(_reply(DRAFT))
    api_client.force_authenticate(lead)
    response = _draft(api_client, ticket)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == DRAFT and body["kind"] == "reply"
    assert body["provider"] == "openai_compatible" and body["model"] == "gpt-test-2026"
    sent = _sent(hosted)
    assert "ada.lovelace@example.com" not in sent and "a***@example.com" in sent
    assert "7700 900123" not in sent and "[phone]" in sent
    # A reply draft reads the public thread only.
    assert "Could you try once more?" in sent and "locked" not in sent
    row = AIInteraction.objects.get(pk=body["interaction"])
    assert (row.feature, row.outcome, row.ticket, row.user) == (
        "reply_draft",
        "success",
        ticket,
        lead,
    )
    assert row.draft_outcome == DraftOutcome.OFFERED


def test_a_summary_reads_internal_notes_too(api_client, lead, ticket, hosted):
    hosted.expect_request("/v1/chat/completions").respond_with_json(_reply("- Locked account"))
    api_client.force_authenticate(lead)
    response = _draft(api_client, ticket, kind="summary")
    assert response.status_code == 201 and response.json()["kind"] == "summary"
    assert "Internal note:\nChecked the account: locked." in _sent(hosted)
    assert AIInteraction.objects.get().feature == "summary"


def test_a_failed_provider_gives_no_draft_and_its_row(api_client, lead, ticket, hosted):
    hosted.expect_request("/v1/chat/completions").respond_with_data("boom", status=500)
    api_client.force_authenticate(lead)
    response = _draft(api_client, ticket)
    assert response.status_code == 503 and response.json()["code"] == "model_unavailable"
    row = AIInteraction.objects.get()  # no local fallback row: the local provider drafts nothing
    assert (row.provider, row.outcome, row.draft_outcome) == (
        "openai_compatible",
        Outcome.ERROR,
        "",
    )
    assert response.json()["interaction"] == row.pk


def test_unknown_kind_is_refused(api_client, lead, ticket, hosted):
    api_client.force_authenticate(lead)
    assert _draft(api_client, ticket, kind="poem").status_code == 400
    assert not AIInteraction.objects.exists() and not hosted.log


def _decide(api_client, pk, outcome):
    return api_client.post(f"/api/v1/ai/drafts/{pk}/", {"outcome": outcome}, format="json")


@pytest.mark.parametrize(
    ("sent", "outcome"),
    [(DRAFT, DraftOutcome.ACCEPTED), (DRAFT + " Sorry for the wait.", DraftOutcome.EDITED)],
)
def test_taken_into_the_composer_then_sent(api_client, lead, ticket, hosted, sent, outcome):
    hosted.expect_request("/v1/chat/completions").respond_with_json(_reply(DRAFT))
    api_client.force_authenticate(lead)
    pk = _draft(api_client, ticket).json()["interaction"]
    response = _decide(api_client, pk, "in_composer")
    assert response.json() == {"interaction": pk, "outcome": "in_composer"}
    services.add_message(ticket=ticket, by=lead, body=sent)
    row = AIInteraction.objects.get(pk=pk)
    assert row.draft_outcome == outcome and row.draft_decided_at is not None
    # Settled: it cannot be rejected afterwards.
    assert _decide(api_client, pk, "rejected").status_code == 409


def test_rejected_and_only_by_the_agent_who_asked(api_client, lead, agent, ticket, hosted):
    hosted.expect_request("/v1/chat/completions").respond_with_json(_reply(DRAFT))
    api_client.force_authenticate(lead)
    pk = _draft(api_client, ticket).json()["interaction"]
    api_client.force_authenticate(agent)
    assert _decide(api_client, pk, "rejected").status_code == 404
    api_client.force_authenticate(lead)
    assert _decide(api_client, pk, "sent_to_moon").status_code == 400
    assert _decide(api_client, pk, "rejected").json()["outcome"] == "rejected"
    services.add_message(ticket=ticket, by=lead, body=DRAFT)  # a rejected draft stays rejected
    assert AIInteraction.objects.get(pk=pk).draft_outcome == DraftOutcome.REJECTED


def test_customers_cannot_ask_for_drafts(api_client, customer, ticket, hosted):
    api_client.force_authenticate(customer)
    assert _draft(api_client, ticket).status_code == 403
    assert not hosted.log


def test_the_desk_draft_flow(client, lead, ticket, hosted):
    hosted.expect_request("/v1/chat/completions").respond_with_json(_reply(DRAFT))
    client.force_login(lead)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Draft a reply" in page and "Summarise the thread" in page
    fragment = client.post(
        f"/desk/tickets/{ticket.number}/ai/draft/", {"kind": "reply"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert DRAFT in fragment and "Use in reply" in fragment
    row = AIInteraction.objects.get()
    answer = client.post(
        f"/desk/tickets/{ticket.number}/ai/drafts/{row.pk}/",
        {"outcome": "in_composer"},
        HTTP_HX_REQUEST="true",
    )
    assert "taken into the composer" in answer.content.decode()
    row.refresh_from_db()
    assert row.draft_outcome == DraftOutcome.IN_COMPOSER
    # The composer sends it edited.
    client.post(f"/desk/tickets/{ticket.number}/", {"body": DRAFT + " Best, Lee", "then": ""})
    row.refresh_from_db()
    assert row.draft_outcome == DraftOutcome.EDITED
