"""The optional sentence-embedding extra (`embeddings`: WordLlama, weights shipped in its
wheel, loaded offline): retrieval uses it when installed and asked for, LSA otherwise."""

import pytest

from support.assist import retrieval
from support.assist.models import ArticleChunk, ModelArtifact

from .test_retrieval import articles  # noqa: F401 - the fixture


def test_without_the_extra_lsa_stays(settings, monkeypatch):
    settings.AI_EMBEDDER = "wordllama"
    monkeypatch.setattr(retrieval, "static_embedder", lambda: None)
    assert retrieval.wanted_kind() == "lsa"
    settings.AI_EMBEDDER = "lsa"
    assert retrieval.wanted_kind() == "lsa"


def test_the_shipped_weights_embed_and_answer(articles, settings, api_client, customer):  # noqa: F811
    pytest.importorskip("wordllama")
    settings.AI_EMBEDDER = "wordllama"
    retrieval.sync_chunks()
    embedder = ModelArtifact.objects.get(target="embedder", is_active=True)
    assert retrieval.kind_of(embedder) == "wordllama" and embedder.metrics["dimensions"] == 256
    chunks = ArticleChunk.objects.all()
    assert chunks and {c.embedder_sha256 for c in chunks} == {embedder.sha256}
    assert {len(bytes(c.vector)) for c in chunks} == {256 * 4}
    found = retrieval.search(
        "I forgot my password, how can I get a new one?", user=customer, public_only=True
    )
    assert found[0].article == articles["password"] and found[0].score > 0.3
    assert all(not p.article.is_internal for p in found)
    api_client.force_authenticate(customer)
    answer = api_client.post("/api/v1/ai/query/", {"question": "How do I reset my password?"})
    assert [c["number"] for c in answer.json()["citations"]] == [articles["password"].number]
    # Back to LSA: every passage is embedded again by the new embedder.
    settings.AI_EMBEDDER = "lsa"
    retrieval.sync_chunks()
    lsa = ModelArtifact.objects.get(target="embedder", is_active=True)
    assert retrieval.kind_of(lsa) == "lsa"
    assert {c.embedder_sha256 for c in ArticleChunk.objects.all()} == {lsa.sha256}
