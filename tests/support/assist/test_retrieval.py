"""Hybrid retrieval and the query endpoint: passages kept current at the cost of what changed,
internal articles never reach customers, answers cite their articles or hand off."""

import pytest

from knowledge import services as kb_services
from support.assist import retrieval
from support.assist.models import AIInteraction, ArticleChunk, Outcome
from tests.knowledge.factories import make_article
from tests.support.factories import make_ticket

PASSWORD = (
    "Open the sign-in page and choose Forgot password. We e-mail you a reset link that works "
    "for one hour. Choose a new password of at least twelve characters."
)
INVOICE = (
    "Invoices are under Billing, one per month. Each invoice shows your VAT number and the "
    "billing address. Download a PDF from the list."
)
INTERNAL = "Escalation runbook: page the on-call engineer when the payment gateway fails."


@pytest.fixture
def articles(lead):
    return {
        "password": make_article(by=lead, title="Reset your password", content=PASSWORD),
        "invoice": make_article(by=lead, title="Find your invoices", content=INVOICE),
        "internal": make_article(
            by=lead, title="Payment gateway runbook", content=INTERNAL, is_internal=True
        ),
        "draft": make_article(
            by=lead,
            title="Password policy draft",
            status="draft",
            content="Passwords will need sixteen characters.",
        ),
    }


def test_chunks_gather_paragraphs_with_overlap():
    text = "\n\n".join(" ".join(f"w{p}x{i}" for i in range(120)) for p in range(5))
    chunks = retrieval.chunk_text("Title", text)
    assert all(c.startswith("Title. ") for c in chunks)
    assert all(len(c.split()) <= retrieval.CHUNK_WORDS + 1 for c in chunks)
    assert len(chunks) == 3
    assert "w1x0" in chunks[0] and "w2x119" in chunks[1]  # paragraphs gathered
    assert retrieval.chunk_text("Only a title", "") == ["Only a title"]


def test_sync_embeds_published_articles_and_then_only_what_changed(articles, lead):
    first = retrieval.sync_chunks()
    assert first["rechunked"] == 3  # the draft has none
    assert not ArticleChunk.objects.filter(article=articles["draft"]).exists()
    assert ArticleChunk.objects.get(article=articles["internal"]).is_public is False
    assert retrieval.sync_chunks()["rechunked"] == 0  # nothing changed: nothing done
    kb_services.update_article(
        article=articles["invoice"],
        by=lead,
        content=INVOICE + "\n\nCredit notes are listed beside them.",
    )
    again = retrieval.sync_chunks()
    assert again["rechunked"] == 1 and again["seen"] == 1
    assert "Credit notes" in ArticleChunk.objects.get(article=articles["invoice"]).text
    kb_services.change_status(article=articles["invoice"], by=lead, to="archived")
    assert retrieval.sync_chunks()["removed"] == 1
    assert not ArticleChunk.objects.filter(article=articles["invoice"]).exists()


def test_hybrid_search_finds_by_meaning_and_keeps_internal_from_customers(
    articles, customer, agent
):
    retrieval.sync_chunks()
    found = retrieval.search("forgot my password reset link", user=customer, public_only=True)
    assert found[0].article == articles["password"] and 0 < found[0].score <= 1
    for question in ("payment gateway fails on-call", "escalation runbook"):
        numbers = [
            p.article.pk for p in retrieval.search(question, user=customer, public_only=True)
        ]
        assert articles["internal"].pk not in numbers
    staff = retrieval.search("payment gateway runbook", user=agent, public_only=False)
    assert staff[0].article == articles["internal"]


def test_query_answers_with_a_citation_deterministically(api_client, articles, customer):
    retrieval.sync_chunks()
    api_client.force_authenticate(customer)
    body = {"question": "How do I reset my password?"}
    first = api_client.post("/api/v1/ai/query/", body)
    assert first.status_code == 200, first.content
    data = first.json()
    assert data["handoff"] is False and data["provider"] == "local"
    assert "reset link" in data["answer"] or "Forgot password" in data["answer"]
    assert [c["number"] for c in data["citations"]] == [articles["password"].number]
    second = api_client.post("/api/v1/ai/query/", body).json()
    assert {k: v for k, v in second.items() if k != "interaction"} == {
        k: v for k, v in data.items() if k != "interaction"
    }
    row = AIInteraction.objects.get(pk=data["interaction"])
    assert row.feature == "query" and row.outcome == Outcome.SUCCESS
    assert articles["password"].number in row.retrieved_ids


def test_query_below_the_threshold_hands_off(api_client, articles, customer):
    retrieval.sync_chunks()
    api_client.force_authenticate(customer)
    data = api_client.post("/api/v1/ai/query/", {"question": "zebra quantum violin"}).json()
    assert data["handoff"] is True and data["answer"] == "" and data["citations"] == []
    assert AIInteraction.objects.get(pk=data["interaction"]).outcome == Outcome.HANDOFF


def test_query_never_cites_internal_articles_to_customers(api_client, articles, customer):
    retrieval.sync_chunks()
    api_client.force_authenticate(customer)
    data = api_client.post(
        "/api/v1/ai/query/", {"question": "payment gateway fails, page the on-call engineer"}
    ).json()
    assert articles["internal"].number not in str(data)
    row = AIInteraction.objects.get(pk=data["interaction"])
    assert articles["internal"].number not in row.retrieved_ids


def test_query_with_a_ticket_needs_a_ticket_the_caller_sees(api_client, articles, customer):
    from tests.factories import UserFactory

    ticket = make_ticket(by=customer)
    other = UserFactory(roles=["customer"])
    api_client.force_authenticate(other)
    response = api_client.post(
        "/api/v1/ai/query/", {"question": "password", "ticket": ticket.number}
    )
    assert response.status_code == 404
    api_client.force_authenticate(customer)
    ok = api_client.post("/api/v1/ai/query/", {"question": "password", "ticket": ticket.number})
    assert ok.status_code == 200
    assert AIInteraction.objects.get(pk=ok.json()["interaction"]).ticket == ticket


def test_query_with_a_chat_needs_a_chat_the_caller_may_name(api_client, articles, customer, agent):
    from support.chat import services as chat_services
    from tests.factories import UserFactory
    from tests.support.chat.factories import ChatWidgetFactory, online_agent

    online_agent()
    mine, _ = chat_services.start_session(
        widget=ChatWidgetFactory(bot_enabled=True), customer=customer
    )
    body = {"question": "password", "chat": str(mine.public_id)}
    api_client.force_authenticate(UserFactory(roles=["customer"]))
    assert api_client.post("/api/v1/ai/query/", body).status_code == 404
    assert (
        api_client.post(
            "/api/v1/ai/query/", {**body, "chat": "00000000-0000-0000-0000-000000000000"}
        ).status_code
        == 404
    )
    for caller in (customer, agent):
        api_client.force_authenticate(caller)
        ok = api_client.post("/api/v1/ai/query/", body)
        assert ok.status_code == 200, ok.content
        assert AIInteraction.objects.get(pk=ok.json()["interaction"]).chat_session == mine


def test_query_needs_a_signed_in_caller(api_client):
    assert api_client.post("/api/v1/ai/query/", {"question": "hi"}).status_code in (401, 403)


def test_a_hosted_models_tool_request_is_returned_not_run(
    api_client, articles, customer, settings, httpserver
):
    from support.assist.models import AIToolCall

    settings.AI_PROVIDER = "openai_compatible"
    settings.AI_BASE_URL = httpserver.url_for("/v1")
    httpserver.expect_request("/v1/chat/completions").respond_with_json({
        "id": "c1", "model": "gpt-test",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Checking [KB-1].",
            "tool_calls": [{"id": "t1", "type": "function", "function": {
                "name": "create_ticket", "arguments": "{\"subject\": \"x\"}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    })  # fmt: skip
    retrieval.sync_chunks()
    api_client.force_authenticate(customer)
    data = api_client.post("/api/v1/ai/query/", {"question": "How do I reset my password?"})
    data = data.json()
    assert data["provider"] == "openai_compatible"
    assert data["requested_tools"] == [{"name": "create_ticket", "arguments": {"subject": "x"}}]
    assert not AIToolCall.objects.exists()
    from support.models import Ticket

    assert not Ticket.objects.filter(customer=customer).exists()


def test_the_ticket_panel_shows_passages_that_may_answer_it(client, articles, customer, lead):
    retrieval.sync_chunks()
    ticket = make_ticket(
        by=customer,
        subject="Forgot password",
        description="<p>I need a password reset link, please.</p>",
    )
    client.force_login(lead)
    html = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "May answer it" in html and "Reset your password" in html
    assert "% match" in html


def test_an_answer_costs_few_statements_with_the_index_cached(articles, customer, settings):
    """The query endpoint's own overhead: with the index checked at most every few seconds, an
    answer is the caller's scope, the full-text half, the visibility check, the passages' text
    and the log row; the index's own check comes back after the recheck time or a sync."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from support.assist import answers

    settings.AI_INDEX_RECHECK_S = 60
    retrieval.sync_chunks()
    question = "How do I reset my password?"
    answers.answer(question=question, user=customer)  # loads the index and the embedder
    with CaptureQueriesContext(connection) as cached:
        first = answers.answer(question=question, user=customer)
    settings.AI_INDEX_RECHECK_S = 0
    with CaptureQueriesContext(connection) as checked:
        second = answers.answer(question=question, user=customer)
    assert first.citations == second.citations and not first.handoff
    assert len(cached) == len(checked) - 2, [q["sql"][:80] for q in cached.captured_queries]
    assert len(cached) <= 5, [q["sql"][:80] for q in cached.captured_queries]


def test_lsa_vectors_are_the_pipelines_own_without_its_copy(articles):
    """`embed` reads only each text's terms' components; the numbers are TruncatedSVD's."""
    import numpy as np

    from support.assist import classifiers

    retrieval.sync_chunks()
    model = retrieval.load_embedder(classifiers.active_artifact("embedder"))
    texts = ["How do I reset my password?", "invoice VAT billing address", "", "zebra"]
    expected = model.transform(texts).astype(np.float32)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    norms[norms == 0] = 1
    assert np.allclose(retrieval.embed(model, texts), expected / norms, atol=1e-6)


def test_the_index_reloads_when_a_sync_changed_passages_and_survives_a_deleted_article(
    articles, customer, lead, settings
):
    from support.assist.models import SyncState

    settings.AI_INDEX_RECHECK_S = 0
    retrieval.sync_chunks()
    found = retrieval.search("reset my password", user=customer, public_only=True)
    assert found[0].article == articles["password"]
    version = SyncState.objects.get(name=retrieval.SYNC_STATE).version
    assert retrieval.sync_chunks()["rechunked"] == 0  # nothing changed: the same version
    assert SyncState.objects.get(name=retrieval.SYNC_STATE).version == version
    kb_services.update_article(
        article=articles["invoice"], by=lead, content=INVOICE + " Reset the password there too."
    )
    retrieval.sync_chunks()
    assert SyncState.objects.get(name=retrieval.SYNC_STATE).version == version + 1
    # Another process re-chunked an article within this one's recheck time: the matrix still
    # names the old passage; the answer falls back to the article's own text, no error.
    settings.AI_INDEX_RECHECK_S = 60
    retrieval.search("reset my password", user=customer, public_only=True)
    ArticleChunk.objects.filter(article=articles["password"]).delete()
    found = retrieval.search("reset my password", user=customer, public_only=True)
    assert found[0].article == articles["password"] and found[0].chunk_id == 0


def test_a_question_of_unknown_words_suggests_nothing(articles, customer):
    """The zero vector scores every passage 0: no passage is the nearest, none is offered."""
    retrieval.sync_chunks()
    assert retrieval.search("zebra quantum violin", user=customer, public_only=True) == []
