"""Seed knowledge base articles in bulk, on PostgreSQL (default 100,000) or SQLite (FTS5).

    .venv/bin/python bench/seed_articles.py              # 100,000 on supportdesk_bench_kb
    .venv/bin/python bench/seed_articles.py --sqlite /tmp/kb --articles 10000  # in /tmp/kb
    .venv/bin/python bench/seed_articles.py --reset      # drop and start again

Creates the database (PostgreSQL: `supportdesk_bench_kb`; SQLite: `db.sqlite3` in the given
folder, through `DJANGO_VAR_DIR`), runs `migrate`, then writes the articles with COPY
(PostgreSQL) or executemany (SQLite), not through the services one by one, but with every
column the services write: number `KB-NNNNN` (and the `KB` counter set past them), a unique
slug as `_unique_slug` makes it, title, summary, Markdown content with its rendered
`content_html` and `content_text` (each Markdown block is rendered once by
`knowledge.markdown.rendered` and reused; a sample of whole articles is rendered again and must
be identical), category, tags (rows of `knowledge_tag` and the many-to-many table, and
`tag_names`), keywords, status (82% published, 5% of them internal), pins and boosts on a few,
counters, dates, an author, and revision 1 of each article. Not written: the audit events of
creation (`knowledge_articleevent`), which no search reads.

The search document is left to the database, as in the app: migration knowledge/0002's trigger
fills `search_document` on PostgreSQL, its FTS5 triggers fill `knowledge_article_fts` on SQLite;
the seeder checks every article got one, then ANALYZEs. Deterministic (`--seed`). Skips the
work when the database already holds exactly `--articles` articles.

The text comes from a vocabulary of support words with skewed frequencies: a topic per article
(30 topics, Zipf-weighted), blocks drawn from a pool where general words are Zipf-weighted and
a list of rare technical words each sits in a handful of blocks, so a query word's share of
articles ranges from about a third ("password", "settings") down to a few in a thousand.
"""

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import seed_tickets  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/supportdesk_bench_kb"
SEED = 20261201
CHUNK = 10_000

TOPICS = [
    "password", "invoice", "export", "dashboard", "billing", "account", "login", "report",
    "api", "webhook", "notification", "email", "payment", "refund", "subscription", "calendar",
    "booking", "integration", "upload", "attachment", "profile", "permissions", "sso", "import",
    "analytics", "checkout", "license", "mobile", "search", "printer",
]  # fmt: skip
GENERAL = [
    "settings", "user", "team", "page", "admin", "access", "data", "error", "sync", "browser",
    "cache", "update", "workspace", "customer", "plan", "role", "link", "file", "message",
    "status", "field", "list", "filter", "token", "session", "device", "screen", "option",
    "timeout", "csv", "owner", "history", "network", "window", "button", "menu", "column",
    "request", "response", "server", "limit", "schedule", "template", "signature", "timezone",
    "currency", "language", "domain", "certificate", "proxy", "firewall", "quota", "backup",
    "audit", "retention", "archive", "tax", "discount", "coupon", "receipt", "statement",
    "contract", "renewal", "trial", "seat", "organization", "group", "guest", "invitation",
    "reminder", "digest", "alert", "widget", "chart", "metric", "label", "category", "priority",
    "queue", "agent", "macro", "shortcut", "keyboard", "clipboard", "download", "preview",
    "thumbnail", "folder", "storage", "encryption", "firmware", "driver", "bluetooth", "wifi",
    "android", "ios", "chrome", "firefox", "safari", "windows", "macos", "linux", "tablet",
    "offline", "latency", "outage", "maintenance", "migration", "sandbox", "staging", "version",
    "changelog", "deprecation", "pagination", "endpoint", "payload", "header", "signature",
    "scope", "callback", "retry", "duplicate", "conflict", "lock", "unlock", "reset", "verify",
]  # fmt: skip
RARE = [
    "kerberos", "ldap", "saml", "idempotency", "ndjson", "webdav", "xliff", "iban", "sepa",
    "zapier", "okta", "jwks", "hsts", "dkim", "dmarc", "punycode", "bidi", "ocr", "crontab",
    "utf16", "chargeback", "escheatment", "vat", "gdpr", "hipaa", "fido2", "yubikey", "mdm",
    "intune", "citrix", "rdp", "vpn", "ipv6", "sftp", "s3", "bigquery", "snowflake", "parquet",
    "avro", "grpc", "graphql", "websocket", "etag", "brotli", "mtls", "scim", "oidc", "pkce",
]  # fmt: skip
VERBS = ["open", "choose", "check", "select", "enable", "disable", "change", "remove", "add",
         "review", "confirm", "copy", "restart", "refresh", "contact"]  # fmt: skip
PROBLEMS = ["does not load", "shows an error", "is slow", "fails", "is missing", "times out",
            "is out of sync", "looks wrong", "keeps spinning", "is rejected", "is duplicated",
            "is blank"]  # fmt: skip
CONTEXTS = ["after the update", "on Android", "on iOS", "in Firefox", "in Chrome",
            "for the whole team", "since yesterday", "after a migration", "for one customer",
            "every Monday", "after renewal", "in the sandbox"]  # fmt: skip
SENTENCES = [
    "{V} the **{w}** {w2} and try again.",
    "If the {t} {p}, {v} the {w} first.",
    "The {t} {w} depends on your {w2} and the {w3} of the workspace.",
    "When the {w} {p} {c}, {v} the {t} {w2}.",
    "Only an admin can {v} the {w} of a {t}.",
    "Your {t} uses the {w} you set in *{W2} settings*.",
    "A {w} that {p} usually means the {w2} is stale; {v} it from the {w3} menu.",
    "Go to **{W} > {W2}** to {v} the {t}.",
    "We keep the {w} for 30 days, then the {t} {w2} moves to the {w3}.",
    "Each {t} has one {w}; a second {w2} replaces it.",
    "Customers see the {t} in their {w} once the {w2} is confirmed.",
    "Ask your {w} owner to {v} the `{w2}` {w3} if the {t} {p}.",
]
PASSWORD_SENTENCES = [
    "To reset your password, open the sign-in page and choose **Forgot password**.",
    "You can reset your password from **Profile > Security** while you are signed in.",
    "An admin can send a link to reset your password if the {w} is locked.",
]
HEADINGS = ["Before you start", "Steps", "Why this happens", "What to check", "Related settings",
            "If it still fails", "Good to know", "Limits"]  # fmt: skip
SUMMARIES = [
    "What to do when the {t} {p} {c}.",
    "{V} the {t} {w} in a few steps.",
    "How the {t} and the {w} work together.",
    "Answers to common questions about the {t} {w}.",
]
TITLES = [
    "How to {v} the {t} {w}",
    "{T} {p} {c}",
    "Why the {t} {w} {p}",
    "{T}: {v} the {w} and the {w2}",
    "Set up {t} {w} for your team",
    "Troubleshooting the {t} {w}",
    "{T} {w} FAQ",
    "What the {t} {w} means",
]
CATEGORIES = [
    ("troubleshooting", 30), ("how_to", 25), ("faq", 15), ("known_issue", 8),
    ("product_guide", 10), ("api_documentation", 7), ("best_practices", 5),
]  # fmt: skip
STATUSES = [("published", 82), ("draft", 8), ("in_review", 4), ("archived", 6)]
TAGS = [*TOPICS, "beta", "enterprise", "mobile-app", "security", "setup", "admin-only", "legacy"]


def log(line: str = "") -> None:
    print(line, flush=True)


def zipf_weights(n: int, offset: float = 2.0) -> list[float]:
    return [1.0 / (rank + offset) for rank in range(1, n + 1)]


class Vocabulary:
    """Deterministic blocks of Markdown and the choices articles are made of."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.topic_weights = zipf_weights(len(TOPICS), 3.0)
        self.general = list(dict.fromkeys(GENERAL))
        rng.shuffle(self.general)
        self.general_weights = zipf_weights(len(self.general), 4.0)
        # Blocks of each topic, and general ones; rare words go into a few random blocks.
        self.topic_blocks = {t: [self._block(t) for _ in range(220)] for t in TOPICS}
        self.general_blocks = [self._block(rng.choice(TOPICS)) for _ in range(3000)]
        pool = [b for blocks in self.topic_blocks.values() for b in blocks] + self.general_blocks
        for word in RARE:
            for _ in range(rng.randint(1, 3)):
                index = rng.randrange(len(pool))
                pool[index] = pool[index].rstrip("\n") + f" See also the {word} settings.\n"
        # Put the rewritten blocks back (the lists share no objects with `pool`).
        cursor = 0
        for topic in TOPICS:
            n = len(self.topic_blocks[topic])
            self.topic_blocks[topic] = pool[cursor : cursor + n]
            cursor += n
        self.general_blocks = pool[cursor:]

    def word(self) -> str:
        return self.rng.choices(self.general, self.general_weights)[0]

    def topic(self) -> str:
        return self.rng.choices(TOPICS, self.topic_weights)[0]

    def fill(self, template: str, topic: str) -> str:
        words = {f"w{i}": self.word() for i in ("", 2, 3)}
        values = {
            "t": topic,
            "T": topic.capitalize(),
            "w": words["w"],
            "w2": words["w2"],
            "w3": words["w3"],
            "W": words["w"].capitalize(),
            "W2": words["w2"].capitalize(),
            "v": self.rng.choice(VERBS),
            "V": self.rng.choice(VERBS).capitalize(),
            "p": self.rng.choice(PROBLEMS),
            "c": self.rng.choice(CONTEXTS),
        }
        return template.format(**values)

    def sentence(self, topic: str) -> str:
        if topic == "password" and self.rng.random() < 0.25:
            return self.fill(self.rng.choice(PASSWORD_SENTENCES), topic)
        return self.fill(self.rng.choice(SENTENCES), topic)

    def _block(self, topic: str) -> str:
        kind = self.rng.random()
        if kind < 0.6:
            return " ".join(self.sentence(topic) for _ in range(self.rng.randint(2, 4))) + "\n"
        if kind < 0.85:
            steps = [self.sentence(topic) for _ in range(self.rng.randint(3, 5))]
            return "".join(f"{i}. {s}\n" for i, s in enumerate(steps, 1))
        if kind < 0.95:
            return f"> Note: {self.sentence(topic)}\n"
        return f"- {self.sentence(topic)}\n- {self.sentence(topic)}\n"


def articles(n: int, seed: int = SEED):
    """Yield `n` article dicts (number, slug, title, ..., content_html, content_text, tags)."""
    from django.utils.text import slugify

    from knowledge.markdown import rendered

    rng = random.Random(seed)
    vocab = Vocabulary(rng)
    cache: dict[str, tuple[str, str]] = {}

    def render_block(markdown: str) -> tuple[str, str]:
        if markdown not in cache:
            cache[markdown] = rendered(markdown)
        return cache[markdown]

    slugs: dict[str, int] = {}
    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    categories, category_weights = zip(*CATEGORIES, strict=True)
    statuses, status_weights = zip(*STATUSES, strict=True)
    for i in range(1, n + 1):
        topic = vocab.topic()
        title = vocab.fill(rng.choice(TITLES), topic)
        base = slugify(title)[:100] or "article"
        count = slugs.get(base, 0) + 1
        slugs[base] = count
        slug = base if count == 1 else f"{base}-{count}"
        blocks = []
        for index in range(rng.randint(5, 8)):
            if index in (1, 4) and rng.random() < 0.7:
                blocks.append(f"## {rng.choice(HEADINGS)}\n")
            pool = vocab.topic_blocks[topic] if rng.random() < 0.55 else vocab.general_blocks
            block = rng.choice(pool)
            # Two lists of one kind in a row would render as one (loose) list.
            while blocks and block[:2] in ("1.", "- ") and blocks[-1][:2] == block[:2]:
                block = rng.choice(pool)
            blocks.append(block)
        content = "\n".join(blocks)
        parts = [render_block(b) for b in blocks]
        html = "".join(p[0] for p in parts)
        text = "\n\n".join(p[1] for p in parts)
        status = rng.choices(statuses, status_weights)[0]
        created = now - dt.timedelta(seconds=rng.randrange(3 * 365 * 86400))
        age = max(1, int((now - created).total_seconds()))
        updated = created + dt.timedelta(seconds=rng.randrange(age))
        published = status in ("published", "archived")
        votes = rng.randrange(40) if published else 0
        helpful = rng.randint(0, votes)
        ratings = rng.randrange(20) if published else 0
        tags = sorted({topic, *rng.sample(TAGS, rng.randint(0, 3))})
        yield {
            "number": f"KB-{i:05d}",
            "slug": slug,
            "title": title[:200],
            "summary": vocab.fill(rng.choice(SUMMARIES), topic),
            "content": content,
            "content_html": html,
            "content_text": text,
            "category": rng.choices(categories, category_weights)[0],
            "keywords": " ".join({vocab.word() for _ in range(rng.randint(0, 3))}),
            "tag_names": " ".join(tags),
            "status": status,
            "is_internal": status == "published" and rng.random() < 0.05,
            "is_pinned": status == "published" and rng.random() < 0.002,
            "search_boost": round(rng.uniform(0.5, 3), 1) if rng.random() < 0.02 else 0.0,
            "view_count": int(rng.paretovariate(1.2) * 10) if published else 0,
            "rating_count": ratings,
            "rating_average": round(rng.uniform(2.5, 5), 2) if ratings else None,
            "helpful_count": helpful,
            "not_helpful_count": votes - helpful,
            "published_at": created + dt.timedelta(hours=rng.randrange(1, 72))
            if published
            else None,
            "created_at": created,
            "updated_at": max(updated, created),
            "tags": tags,
        }


COLUMNS = [
    "number", "slug", "title", "summary", "content", "content_html", "content_text", "category",
    "keywords", "tag_names", "status", "author_id", "is_internal", "is_pinned", "search_boost",
    "view_count", "rating_count", "rating_average", "helpful_count", "not_helpful_count",
    "published_at", "created_at", "updated_at",
]  # fmt: skip


def check_rendering(sample: list[dict]) -> None:
    """The reused block renderings must equal a whole render of the article."""
    from knowledge.markdown import rendered

    for article in sample:
        html, text = rendered(article["content"])
        if (html, text) != (article["content_html"], article["content_text"]):
            raise SystemExit(f"{article['number']}: block rendering differs from a whole render")


def seed(n: int, seed_value: int) -> dict:
    """Under Django (the target database is `default`): write `n` articles; returns counts."""
    from django.db import connection, transaction

    from core.models import User
    from knowledge.models import Article, Tag

    vendor = connection.vendor
    existing = Article.objects.count()
    if existing == n:
        log(f"{n:,} articles already there; nothing to do (--reset to start over)")
        return verify(n)
    if existing:
        raise SystemExit(f"the database holds {existing:,} articles, not {n:,}: use --reset")
    started = time.perf_counter()
    authors = []
    for k in range(1, 6):
        user, _ = User.objects.get_or_create(
            email=f"kb-author-{k}@bench.example",
            defaults={"full_name": f"KB Author {k}", "is_staff": True},
        )
        authors.append(user.pk)
    Tag.objects.bulk_create([Tag(name=name) for name in TAGS], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.values_list("name", "id"))
    rng = random.Random(seed_value + 1)
    table = Article._meta.db_table
    through = Article.tags.through._meta.db_table
    pending_tags: list[tuple[str, str]] = []
    written = 0
    generated = articles(n, seed_value)
    sample_checked = False
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SET synchronous_commit = off")
        while written < n:
            chunk = [next(generated) for _ in range(min(CHUNK, n - written))]
            if not sample_checked:
                check_rendering(chunk[:200])
                sample_checked = True
            for article in chunk:
                article["author_id"] = rng.choice(authors)
                pending_tags += [(article["number"], tag) for tag in article["tags"]]
            with transaction.atomic():
                if vendor == "postgresql":
                    copy_rows(cursor, table, chunk)
                else:
                    placeholders = ", ".join(["%s"] * len(COLUMNS))
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                        [[a[c] for c in COLUMNS] for a in chunk],
                    )
            written += len(chunk)
            log(f"  {written:,} / {n:,} articles ({time.perf_counter() - started:.0f}s)")
        ids = dict(Article.objects.values_list("number", "id"))
        rows = [(ids[number], tag_ids[tag]) for number, tag in pending_tags]
        with transaction.atomic():
            cursor.executemany(f"INSERT INTO {through} (article_id, tag_id) VALUES (%s, %s)", rows)
            # Revision 1, as create_article writes it.
            cursor.execute(
                "INSERT INTO knowledge_articlerevision "
                "(article_id, number, title, summary, content, editor_id, note, created_at) "
                f"SELECT id, 1, title, summary, content, author_id, 'Created', created_at "
                f"FROM {table}"
            )
            # The KB counter past the seeded numbers: a later create_article gets KB-(n+1).
            if vendor == "postgresql":
                cursor.execute("SELECT numbering_next('numbering_kb')")
                cursor.execute("SELECT setval('numbering_kb', %s)", [n])
            else:
                cursor.execute(
                    "INSERT INTO core_numbercounter (scope, last_value) VALUES ('KB', %s) "
                    "ON CONFLICT (scope) DO UPDATE SET last_value = excluded.last_value",
                    [n],
                )
    log(f"  tags and revisions written ({time.perf_counter() - started:.0f}s)")
    analyze()
    counts = verify(n)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def copy_rows(cursor, table: str, chunk: list[dict]) -> None:
    raw = cursor.cursor  # psycopg's cursor under Django's wrapper
    with raw.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for article in chunk:
            copy.write_row([article[c] for c in COLUMNS])


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("knowledge_article", "knowledge_article_tags", "knowledge_tag"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def verify(n: int) -> dict:
    """Every article has its search document (PostgreSQL column / SQLite FTS5 row)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_article")
        total = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM knowledge_article "
                "WHERE search_document IS NOT NULL AND search_document <> ''::tsvector"
            )
            documents = cursor.fetchone()[0]
            cursor.execute("SELECT pg_total_relation_size('knowledge_article')")
            size = cursor.fetchone()[0]
        else:
            cursor.execute(
                "SELECT count(*) FROM knowledge_article_fts f "
                "JOIN knowledge_article a ON a.id = f.rowid"
            )
            documents = cursor.fetchone()[0]
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
            size = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM knowledge_article_tags")
        tag_rows = cursor.fetchone()[0]
    if total != n or documents != n:
        raise SystemExit(f"{total:,} articles, {documents:,} search documents; expected {n:,}")
    log(f"verified: {total:,} articles, {documents:,} search documents, {tag_rows:,} tag rows")
    return {"articles": total, "documents": documents, "tag_rows": tag_rows, "bytes": size}


# --- environments -------------------------------------------------------------------------------


def sqlite_env(folder: str) -> dict:
    """bench.settings on SQLite: no DATABASE_URL, the embedded database in `folder`."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_VAR_DIR=str(folder),
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_HTTPS="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    return env


def pg_env(url: str) -> dict:
    env = seed_tickets.django_env(url)
    env.pop("REDIS_URL", None)
    return env


def bench_env(env: dict) -> dict:
    """For measuring: throttles raised (capacity, not policy), the in-memory broker."""
    return {
        **env,
        "API_THROTTLE_ANON": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        "CELERY_BROKER_URL": "memory://localhost/",
    }


def prepare(args) -> dict:
    """Create (or reset) the database and migrate it; the environment for bench.settings."""
    if args.sqlite:
        folder = Path(args.sqlite)
        database = folder / "db.sqlite3"
        if args.reset:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        env = sqlite_env(str(folder))
    else:
        name = urlparse(args.database_url).path.lstrip("/")
        if not name.startswith("supportdesk_bench"):
            raise SystemExit(f"refusing to seed {name!r}: not a supportdesk_bench* database")
        seed_tickets.ensure_database(args.database_url, args.reset)
        env = pg_env(args.database_url)
    log("manage.py migrate ...")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_KB_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--sqlite", help="seed SQLite in this folder (db.sqlite3) instead")
    parser.add_argument("--reset", action="store_true", help="drop the database first")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        import json

        import django

        django.setup()
        print("RESULT " + json.dumps(seed(args.articles, args.seed)), flush=True)
        return
    env = prepare(args)
    cmd = [sys.executable, __file__, "--inner", "--articles", str(args.articles)]
    subprocess.run([*cmd, "--seed", str(args.seed)], env=env, cwd=ROOT, check=True)


def run(articles_count: int, *, sqlite: str | None = None, url: str = DEFAULT_URL,
        reset: bool = False) -> dict:  # fmt: skip
    """Seed from another script; returns the counts the inner seeder reports."""
    import json

    args = argparse.Namespace(sqlite=sqlite, database_url=url, reset=reset)
    env = prepare(args)
    out = subprocess.run(
        [sys.executable, __file__, "--inner", "--articles", str(articles_count)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
        log(line)
    raise RuntimeError("the seeder reported nothing")


if __name__ == "__main__":
    main()
