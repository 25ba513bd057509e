"""Hybrid article retrieval: the kernel's full-text search fused with latent semantic vectors.

Articles are cut into passages (paragraphs gathered up to ~300 words, 50 words of overlap) and
embedded by an LSA model (TF-IDF of words and word pairs, then `TruncatedSVD`) fitted on the
published articles' passages, stored as an `embedder` artifact. The
beat job `sync_chunks` re-chunks only articles changed since its watermark (and everything when
the embedder changes). A search scores all visible passages by exact cosine over one float32
matrix held per process (reloaded when the chunks change), takes each article's best passage,
and fuses that ranking with the full-text ranking by reciprocal rank (k = 60). Customers' and
anonymous searches see only public passages: internal and unpublished articles are filtered out
before scoring.
"""

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
import skops
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from knowledge.models import Article, Status
from knowledge.selectors import any_word_query, articles_for

from . import classifiers
from .models import ArticleChunk, ModelArtifact, SyncState

CHUNK_WORDS = 300
OVERLAP_WORDS = 50
DIMENSIONS = 256
RRF_K = 60
SYNC_BATCH = 100
SYNC_STATE = "article_chunks"
_SPACE = re.compile(r"\s+")


def chunk_text(title: str, text: str) -> list[str]:
    """Paragraphs gathered up to CHUNK_WORDS words; a long paragraph is cut with overlap.
    Each passage starts with the article's title (it says what the passage is about)."""
    paragraphs = [p.split() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    words_out, current = [], []
    for words in paragraphs:
        while len(words) > CHUNK_WORDS:
            if current:
                words_out.append(current)
                current = []
            words_out.append(words[:CHUNK_WORDS])
            words = words[CHUNK_WORDS - OVERLAP_WORDS :]
        if len(current) + len(words) > CHUNK_WORDS and current:
            words_out.append(current)
            current = current[-OVERLAP_WORDS:] if len(current) > OVERLAP_WORDS else []
        current = current + words
    if current:
        words_out.append(current)
    return [f"{title}. " + " ".join(w) for w in words_out] or [title]


def article_sha(article: Article) -> str:
    state = f"{article.title}\n{article.content_text}\n{article.status}\n{article.is_internal}"
    return hashlib.sha256(state.encode()).hexdigest()


def _is_public(article: Article) -> bool:
    return article.status == Status.PUBLISHED and not article.is_internal


# --- the embedder ----------------------------------------------------------------------------


WORDLLAMA = "wordllama"
_static: dict = {}


def static_embedder():
    """The optional extra's model (`pip install .[embeddings]`): WordLlama's static token
    embeddings whose weights ship inside its wheel, loaded once per process from the package's
    own folder with downloads disabled (its default path looks for `tokenizer/` while the wheel
    has `tokenizers/`, then tries the network). None when the extra is not installed."""
    if "model" not in _static:
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError:
            return None
        folder = Path(wordllama.__file__).parent
        model = WordLlama.load(cache_dir=folder, disable_download=True)
        weights = sorted((folder / "weights").glob("*.safetensors"))[0]
        _static["model"] = model
        _static["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
        _static["name"] = f"wordllama {wordllama.__version__} {weights.stem}"
        _static["dimensions"] = int(model.embed(["probe"]).shape[1])
    return _static["model"]


def wanted_kind() -> str:
    """`AI_EMBEDDER=wordllama` with the extra installed, else LSA (the default)."""
    if settings.AI_EMBEDDER == WORDLLAMA and static_embedder() is not None:
        return WORDLLAMA
    return "lsa"


def kind_of(artifact: ModelArtifact) -> str:
    return (artifact.metrics or {}).get("kind", "lsa")


def load_embedder(artifact: ModelArtifact):
    if kind_of(artifact) == WORDLLAMA:
        model = static_embedder()
        if model is None or _static["sha256"] != artifact.sha256:
            raise ValueError("The active embedder's WordLlama weights are not installed here.")
        return model
    return classifiers.load(artifact)


def _store_static_embedder(n_texts: int) -> ModelArtifact:
    now = timezone.now()
    with transaction.atomic():
        ModelArtifact.objects.filter(target="embedder", is_active=True).update(is_active=False)
        return ModelArtifact.objects.create(
            target="embedder", trained_from=now, trained_until=now, n_train=n_texts, n_test=0,
            label_source=f"none: {_static['name']}, weights shipped in the package",
            library_version=_static["name"],
            metrics={"kind": WORDLLAMA, "dimensions": _static["dimensions"]},
            sha256=_static["sha256"], blob=b"", is_active=True,
            activation_note="static sentence embeddings (AI_EMBEDDER=wordllama)",
        )  # fmt: skip


def fit_embedder() -> ModelArtifact:
    """Fit LSA on every published article's passages; store it. (Ticket text in the fit was
    tried on the demo: it diluted the articles' space, the right passage's cosine fell from
    0.95 to 0.34 for "How do I reset my password?", below any usable threshold.)"""
    texts = []
    for article in Article.objects.filter(status=Status.PUBLISHED).iterator():
        texts.extend(chunk_text(article.title, article.content_text))
    if wanted_kind() == WORDLLAMA:
        _index.invalidate()
        return _store_static_embedder(len(texts))  # nothing to fit: the weights are shipped
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=1,
        stop_words="english",
        max_features=100_000,
    )
    matrix = vectorizer.fit_transform(texts or ["empty"])
    dims = max(1, min(DIMENSIONS, matrix.shape[1] - 1, matrix.shape[0] - 1))
    svd = TruncatedSVD(n_components=dims, random_state=0, algorithm="randomized", n_iter=5)
    svd.fit(matrix)
    model = Pipeline([("tfidf", vectorizer), ("svd", svd)])
    blob = classifiers.dumps(model)
    _index.invalidate()
    with transaction.atomic():
        ModelArtifact.objects.filter(target="embedder", is_active=True).update(is_active=False)
        now = timezone.now()
        return ModelArtifact.objects.create(
            target="embedder",
            trained_from=now,
            trained_until=now,
            n_train=len(texts),
            n_test=0,
            label_source="published article passages (unsupervised)",
            library_version=f"scikit-learn {sklearn.__version__}, skops {skops.__version__}",
            metrics={"dimensions": dims, "vocabulary": len(vectorizer.vocabulary_)},
            sha256=hashlib.sha256(blob).hexdigest(),
            blob=blob,
            is_active=True,
            activation_note="LSA embedder",
        )


def _lsa_vectors(model: Pipeline, texts: list[str]) -> np.ndarray:
    """`model.transform(texts)` for a TF-IDF + SVD pipeline, reading only the components of
    each text's terms. TruncatedSVD multiplies by `components_.T`, which scipy copies whole
    (dimensions × vocabulary, 200 MB at 100,000 terms) on every call: 80 ms of a 90 ms search."""
    tfidf, svd = model.steps[0][1], model.steps[1][1]
    rows = tfidf.transform(texts).tocsr()
    components = svd.components_
    vectors = np.zeros((rows.shape[0], components.shape[0]), dtype=np.float64)
    for i in range(rows.shape[0]):
        start, end = rows.indptr[i], rows.indptr[i + 1]
        if end > start:
            vectors[i] = components[:, rows.indices[start:end]] @ rows.data[start:end]
    return vectors


def embed(model, texts: list[str]) -> np.ndarray:
    if not hasattr(model, "transform"):  # the static extra: already one vector per text
        return np.asarray(model.embed(texts, norm=True), dtype=np.float32)
    is_lsa = isinstance(model, Pipeline) and [n for n, _ in model.steps] == ["tfidf", "svd"]
    vectors = (_lsa_vectors(model, texts) if is_lsa else model.transform(texts)).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return vectors / norms


# --- the sync job ----------------------------------------------------------------------------


def sync_chunks(*, refit: bool = False, batch: int = SYNC_BATCH) -> dict:
    """Bring the passages up to date with the articles changed since the last run (all of them
    when the embedder is new or `refit`). Idempotent: an unchanged article is skipped by its
    sha; a run twice in a row does nothing. Returns counts."""
    embedder = classifiers.active_artifact("embedder")
    state, _ = SyncState.objects.get_or_create(name=SYNC_STATE)
    if embedder is None or refit or kind_of(embedder) != wanted_kind():
        embedder = fit_embedder()  # a changed AI_EMBEDDER re-embeds every passage too
        state.articles_until = None
    model = load_embedder(embedder)
    started = timezone.now()
    due = Article.objects.order_by("updated_at", "pk")
    if state.articles_until is not None:
        due = due.filter(updated_at__gte=state.articles_until)
    stale_ids = set(
        ArticleChunk.objects.exclude(embedder_sha256=embedder.sha256)
        .values_list("article_id", flat=True)
        .distinct()[:batch]
    )
    counts = {"seen": 0, "rechunked": 0, "removed": 0, "chunks": 0}
    articles = list(due[:batch]) + list(Article.objects.filter(pk__in=stale_ids))
    known = {}
    for article_id, sha, embedder_sha in ArticleChunk.objects.filter(
        article__in=[a.pk for a in articles], ordinal=0
    ).values_list("article_id", "content_sha256", "embedder_sha256"):
        known[article_id] = (sha, embedder_sha)
    for article in {a.pk: a for a in articles}.values():
        counts["seen"] += 1
        if article.status != Status.PUBLISHED:
            counts["removed"] += ArticleChunk.objects.filter(article=article).delete()[0]
            continue
        sha = article_sha(article)
        if known.get(article.pk) == (sha, embedder.sha256):
            continue
        texts = chunk_text(article.title, article.content_text)
        vectors = embed(model, texts)
        with transaction.atomic():
            ArticleChunk.objects.filter(article=article).delete()
            ArticleChunk.objects.bulk_create(
                ArticleChunk(
                    article=article,
                    ordinal=i,
                    text=text,
                    content_sha256=sha,
                    embedder_sha256=embedder.sha256,
                    vector=vectors[i].tobytes(),
                    is_public=_is_public(article),
                )
                for i, text in enumerate(texts)
            )
        counts["rechunked"] += 1
        counts["chunks"] += len(texts)
    # The watermark moves to the last article seen when the batch was full, else to the start.
    if len(articles) and len(due[:batch]) == batch:
        state.articles_until = list(due[:batch])[-1].updated_at
    else:
        state.articles_until = started
    fields = ["articles_until", "updated_at"]
    if counts["rechunked"] or counts["removed"]:
        state.version = F("version") + 1
        fields.append("version")
    state.save(update_fields=fields)
    _index.invalidate()
    return counts


# --- searching -------------------------------------------------------------------------------


@dataclass
class Passage:
    article: Article
    chunk_id: int
    text: str
    score: float  # cosine of the passage to the question, 0..1
    fused: float


class _Index:
    """The passages' matrix, per process, reloaded when the chunks change. Whether the active
    embedder or the chunks changed is asked at most every `AI_INDEX_RECHECK_S` seconds (two
    statements a search less); this process's own sync and fits invalidate it at once, another
    process's show within that time."""

    def __init__(self):
        self.key = None
        self.lock = threading.Lock()
        self.checked = None  # (monotonic time, embedder) of the last check
        self.data = None

    def invalidate(self) -> None:
        with self.lock:
            self.checked = None

    def current(self):
        """(the active embedder or None, the index data)."""
        now = time.monotonic()
        recheck = settings.AI_INDEX_RECHECK_S
        with self.lock:
            if self.checked and recheck > 0 and now - self.checked[0] < recheck:
                return self.checked[1], self.data
        embedder = classifiers.active_artifact("embedder")
        data = self.get(embedder) if embedder is not None else None
        with self.lock:
            self.checked = (now, embedder)
        return embedder, data

    def get(self, embedder: ModelArtifact):
        version = (
            SyncState.objects.filter(name=SYNC_STATE).values_list("version", flat=True).first()
        )
        key = (embedder.sha256, version)
        with self.lock:
            if key == self.key:
                return self.data
        rows = list(
            ArticleChunk.objects.filter(embedder_sha256=embedder.sha256)
            .order_by("pk")
            .values_list("pk", "article_id", "is_public", "vector")
        )
        dims = embedder.metrics.get("dimensions", 0)
        matrix = (
            np.frombuffer(b"".join(bytes(r[3]) for r in rows), dtype=np.float32).reshape(-1, dims)
            if rows
            else np.zeros((0, dims), dtype=np.float32)
        )
        data = (
            np.array([r[0] for r in rows]),
            np.array([r[1] for r in rows]),
            np.array([r[2] for r in rows], dtype=bool),
            matrix,
        )
        with self.lock:
            self.key, self.data = key, data
        return data


_index = _Index()


def search(question: str, *, user, public_only: bool, limit: int = 5) -> list[Passage]:
    """The best passages for `question` that `user` may read, one per article, best first."""
    visible = articles_for(user).filter(status=Status.PUBLISHED)
    if public_only:
        visible = visible.filter(is_internal=False)
    embedder, data = _index.current()
    vector_rank: dict[int, tuple[int, float, int]] = {}
    try:
        model = load_embedder(embedder) if embedder is not None else None
    except ValueError:  # the extra's weights are not installed in this process: full-text only
        model = None
    if model is not None:
        chunk_ids, article_ids, public, matrix = data
        query = embed(model, [question])[0] if len(chunk_ids) else None
        # A question of words the embedder never saw is the zero vector: every passage scores
        # 0, which ranks nothing (and is argpartition's worst case, 13 ms at 100,000).
        if query is not None and query.any():
            scores = matrix @ query
            if public_only:
                scores = np.where(public, scores, -np.inf)
            # The top k by argpartition (linear), then only those k sorted.
            k = min(limit * 20, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            order = top[np.argsort(-scores[top], kind="stable")]
            for position in order:
                if not np.isfinite(scores[position]):
                    break
                article_id = int(article_ids[position])
                if article_id not in vector_rank:
                    vector_rank[article_id] = (
                        len(vector_rank),
                        float(scores[position]),
                        int(chunk_ids[position]),
                    )
    text_rank: dict[int, int] = {}
    words = any_word_query(question)
    if words:
        from core.search import search as full_text

        found = full_text(visible, words, ordered=True, snippets=False)
        for position, pk in enumerate(
            found.order_by("-search_rank", "-pk").values_list("pk", flat=True)[: limit * 4]
        ):
            text_rank[pk] = position
    fused = {}
    for pk in set(vector_rank) | set(text_rank):
        score = 0.0
        if pk in vector_rank:
            score += 1 / (RRF_K + vector_rank[pk][0] + 1)
        if pk in text_rank:
            score += 1 / (RRF_K + text_rank[pk] + 1)
        fused[pk] = score
    best = sorted(fused, key=lambda pk: (-fused[pk], pk))[: limit * 2]
    articles = visible.in_bulk(best)  # the visibility check, whatever the vectors said
    chunks = ArticleChunk.objects.in_bulk([vector_rank[pk][2] for pk in best if pk in vector_rank])
    passages = []
    for pk in best:
        if pk not in articles:
            continue
        chunk = chunks.get(vector_rank[pk][2]) if pk in vector_rank else None
        if chunk is not None:  # None: deleted with its article since this matrix was read
            text, chunk_id, score = chunk.text, chunk.pk, max(0.0, vector_rank[pk][1])
        else:
            article = articles[pk]
            text, chunk_id, score = chunk_text(article.title, article.content_text)[0], 0, 0.0
        passages.append(Passage(articles[pk], chunk_id, text, score, fused[pk]))
        if len(passages) == limit:
            break
    return passages
