"""The application under an ASGI server: uvicorn serving `config.asgi:application`.

A real uvicorn subprocess on a loopback port, against the test database (so these tests commit
their rows), with the production static files storage (the project's own files, collected once
into a temporary folder). Requests go through the network with the standard library's client.
"""

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.db import connection

from core.api.authentication import create_token
from core.roles import Role
from support.models import Ticket
from tests.celery_worker import ROOT, database_url, stop_process, wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SERVER_APPLICATION_NAME = "asgi-test-server"
SERVER_SETTINGS = """\
from pathlib import Path

from {settings_module} import *  # noqa: F403

# The production storage: hashed names, compressed copies, served by WhiteNoise.
STATIC_ROOT = Path({static_root!r})
STORAGES["staticfiles"] = {{  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}}
# Only the project's own static/ (compressing the admin's and Swagger's files takes half a
# minute); a page naming one of theirs gets its plain name instead of an error.
STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
WHITENOISE_MANIFEST_STRICT = False
"""
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's


class Server:
    def __init__(self, process, log_path):
        self.process, self.log_path = process, log_path
        self.url = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.process)


def server_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            [SERVER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """uvicorn serving config.asgi:application on 127.0.0.1 (a free port), until the module ends."""
    with serving(django_db_blocker, tmp_path_factory) as started:
        yield started


@contextmanager
def serving(django_db_blocker, tmp_path_factory, extra_settings: str = ""):
    """uvicorn on a free loopback port with the test settings (plus `extra_settings`, lines of
    a settings module), stopped gracefully at the end."""
    from django.conf import settings

    with django_db_blocker.unblock():
        url = database_url()
    directory = tmp_path_factory.mktemp("asgi")
    (directory / "asgi_test_settings.py").write_text(
        SERVER_SETTINGS.format(
            settings_module=settings.SETTINGS_MODULE, static_root=str(directory / "static")
        )
        + extra_settings
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(directory), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "DJANGO_SETTINGS_MODULE": "asgi_test_settings",
        "DATABASE_URL": f"{url}?application_name={SERVER_APPLICATION_NAME}",
        # Under ASGI a connection belongs to the thread that runs the sync code: Django's advice
        # is no persistent connections there.
        "DATABASE_CONN_MAX_AGE": "0",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "INFO",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=60,
    )
    log_path = directory / "uvicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
                *("--host", "127.0.0.1", "--port", "0", "--lifespan", "off"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, log_path)
    try:
        started = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
        wait_for(
            lambda: started.search(server.log()) or process.poll() is not None,
            30,
            lambda: f"uvicorn to start; its log:\n{server.log()}",
        )
        assert process.poll() is None, f"uvicorn exited:\n{server.log()}"
        server.url = started.search(server.log()).group(1)
        wait_for(lambda: _ready(server.url), 30, lambda: f"/healthz; log:\n{server.log()}")
        yield server
    finally:
        server.stop()
    # A graceful shutdown on SIGTERM (uvicorn re-raises the signal once it has finished).
    assert server.process.returncode in (0, -signal.SIGTERM), server.log()
    assert "Finished server process" in server.log(), server.log()
    assert "Traceback" not in server.log(), server.log()


def _ready(url) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def request(server, path, *, data=None, headers=None, opener=None, method=None):
    """(status, headers, body bytes) of one request; errors are answers too."""
    req = urllib.request.Request(server.url + path, data=data, headers=headers or {}, method=method)
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_health_and_request_ids(server):
    status, headers, body = request(server, "/healthz", headers={"X-Request-ID": "probe-1"})
    assert status == 200, body
    assert headers["X-Request-ID"] == "probe-1"
    # A malformed id from outside is replaced by a fresh one.
    _, headers, _ = request(server, "/healthz", headers={"X-Request-ID": "bad id\t!"})
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])


def test_log_lines_carry_their_own_request_id_when_requests_overlap(server):
    """Request ids are contextvars: under ASGI each request's log lines name its own id."""
    ids = [f"overlap-{n}" for n in range(12)]

    def missing_page(request_id):
        return request(server, f"/no-such-page/{request_id}/", headers={"X-Request-ID": request_id})

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        answers = list(pool.map(missing_page, ids))
    assert [status for status, _, _ in answers] == [404] * len(ids)
    assert [headers["X-Request-ID"] for _, headers, _ in answers] == ids
    # Django logs each 404 inside the request's middleware (django.request, WARNING).
    pattern = re.compile(r"\[([^\]]+)\] django\.request: Not Found: /no-such-page/([^/]+)/")
    wait_for(
        lambda: len(pattern.findall(server.log())) >= len(ids),
        10,
        lambda: f"the 404 log lines; log:\n{server.log()}",
    )
    logged = {path_id: rid for rid, path_id in pattern.findall(server.log())}
    assert {path_id: logged[path_id] for path_id in ids} == {i: i for i in ids}


def test_static_files_are_served_hashed_compressed_and_cached(server, settings):
    manifest = json.loads((Path(server.log_path.parent) / "static/staticfiles.json").read_text())
    hashed = manifest["paths"]["vendor/htmx/htmx.min.js"]
    assert hashed != "vendor/htmx/htmx.min.js"
    source = (ROOT / "static/vendor/htmx/htmx.min.js").read_bytes()

    status, headers, body = request(server, f"/static/{hashed}")
    assert status == 200 and body == source
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Type"].startswith(("text/javascript", "application/javascript"))

    status, headers, body = request(
        server, f"/static/{hashed}", headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == source

    assert request(server, "/static/vendor/htmx/nothing-here.js")[0] == 404


def test_a_token_authenticated_api_client_reads_and_writes(server):
    customer = UserFactory(roles=[Role.CUSTOMER])
    _, key = create_token(user=customer, name="asgi")
    auth = {"Authorization": f"Token {key}", "Accept": "application/json"}

    status, _, body = request(server, "/api/v1/auth/me/", headers=auth)
    assert status == 200, body
    assert json.loads(body)["email"] == customer.email

    payload = {"subject": "Printer on fire", "description": "<p>Smoke</p>", "priority": "high"}
    status, _, body = request(
        server,
        "/api/v1/support/tickets/",
        data=json.dumps(payload).encode(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert status == 201, body
    number = json.loads(body)["number"]
    ticket = Ticket.objects.get(number=number)
    assert (ticket.customer_id, ticket.subject) == (customer.pk, "Printer on fire")

    status, _, body = request(server, f"/api/v1/support/tickets/{number}/", headers=auth)
    assert status == 200 and json.loads(body)["subject"] == "Printer on fire", body

    wrong = {"Authorization": "Token sdk_nope"}
    assert request(server, "/api/v1/auth/me/", headers=wrong)[0] == 401


def test_a_signed_in_agent_uses_the_desk_pages(server):
    agent = UserFactory(roles=[Role.AGENT])
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    status, _, body = request(server, "/desk/", opener=opener)
    assert status == 200 and b'name="password"' in body  # redirected to the login form
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": agent.email, "password": PASSWORD}
    ).encode()
    status, _, body = request(
        server,
        "/accounts/login/?next=/desk/",
        data=form,
        opener=opener,
        headers={"Referer": f"{server.url}/accounts/login/"},
    )
    assert status == 200, body
    assert agent.full_name.encode() in body or b"desk" in body.lower()
    status, _, body = request(server, "/desk/", opener=opener)
    assert status == 200 and b'name="password"' not in body

    # Without the CSRF token a form post is refused, as under WSGI.
    assert request(server, "/accounts/login/", data=b"username=x&password=y")[0] == 403


def test_the_server_holds_no_database_session_between_requests(server):
    request(server, "/readyz")
    wait_for(lambda: server_sessions() == 0, 10, "the server's database session to close")
