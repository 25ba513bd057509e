"""Running a real Celery worker against the test database, for end-to-end job tests.

The worker is a subprocess with its own settings module (the test run's settings plus whatever
the test needs), a dedicated Redis database as broker, and the test database (so the test must
commit its rows: `transactional_db`).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from django.db import connection
from kombu.exceptions import OperationalError

from config.celery import app as celery_app


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to its process group if it has not ended within 10 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


ROOT = Path(__file__).resolve().parents[1]
WORKER_APPLICATION_NAME = "celery-test-worker"
WORKER_COMMAND = [
    str(Path(sys.executable).with_name("celery")),
    "-A",
    "config",
    "worker",
    "--pool=solo",
    "-Q",
    "celery",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "info",
]


def wait_for(predicate, timeout, what, *, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(
        f"Timed out after {timeout}s waiting for {what() if callable(what) else what}"
    )


def database_url() -> str:
    """The URL of the database this test runs on, for the worker to use."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def published_to(url, *tasks):
    """While open, `task.apply_async` of each task publishes to the broker at `url`."""
    conn = celery_app.connection_for_write(url)
    # Celery publishes with auto_declare off: make sure the queue and its binding exist on this
    # broker, whatever a flush or a worker's start-up did before.
    try:
        for queue in celery_app.amqp.queues.values():
            queue(conn.default_channel).declare()
    except OperationalError:
        pass  # a broker that is down on purpose: publishing will fail as the test expects

    registered = [celery_app.tasks[task.name] for task in tasks]
    for task in registered:
        task.apply_async = _publishing_on(conn, type(task).apply_async).__get__(task)
    try:
        yield
    finally:
        for task in registered:
            del task.apply_async
        conn.release()


def _publishing_on(conn, apply_async):
    def publish(self, *args, **kwargs):
        kwargs.setdefault("connection", conn)
        return apply_async(self, *args, **kwargs)

    return publish


class Worker:
    def __init__(self, process, log_path):
        self.process, self.log_path = process, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self):
        """SIGKILL the worker's whole process group: no shutdown, no ack, no rollback by it."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        stop_process(self.process)


def launch_worker(directory: Path, *, settings_text: str, redis_url: str, name="worker", env=None):
    """Start a solo-pool worker whose settings module is `settings_text`; wait until it is ready."""
    module = f"{name.replace('-', '_')}_settings"
    (directory / f"{module}.py").write_text(settings_text)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(directory), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "DJANGO_SETTINGS_MODULE": module,
        # Named, so a test can tell the worker's database sessions from everyone else's.
        "DATABASE_URL": database_url() + f"?application_name={WORKER_APPLICATION_NAME}",
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        **(env or {}),
    }
    log_path = directory / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            WORKER_COMMAND,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
    worker = Worker(process, log_path)
    try:
        wait_for(lambda: " ready." in worker.log() or process.poll() is not None, 30, "a worker")
        assert process.poll() is None, f"The worker exited:\n{worker.log()}"
    except BaseException:
        worker.stop()
        raise
    return worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private `redis-server` on a free loopback port, for tests that stop, restart or flush it.

    The shared Redis on 6379 serves other test runs and is never touched by such tests.
    """

    def __init__(self, directory: Path):
        self.directory, self.port, self.process = directory, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.answers, 10, f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self):
        """SIGKILL: what a crash or an OOM kill does (no save, no goodbye to clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def client(self):
        return redis.Redis(port=self.port)


__all__ = [
    "RedisServer",
    "Worker",
    "database_url",
    "free_port",
    "launch_worker",
    "published_to",
    "wait_for",
]
