"""A webhook receiver on loopback (a threading HTTP server) for the webhooks' tests: it records every request it
answers (path, headers, body) and can be told to fail the next N requests with a status (and a Retry-After), to be
down (it drops the connection without answering), or to answer slowly."""
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.loopback import POLL


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeReceiver/1"

    def do_POST(self):
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with receiver.lock:
            if receiver.down:
                receiver.refused += 1
                self.close_connection = True
                self.connection.close()
                return
            if receiver.failures > 0:
                receiver.failures -= 1
                status, answer = receiver.fail_status, b'{"error": "try later"}'
            else:
                status, answer = 200, receiver.answer
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            receiver.attempts += 1
        if receiver.delay:
            time.sleep(receiver.delay)
        self.send_response(status)
        if status in (429, 503) and receiver.retry_after is not None:
            self.send_header("Retry-After", str(receiver.retry_after))
        if 300 <= status < 400 and receiver.location:
            self.send_header("Location", receiver.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):  # quiet
        pass


class WebhookReceiver:
    """``url`` is where it listens; ``received`` the requests it accepted (2xx), in order."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.receiver = self
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.failures, self.fail_status, self.retry_after = 0, 500, None
        self.down, self.refused, self.attempts, self.delay = False, 0, 0, 0.0
        self.answer = b'{"ok": true}'
        self.location = None  # sent with a 3xx
        self.thread = threading.Thread(target=self.server.serve_forever, args=(POLL,),
                                       name="fake-webhook-receiver", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def fail(self, times: int, status: int = 500, retry_after=None, location=None):
        """Answer the next ``times`` requests with ``status`` (not recorded as received); a 3xx sends
        ``location``."""
        with self.lock:
            self.failures, self.fail_status, self.retry_after, self.location = times, status, retry_after, location

    def kinds(self) -> list[str]:
        return [item.json["type"] for item in self.received]
