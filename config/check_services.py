"""Fail fast, with a clear message, when the test suite's PostgreSQL or Redis is not reachable."""

import os
import sys

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/supportdesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def main() -> int:
    import psycopg
    import redis

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    problems = []
    # Connect to the server's maintenance database: the test database is created by the suite.
    server_url = database_url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(server_url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        problems.append(f"PostgreSQL at {server_url} is not reachable: {exc}".strip())
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis at {redis_url} is not reachable: {exc}")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            "The test suite needs PostgreSQL and Redis. Start them, or point DATABASE_URL and "
            "REDIS_URL at running servers.",
            file=sys.stderr,
        )
        return 1
    print(f"PostgreSQL and Redis reachable ({database_url}, {redis_url}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
