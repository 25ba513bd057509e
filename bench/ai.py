"""Benchmark AI assist (issue 18): classifier inference and training, passage search at scale,
and the query endpoint's own overhead.

    .venv/bin/python bench/ai.py --tickets 50000 --chunks 100000 --json /tmp/ai.json
    .venv/bin/python bench/ai.py --tickets 5000 --chunks 20000          # smoke run

Pure in-process; the database is only used by the last phase (`--database-url`, default
`BENCH_DATABASE_URL` or the embedded SQLite of `DJANGO_VAR_DIR`), which needs published
articles with their passages (`manage.py seed_demo` embeds them).

1. training: `classifiers.train_and_evaluate` on N generated tickets (the demo's learnable
   text, `support/assist/demo_text.py`) held out by time, the fit, the confidence map and the
   evaluation included (target: 60 s at 50,000 on 2 cores);
2. inference: one ticket at a time through the trained pipeline and its confidence map, 300
   samples (target p95: 10 ms);
3. passage search: a random float32 matrix of C passages × the embedder's dimensions, a query
   embedded by a fitted LSA model and scored by exact cosine, the top 100 taken (what
   `retrieval.search` does in memory; target p95 with the full-text half: 50 ms at 100,000);
4. query overhead: `answers.answer` with the local provider (retrieval, the provider, the log
   row) against the database, 100 samples (target p95: 30 ms).
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def tickets(n):
    import datetime as dt

    from django.utils import timezone

    from support.assist.classifiers import Dataset, ticket_text
    from support.assist.demo_text import VOCABULARY, learnable_text
    from support.demo import SUBJECTS

    rng = random.Random(1)
    start = timezone.now() - dt.timedelta(days=365)
    texts, labels, created = [], [], []
    for i in range(n):
        slug = rng.choice(sorted(VOCABULARY))
        other, sentence = learnable_text(random.Random(i), slug, "medium")
        texts.append(ticket_text(other or rng.choice(SUBJECTS[slug]), sentence))
        labels.append(slug)
        created.append(start + dt.timedelta(minutes=i))
    return Dataset(texts, labels, created)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--json")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdef0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    import numpy as np
    from django.test.utils import override_settings

    from support.assist import classifiers

    out = {"tickets": args.tickets, "chunks": args.chunks, "cores": os.cpu_count()}

    data = tickets(args.tickets)
    with override_settings(AI_MIN_TRAINING_TICKETS=100):
        started = time.perf_counter()
        report = classifiers.train_and_evaluate("category", data=data)
        out["train_s"] = round(time.perf_counter() - started, 2)
    out["train_macro_f1"] = round(report.model["macro_f1"], 3) if report.model else None
    print(f"training on {args.tickets} tickets: {out['train_s']} s "
          f"(macro-F1 {out['train_macro_f1']})")  # fmt: skip

    model, mapping = report.fitted, report.confidence_map
    samples = []
    for text in data.texts[-300:]:
        t = time.perf_counter()
        classifiers.predict(model, [text], mapping)
        samples.append((time.perf_counter() - t) * 1000)
    out["inference_ms"] = {"p50": round(p(samples, 0.5), 2), "p95": round(p(samples, 0.95), 2)}
    print(f"inference, one ticket: p50 {out['inference_ms']['p50']} ms, "
          f"p95 {out['inference_ms']['p95']} ms")  # fmt: skip

    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    from support.assist.retrieval import embed

    lsa = Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")),
        ("svd", TruncatedSVD(n_components=256, random_state=0)),
    ]).fit(data.texts[:20_000])  # fmt: skip
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((args.chunks, 256)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    public = rng.random(args.chunks) < 0.9
    samples = []
    for text in data.texts[:200]:
        t = time.perf_counter()
        query = embed(lsa, [text])[0]
        scores = np.where(public, matrix @ query.astype(np.float32), -np.inf)
        top = np.argpartition(-scores, 99)[:100]  # what retrieval.search does
        top[np.argsort(-scores[top])]
        samples.append((time.perf_counter() - t) * 1000)
    out["passage_search_ms"] = {
        "p50": round(p(samples, 0.5), 2), "p95": round(p(samples, 0.95), 2),
    }  # fmt: skip
    print(
        f"passage search at {args.chunks} passages (in memory): "
        f"p50 {out['passage_search_ms']['p50']} ms, p95 {out['passage_search_ms']['p95']} ms"
    )

    from django.db import DatabaseError

    from support.assist import answers
    from support.assist.models import ArticleChunk
    from support.assist.providers.local import LocalProvider

    try:
        have_passages = ArticleChunk.objects.exists()
    except DatabaseError:  # an unmigrated database: no passages
        have_passages = False
    if have_passages:
        from core.models import User

        user = User.objects.filter(groups__name="customer").first()
        questions = ["How do I reset my password?", "Where is my invoice?", "export to CSV",
                     "two-factor code lost", "refund not received"]  # fmt: skip
        samples = []
        for i in range(100):
            t = time.perf_counter()
            answers.answer(question=questions[i % len(questions)], user=user,
                           provider=LocalProvider())  # fmt: skip
            samples.append((time.perf_counter() - t) * 1000)
        out["query_overhead_ms"] = {
            "p50": round(p(samples, 0.5), 2), "p95": round(p(samples, 0.95), 2),
            "passages": ArticleChunk.objects.count(),
        }  # fmt: skip
        print(f"query overhead ({out['query_overhead_ms']['passages']} passages in the "
              f"database): p50 {out['query_overhead_ms']['p50']} ms, "
              f"p95 {out['query_overhead_ms']['p95']} ms")  # fmt: skip
    else:
        print("query overhead: skipped (no passages in the database; run seed_demo)")
    out["loadavg"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
