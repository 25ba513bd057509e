"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) that records what it gets."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: str


@dataclass
class Receiver:
    """`answers` is a list of (status, seconds to wait, Location) used in turn; the last repeats."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, float, str | None]] = field(default_factory=lambda: [(200, 0, None)])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/in"

    def answer(self, *answers) -> None:
        self.answers[:] = list(answers)


def start() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            receiver.requests.append(Received(self.path, dict(self.headers), body))
            status, wait, location = (
                receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
            )
            if wait:
                time.sleep(wait)
            try:
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
