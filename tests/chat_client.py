"""The live chat as a browser holds it, over real HTTP: web processes (gunicorn, gthread) started as OS processes,
a Server-Sent Events parser, a stream read in a thread, and an agent's login through the form. Shared by the
two-process chat test and bench/chat.py."""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import csrf_token

PASSWORD = "correct horse battery"  # the suite's test users


# --------------------------------------------------------------------------- web processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_environment(database_url, instance, *, redis_url, queue_prefix, secret_key, **settings) -> dict:
    """The environment of a web process: this one's, without its HELPDESK_* variables, plus the given settings
    (every process of one desk shares the database, Redis, the queue prefix and the secret key that signs
    sessions, so a login on one process holds on another)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    settings = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "REDIS_URL": redis_url,
                "QUEUE_PREFIX": queue_prefix, "SECRET_KEY": secret_key, **settings}
    for name, value in settings.items():
        env[f"HELPDESK_{name}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class WebProcess:
    """One gunicorn web process (a master and one gthread worker) on 127.0.0.1:``port``, in a process group of
    its own so that killing it (as a crash would) takes its worker too."""

    def __init__(self, env, *, port=None, threads=16, log_path=None, access_log=None):
        self.env, self.port, self.threads, self.log_path = env, port or free_port(), threads, log_path
        self.access_log = access_log  # a file for each request's line: method and path, status, microseconds
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60.0):
        gunicorn = Path(sys.executable).parent / "gunicorn"
        # A stream holds its thread (and its connection) for as long as it is open: threads must outnumber them.
        command = [str(gunicorn), "--no-control-socket", "--worker-class", "gthread", "--workers", "1",
                   "--threads", str(self.threads), "--worker-connections", str(max(1000, self.threads * 2)),
                   "--keep-alive", "75",
                   "--timeout", "60", "--graceful-timeout", "2", "--bind", f"127.0.0.1:{self.port}",
                   "helpdesk:create_app()"]
        if self.access_log:
            command[-1:-1] = ["--access-logfile", str(self.access_log), "--access-logformat", "%(r)s %(s)s %(D)s"]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        finally:
            if self.log_path:
                log.close()
        self.wait_until_ready(timeout)
        return self

    def wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web process on port {self.port} exited with {self.process.returncode}"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                if httpx.get(self.url + "/login", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"web process on port {self.port} not answering after {timeout} s")

    def kill(self):
        """As a crash: SIGKILL to the master and its worker, no goodbye to open streams."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)  # the group this object started (start_new_session)
        except ProcessLookupError:
            pass

    def pids(self) -> list[int]:
        """The master's and its worker's process ids."""
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            children = []
        return pids + [int(child) for child in children]


# --------------------------------------------------------------------------- Server-Sent Events

@dataclass
class Frame:
    """One event of a stream: its name ("message" when it names none), its data text and its id (if any)."""

    event: str
    data: str
    id: str | None

    @property
    def json(self):
        return json.loads(self.data) if self.data else None


class FrameParser:
    """Lines in, frames out, as the HTML standard's EventSource reads a stream: ``data`` lines joined, comments
    (keep-alives) counted, a blank line ends a frame."""

    def __init__(self):
        self.comments = 0
        self.last_id = None
        self._reset()

    def _reset(self):
        self._event, self._data, self._id = None, [], None

    def feed(self, line: str) -> Frame | None:
        if line == "":
            if self._event is None and not self._data and self._id is None:
                return None
            frame = Frame(self._event or "message", "\n".join(self._data), self._id)
            self._reset()
            return frame
        if line.startswith(":"):
            self.comments += 1
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = self.last_id = value
        return None


class StreamReader:
    """Holds one stream in a thread of its own and queues its frames, so a test reads them as they come."""

    def __init__(self, base_url, path, headers=None, last_event_id=None, cookies=None):
        self.headers = dict(headers or {})
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = str(last_event_id)
        self.client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=60.0), cookies=cookies)
        self.path, self.frames, self.parser = path, queue.Queue(), FrameParser()
        self.received = []  # every frame, in order, whoever took it from the queue
        self.status, self.content_type, self.error = None, None, None
        self.opened, self.closed, self._stop = threading.Event(), threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            with self.client.stream("GET", self.path, headers=self.headers) as response:
                self.status, self.content_type = response.status_code, response.headers.get("content-type", "")
                self.opened.set()
                if response.status_code != 200:
                    response.read()
                    return
                for line in response.iter_lines():
                    frame = self.parser.feed(line)
                    if frame is not None:
                        self.received.append(frame)
                        self.frames.put(frame)
                    if self._stop.is_set():
                        return
        except httpx.HTTPError as error:
            self.error = error
        finally:
            self.client.close()
            self.opened.set()
            self.closed.set()

    def wait_open(self, timeout=15.0) -> int:
        assert self.opened.wait(timeout), f"stream {self.path} did not open in {timeout} s"
        return self.status

    def next(self, event="chat-event", timeout=15.0, where=lambda data: True) -> Frame:
        """The next frame named ``event`` whose JSON data passes ``where`` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {event} frame on {self.path} in {timeout} s (error: {self.error})")
            try:
                frame = self.frames.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if frame.event == event and where(frame.json):
                return frame

    def drain(self, wait=0.0) -> list[Frame]:
        """Every frame queued now (after ``wait`` seconds)."""
        time.sleep(wait)
        got = []
        while True:
            try:
                got.append(self.frames.get_nowait())
            except queue.Empty:
                return got

    def close(self, wait=0.5):
        """Stop reading: at the next line (keep-alives bring one) or when the server ends the stream, whichever
        comes first; the thread closes its client then."""
        self._stop.set()
        self._thread.join(timeout=wait)


# --------------------------------------------------------------------------- people

def log_in_agent(client: httpx.Client, login, password=PASSWORD) -> str:
    """Log in through the form with its CSRF token, as a browser does; returns the CSRF token of the logged-in
    session (a login starts a new session, and with it a new token) for the chat door's POSTs."""
    page = client.get("/login")
    answer = client.post("/login", data={"login": login, "password": password, "csrf_token": csrf_token(page.text)},
                         follow_redirects=True)
    if answer.status_code != 200 or "/login" in str(answer.url):
        raise AssertionError(f"login of {login} failed: {answer.status_code} at {answer.url}")
    status = client.get("/chat/status")
    if status.status_code != 200:
        raise AssertionError(f"GET /chat/status: {status.status_code} {status.text[:300]}")
    return status.json()["csrf_token"]


def calendar_closed_now(admin, name):
    """An SLA calendar whose only window is on a weekday three days from today: closed now (chat hours tests)."""
    from helpdesk.db import utcnow
    from helpdesk.tickets.sla import calendar_admin

    calendar = calendar_admin.create_calendar(admin, name=name, time_zone="UTC")
    day = (utcnow().weekday() + 3) % 7
    if day >= 5:
        calendar_admin.add_window(admin, calendar.id, weekday=day, opens="09:00", closes="17:00")
    for window in list(calendar_admin.get_calendar(calendar.id).windows):
        if window.weekday != day:
            calendar_admin.remove_window(admin, calendar.id, calendar_admin.window_key(window))
    return calendar
