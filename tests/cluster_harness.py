"""Several machines on one (issue 22): a desk of OS processes that share nothing but the services (one PostgreSQL
database, one Redis, one S3-compatible server): gunicorn web processes behind a small round-robin balancer of
ours, rq workers, mail gateways polling one Maildir and a scheduler, each process with an instance folder of its
own. Shared by tests/integration/test_cluster.py and bench/cluster.py; the load and the checks are in
tests/cluster_load.py."""
import http.client
import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.chat_client import PASSWORD, WebProcess, free_port, web_environment

HELPDESK = str(Path(sys.executable).parent / "helpdesk")
S3_KEYS = {"S3_ACCESS_KEY_ID": "cluster-key", "S3_SECRET_ACCESS_KEY": "cluster-secret"}  # moto takes any


def landed_features() -> dict:
    """Which of issue 22's shared services this checkout has: S3 storage and the PostgreSQL search backend."""
    from config import default
    from helpdesk.search.backend import BACKENDS

    pg_search = "postgresql" in BACKENDS and importlib.util.find_spec(BACKENDS["postgresql"].split(":")[0])
    return {"s3": hasattr(default, "STORAGE_BACKEND") and hasattr(default, "S3_BUCKET"),
            "pg_search": bool(pg_search)}


# --------------------------------------------------------------------------- processes

class Process:
    """One OS process of the desk (a `helpdesk` command), in a process group of its own so that a SIGKILL (a crash)
    takes its children too; ``start`` again after ``kill`` is a restart, as systemd would do it."""

    def __init__(self, name, command, env, log_path):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        if not self.running():
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)  # the group this object started
        except ProcessLookupError:
            pass

    def log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""


class Web(Process):
    """A gunicorn web process (tests/chat_client.py's WebProcess) with the Process interface."""

    def __init__(self, name, env, log_path, threads):
        super().__init__(name, None, env, log_path)
        self.web = WebProcess(env, threads=threads, log_path=log_path)

    @property
    def url(self):
        return self.web.url

    @property
    def port(self):
        return self.web.port

    def start(self):
        self.web.start()
        self.process = self.web.process
        return self

    def kill(self):
        self.web.kill()

    def stop(self):
        self.web.stop()


# --------------------------------------------------------------------------- the balancer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length"}
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
LOST_HEADER = "X-Cluster-Balancer"  # on the balancer's own 502 answers: why it gave up
# Counters shared with the bench through shared memory (the balancer runs in a process of its own).
REQUESTS, RETRIED, LOST_IN_FLIGHT, NO_UPSTREAM, RESET = range(5)


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the clients
    server_version = "cluster-balancer"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._proxy()

    do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def _proxy(self):
        balancer = self.server.balancer
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        headers["X-Forwarded-For"] = self.client_address[0]
        balancer.count(REQUESTS)
        for attempt, port in enumerate(balancer.order()):
            if attempt:
                balancer.count(RETRIED)
            # A new connection per request, as nginx without `keepalive`: a request is never sent on a connection
            # the upstream closed while idle, so "reset before any byte" means the process died with it in hand.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                try:
                    conn.connect()
                except OSError:
                    continue  # refused: nothing was sent, the next upstream gets it
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException):
                    if self.command in IDEMPOTENT:
                        balancer.count(RESET)
                        continue  # proxy_next_upstream error: safe to send again
                    balancer.count(LOST_IN_FLIGHT)  # nginx, too, never sends a POST twice
                    return self._give_up("lost-in-flight")
            finally:
                conn.close()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return None
        balancer.count(NO_UPSTREAM)
        return self._give_up("no-upstream")

    def _give_up(self, why):
        text = f"bad gateway: {why}\n".encode()
        self.send_response_only(502)
        self.send_header(LOST_HEADER, why)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


class Balancer:
    """A threaded HTTP proxy on 127.0.0.1:``port`` that sends each request to the next of ``upstream_ports``
    (round robin) and, when the connection is refused, or reset before any response byte for an idempotent
    request, to the other: nginx's proxy_next_upstream error. It runs in a process of its own (fork), so the
    load generator's threads do not share its interpreter lock; its counts are in shared memory."""

    def __init__(self, upstream_ports, port=None):
        self.upstream_ports, self.port = list(upstream_ports), port or free_port()
        context = multiprocessing.get_context("fork")
        self.counts = context.Array("q", 5)
        self._next = 0
        self._lock = threading.Lock()
        self._process = context.Process(target=self._serve, name="cluster-balancer", daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._process.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket_to(self.port):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the balancer did not start")

    def stop(self):
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def _serve(self):
        ThreadingHTTPServer.daemon_threads = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Proxy)
        server.request_queue_size = 512
        server.balancer = self
        server.serve_forever()

    def order(self) -> list[int]:
        with self._lock:
            first, self._next = self._next, (self._next + 1) % len(self.upstream_ports)
        return self.upstream_ports[first:] + self.upstream_ports[:first]

    def count(self, which):
        with self.counts.get_lock():
            self.counts[which] += 1

    def figures(self) -> dict:
        return {"requests": self.counts[REQUESTS], "retried": self.counts[RETRIED],
                "lost_in_flight": self.counts[LOST_IN_FLIGHT], "no_upstream": self.counts[NO_UPSTREAM],
                "reset": self.counts[RESET]}


def socket_to(port):
    import socket

    return socket.create_connection(("127.0.0.1", port), timeout=1)


# --------------------------------------------------------------------------- the desk

@dataclass
class ClusterConfig:
    webs: int = 2
    workers: int = 2
    gateways: int = 2
    web_threads: int = 16
    customers: int = 10
    agents: int = 3
    secret_key: str = "cluster-harness-secret"
    extra: dict = field(default_factory=dict)  # more HELPDESK_* settings for every process


class Cluster:
    """The desk's processes on loopback around ``database_url`` and ``redis_url``. Shared state lives in the
    services only: each process has its own instance folder; the Maildir drop folder stands for the mail server
    that every gateway host reads (one reads at a time: the gateways' PostgreSQL advisory lock). Without S3 or
    the PostgreSQL search backend in this checkout, attachments or the Whoosh index sit in one folder shared by
    every process (a network disk) and ``fallbacks`` says so."""

    def __init__(self, folder: Path, database_url, redis_url, config: ClusterConfig, features=None):
        self.folder, self.database_url, self.redis_url, self.config = Path(folder), database_url, redis_url, config
        self.features = features if features is not None else landed_features()
        self.queue_prefix = f"cluster-{uuid.uuid4().hex[:8]}"
        self.maildir = self.folder / "mailbox"
        for part in ("new", "cur", "tmp"):
            (self.maildir / part).mkdir(parents=True, exist_ok=True)
        self.s3 = None
        self.fallbacks = []
        self.webs, self.workers, self.gateways, self.others = [], [], [], []
        self.balancer = None

    # ----- settings

    def settings(self) -> dict:
        settings = {
            "ENV": "development", "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": self.redis_url,
            "SMTP_HOST": "", "STORAGE_FSYNC": False, "LOG_LEVEL": "INFO", "GC_TUNING": True,
            # A worker killed with a job in hand leaves it to the sweep; half a minute, not ten, on a short run.
            "JOBS_REDISPATCH_SECONDS": 20, "OUTBOX_SWEEP_INTERVAL": 10,
            "MAIL_MAILBOXES": [{"name": "support", "type": "maildir", "path": str(self.maildir)}],
            "MAIL_MAILDIR_POLL_INTERVAL": 1, "MAIL_PARSE_PROCESSES": 0,
            # Cheaper password hashes: the load logs in a few hundred people once each, not an attack.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:20000",
        }
        if self.features["s3"]:
            settings.update({"STORAGE_BACKEND": "s3", "S3_BUCKET": "cluster", "S3_ENDPOINT_URL": self.s3_url,
                             "S3_REGION": "us-east-1", "S3_ADDRESSING_STYLE": "path", **S3_KEYS})
        else:
            settings["ATTACHMENTS_PATH"] = str(self.folder / "shared-attachments")
        if self.features["pg_search"]:
            settings["SEARCH_BACKEND"] = "postgresql"
        else:
            settings["SEARCH_INDEX_PATH"] = str(self.folder / "shared-search-index")
            settings["KB_INDEX_PATH"] = str(self.folder / "shared-kb-index")
        settings.update(self.config.extra)
        return settings

    def env(self, name) -> dict:
        instance = self.folder / "instance" / name
        instance.mkdir(parents=True, exist_ok=True)
        return web_environment(self.database_url, instance, redis_url=self.redis_url,
                               queue_prefix=self.queue_prefix, secret_key=self.config.secret_key,
                               **self.settings())

    def app_config(self) -> dict:
        """The settings of an app built in this process (seeding and checks), as the processes have them."""
        instance = self.folder / "instance" / "harness"
        instance.mkdir(parents=True, exist_ok=True)
        # Flask-Limiter's limiter is one object per Python process: an app built here with limits off would switch
        # them off for every app this process (a test worker) already holds. It serves no request anyway.
        return {"DATABASE_URL": self.database_url, "INSTANCE_PATH": str(instance), "REDIS_URL": self.redis_url,
                "QUEUE_PREFIX": self.queue_prefix, "SECRET_KEY": self.config.secret_key, **self.settings(),
                "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}

    # ----- services

    def start_s3(self):
        """An S3-compatible server on loopback (moto's, as a process) and the desk's bucket in it."""
        if not self.features["s3"]:
            self.fallbacks.append("attachments and raw mail in a folder shared by every process (S3 storage "
                                  "has not landed)")
            return
        port = free_port()
        self.s3_url = f"http://127.0.0.1:{port}"
        moto = Process("s3", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
                              str(port)], dict(os.environ), self.folder / "s3.log").start()
        self.others.append(moto)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.s3_url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        import boto3

        boto3.client("s3", endpoint_url=self.s3_url, region_name="us-east-1",
                     aws_access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
                     aws_secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"]).create_bucket(Bucket="cluster")

    def migrate(self):
        """`helpdesk db upgrade`, once, as a deploy runs it before the processes start."""
        done = subprocess.run([HELPDESK, "db", "upgrade"], env=self.env("migrate"), capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"helpdesk db upgrade failed:\n{done.stdout}\n{done.stderr}")

    # ----- processes

    def start_processes(self):
        if not self.features["pg_search"]:
            self.fallbacks.append("the Whoosh index in a folder shared by every process, written by one worker "
                                  "(the PostgreSQL search backend has not landed)")
        for i in range(self.config.webs):
            name = f"web{i + 1}"
            self.webs.append(Web(name, self.env(name), self.folder / f"{name}.log", self.config.web_threads))
        for web in self.webs:
            web.start()
        for i in range(self.config.workers):
            queues = ["mail", "default"]
            if self.features["pg_search"] or i == 0:
                queues.append("search")  # Whoosh takes one writer: one worker serves its queue
            command = [HELPDESK, "worker"] + [part for q in queues for part in ("--queue", q)]
            name = f"worker{i + 1}"
            self.workers.append(Process(name, command, self.env(name), self.folder / f"{name}.log").start())
        for i in range(self.config.gateways):
            name = f"gateway{i + 1}"
            gateway = Process(name, [HELPDESK, "mailgateway"], self.env(name), self.folder / f"{name}.log").start()
            self.gateways.append(gateway)
            if i == 0:
                self.wait_for_log(gateway, "mail gateway started", 60)
                time.sleep(2)  # it takes the mailbox's lock: the next one stands by
        scheduler = Process("scheduler", [HELPDESK, "scheduler"], self.env("scheduler"),
                            self.folder / "scheduler.log").start()
        self.others.append(scheduler)
        for process in self.workers:
            self.wait_for_log(process, "worker serving queues", 60)
        self.balancer = Balancer([web.port for web in self.webs]).start()

    @staticmethod
    def wait_for_log(process, text, timeout):
        deadline = time.monotonic() + timeout
        while text not in process.log_text():
            if not process.running():
                raise RuntimeError(f"{process.name} exited with {process.process.returncode}:\n"
                                   f"{process.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.name} did not say {text!r} in {timeout} s")
            time.sleep(0.2)

    def reading_gateway(self):
        """The gateway that holds the mailbox now: the one that has not said it stands by since it started."""
        for gateway in self.gateways:
            if gateway.running() and "standing by" not in gateway.log_text().rsplit("mail gateway started", 1)[-1]:
                return gateway
        return self.gateways[0]

    def stop(self):
        for process in [*self.webs, *self.gateways, *self.workers, *self.others]:
            try:
                process.stop()
            except Exception as exc:  # stopping the others matters more
                print(f"stopping {process.name}: {exc!r}", file=sys.stderr)
        if self.balancer is not None:
            self.balancer.stop()

    def forget_redis(self):
        """Delete this desk's queues and keys (never FLUSHDB: others share the server)."""
        from redis import Redis

        conn = Redis.from_url(self.redis_url)
        for pattern in (f"rq:*{self.queue_prefix}*", f"{self.queue_prefix}*"):
            for key in conn.scan_iter(match=pattern, count=1000):
                conn.delete(key)


def drop_mail(maildir: Path, raw: bytes):
    """Deliver one message as a mail server does: written in tmp/, renamed into new/."""
    name = f"{time.time_ns()}.{uuid.uuid4().hex[:12]}.cluster"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(raw)
    os.replace(tmp, maildir / "new" / name)


def seed_people(app, customers: int, agents: int) -> dict:
    """``customers`` customers and ``agents`` agents with the suite's password: {"customers": [emails],
    "agents": [emails]}."""
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM
    from helpdesk.extensions import db

    people = {"customers": [], "agents": []}
    with app.app_context():
        for i in range(agents):
            user = accounts.create_user(SYSTEM, email=f"agent{i}@desk.cluster.example", full_name=f"Agent {i}",
                                        role="agent", password=PASSWORD)
            people["agents"].append(user.email)
        for i in range(customers):
            user = accounts.create_user(SYSTEM, email=f"customer{i}@client{i % 17}.cluster.example",
                                        full_name=f"Customer {i}", role="customer", password=PASSWORD)
            people["customers"].append(user.email)
        db.session.remove()
    return people


def queues_drained(app, maildir: Path) -> dict:
    """What is still to do: mail in the drop folder, inbound mail not yet processed, jobs not yet done."""
    import sqlalchemy as sa

    from helpdesk.extensions import db

    with app.app_context():
        left = {"maildir": sum(1 for _ in (maildir / "new").iterdir()),
                "inbound": db.session.scalar(sa.text(
                    "SELECT count(*) FROM inbound_messages WHERE status = 'received'")),
                "jobs": db.session.scalar(sa.text("SELECT count(*) FROM pending_jobs"))}
        db.session.remove()
    return left


def wait_drained(app, maildir, timeout) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = queues_drained(app, maildir)
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(1)


def as_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
