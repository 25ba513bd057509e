"""Benchmark AI assist's retrieval at scale (issue 18): article suggestions (hybrid search) and
the query endpoint at N passages in the database, on the knowledge bench's 100,000 articles.

    .venv/bin/python bench/seed_articles.py                       # once: 100,000 articles
    .venv/bin/python bench/ai_retrieval.py --chunks 100000 --json /tmp/ai-retrieval.json

Unlike `bench/ai.py`'s in-memory matrix, this runs the product's code against PostgreSQL:

1. seeding (once, skipped when the passages are there): the LSA embedder fitted by
   `retrieval.fit_embedder` on the published articles, then passages cut by `chunk_text`,
   embedded in batches and bulk-inserted until there are `--chunks` (the beat job's
   per-article path is the product's; this is only faster to seed);
2. suggestions: `retrieval.search` as a customer (public passages only, the full-text half on
   the articles included), the first call per process excluded (it loads the matrix);
   target p95 50 ms;
3. the query endpoint: `POST /api/v1/ai/query/` in process (Django's test client, a signed-in
   customer, the local provider: what remains is the endpoint's own cost, logging included);
   target p95 30 ms.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_kb"
QUESTIONS = [
    "How do I reset my password?",
    "Where is my invoice?",
    "export to CSV",
    "two-factor code lost",
    "refund not received",
    "webhook timeout",
    "printer offline after update",
    "calendar sync stopped working",
    "change the billing address",
    "notifications arrive late",
]


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summary(samples):
    return {
        "p50": round(p(samples, 0.5), 2),
        "p95": round(p(samples, 0.95), 2),
        "max": round(max(samples), 2),
        "n": len(samples),
    }


def seed(target: int) -> dict:
    import numpy as np

    from knowledge.models import Article
    from knowledge.models import Status as ArticleStatus
    from support.assist import retrieval
    from support.assist.models import ArticleChunk

    have = ArticleChunk.objects.count()
    if have >= target:
        return {"seeded": 0, "passages": have}
    from support.assist import classifiers

    started = time.perf_counter()
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED).order_by("pk")
    embedder = classifiers.active_artifact("embedder") if have else None
    if embedder is None:  # a first run: fit, then every article's passages
        ArticleChunk.objects.all().delete()
        embedder = retrieval.fit_embedder()
        rounds = (0, 1)
    else:  # topping up a run that stopped at the last article
        rounds = (1,) if have >= published.count() else (0, 1)
    fitted = time.perf_counter() - started
    model = retrieval.load_embedder(embedder)
    written, rows = have, []

    def flush():
        nonlocal written
        vectors = retrieval.embed(model, [r[2] for r in rows])
        ArticleChunk.objects.bulk_create(
            [
                ArticleChunk(
                    article_id=article.pk,
                    ordinal=ordinal,
                    text=text,
                    content_sha256=retrieval.article_sha(article),
                    embedder_sha256=embedder.sha256,
                    vector=np.asarray(vector, dtype=np.float32).tobytes(),
                    is_public=not article.is_internal,
                )
                for (article, ordinal, text), vector in zip(rows, vectors, strict=True)
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        written += len(rows)
        rows.clear()

    # The bench's articles are one passage each; past the last article, each gets a second
    # passage (its title and summary, as a longer article's next passage would read).
    for round_ in rounds:
        for article in published.iterator(chunk_size=2000):
            if round_ == 0:
                texts = retrieval.chunk_text(article.title, article.content_text)
            else:
                texts = [f"{article.title}\n\n{article.summary or article.content_text[:400]}"]
            for ordinal, text in enumerate(texts, start=round_ * 50):
                rows.append((article, ordinal, text))
            if len(rows) >= 2000:
                flush()
            if written + len(rows) >= target:
                break
        if written + len(rows) >= target:
            break
    if rows:
        flush()
    return {
        "seeded": ArticleChunk.objects.count() - have,
        "passages": ArticleChunk.objects.count(),
        "fit_s": round(fitted, 1),
        "seed_s": round(time.perf_counter() - started, 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_KB_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--json")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # the knowledge bench's database, at this commit
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.test import Client
    from rest_framework.throttling import ScopedRateThrottle

    from core.models import User
    from core.roles import Role
    from support.assist import retrieval

    out = {"cores": os.cpu_count(), "load_before": os.getloadavg()}
    out["seed"] = seed(args.chunks)
    print("passages:", json.dumps(out["seed"]), flush=True)

    customer, _ = User.objects.get_or_create(
        email="bench-ai-customer@example.com", defaults={"full_name": "Bench Customer"}
    )
    customer.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    retrieval.search(QUESTIONS[0], user=customer, public_only=True)  # loads the matrix once
    samples = []
    for i in range(args.samples):
        t = time.perf_counter()
        found = retrieval.search(QUESTIONS[i % len(QUESTIONS)], user=customer, public_only=True)
        samples.append((time.perf_counter() - t) * 1000)
    out["suggestions_ms"] = summary(samples)
    out["suggestions_found"] = len(found)
    print(f"suggestions (retrieval.search, customer): {out['suggestions_ms']}", flush=True)

    # The throttle stays in the path (its cache read and write), at a rate the bench stays under.
    ScopedRateThrottle.THROTTLE_RATES = {**ScopedRateThrottle.THROTTLE_RATES, "ai": "1000000/min"}
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(customer)
    samples, handoffs = [], 0
    for i in range(args.samples + 1):
        t = time.perf_counter()
        response = client.post(
            "/api/v1/ai/query/",
            {"question": QUESTIONS[i % len(QUESTIONS)]},
            content_type="application/json",
        )
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, response.content[:500]
        handoffs += response.json()["handoff"]
        if i:  # the first request of a process builds its URL resolver and serializers
            samples.append(elapsed)
    out["query_endpoint_ms"] = summary(samples)
    out["query_handoffs"] = handoffs
    out["provider"] = settings.AI_PROVIDER
    print(f"query endpoint (in process, local provider): {out['query_endpoint_ms']}", flush=True)
    out["load_after"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
