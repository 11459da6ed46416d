"""Live chat at scale (issue 21): 250 chats held as 500 Server-Sent Events streams (a guest and an agent per
chat) on several gunicorn gthread web processes sharing a throwaway PostgreSQL database and Redis, each side
posting a message every 10 seconds on average (a brisk chat: people type a line every 10 to 30 seconds), 50
messages a second over the desk; --interval 5 doubles it. A chat's guest and agent are on different web
processes, so every message crosses processes through Redis. Prints the streams held, the messages sent,
received and lost (must be 0) and the median and p95 delivery time, from the POST leaving the client to the
frame arriving on the other side's stream, against the target (p95 < 200 ms).

    .venv/bin/python bench/chat.py [--connections 500] [--seconds 30] [--processes 2] [--interval 10]
    .venv/bin/python bench/chat.py --clients 2          # the load from two client processes
    .venv/bin/python bench/chat.py --url postgresql://...  --web http://127.0.0.1:8080  # a running desk

The client is asyncio and httpx in one process (--clients 1) or several; the figures say whether it kept up
(its CPU and event-loop lag), since a saturated client shows as slow delivery. --web points at web processes
already running (e.g. behind nginx) on the database of --url, with CHAT_MAX_PER_AGENT and rate limits of their
own; without it the bench starts --processes of its own."""
import argparse
import asyncio
import contextlib
import itertools
import logging
import math
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import sqlalchemy as sa

from bench.databases import throwaway_database
from helpdesk import create_app
from helpdesk.extensions import db
from tests.chat_client import FrameParser, StreamReader, WebProcess, log_in_agent, web_environment

TARGET_P95_MS = 200
PASSWORD = "bench chat password"  # noqa: S105 (throwaway agents of a throwaway database)
SECRET_KEY = "bench-chat-secret"  # noqa: S105 (shared by the web processes: an agent's session holds on each of them)
CLIENT_CPU_LIMIT = 0.8  # of one core: above it (or with a laggy event loop) the client, not the desk, is slow
CLIENT_LAG_LIMIT_MS = 20
SIDES_PER_CLIENT = 10  # sides (a stream and its posts) sharing one httpx client and its connection pool


def make_app(url, instance):
    return create_app(None, {"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET_KEY,
                             "REDIS_URL": "", "SMTP_HOST": "", "RATELIMIT_ENABLED": False,
                             "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"})  # logins of the setup, not measured


# --------------------------------------------------------------------------- the desk

def load_agents(app, count, max_chats) -> list[str]:
    """``count`` online agents of a new department, each allowed ``max_chats`` chats at once; their emails."""
    from flask_migrate import upgrade

    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM
    from helpdesk.chat.models import ONLINE, ChatAgent
    from helpdesk.db import utcnow
    from helpdesk.tickets import departments

    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        logging.disable(logging.INFO)  # the migrations' lines
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        department = departments.create_department(SYSTEM, name=f"Chat bench {tag}",
                                                   inbound_address=f"chat-{tag}@bench.example",
                                                   reply_from_address=f"chat-{tag}@bench.example")
        emails = []
        for i in range(count):
            email = f"chat-agent-{tag}-{i}@bench.example"
            user = accounts.create_user(SYSTEM, email=email, full_name=f"Chat Agent {i}", role="agent",
                                        password=PASSWORD)
            departments.add_agent_to_department(SYSTEM, department, user)
            db.session.merge(ChatAgent(user_id=user.id, availability=ONLINE, max_chats=max_chats, seen_at=utcnow()))
            db.session.commit()
            emails.append(email)
        db.session.remove()
    return emails


def start_web_processes(args, url, instance, queue_prefix, max_chats):
    env = web_environment(url, instance, redis_url=args.redis, queue_prefix=queue_prefix, secret_key=SECRET_KEY,
                          RATELIMIT_ENABLED=False, SMTP_HOST="", CHAT_MAX_PER_AGENT=max_chats, LOG_LEVEL="WARNING",
                          **({"CHAT_STREAM_KEEPALIVE_SECONDS": args.keepalive} if args.keepalive else {}))
    threads = args.threads or math.ceil(args.connections / args.processes) + 100  # the streams, and the POSTs
    processes = [WebProcess(env, threads=threads, log_path=instance / f"web-{i}.log",
                            access_log=instance / f"access-{i}.log") for i in range(args.processes)]
    for process in processes:
        process.start()
    return processes, threads


def open_chats(urls, emails, chats):
    """Start ``chats`` chats as guests and have the agents accept them (round robin); the guest's web process
    and the agent's differ. Returns each chat's plan for the clients."""
    agents = []
    for i, email in enumerate(emails):
        client = httpx.Client(base_url=urls[i % len(urls)], timeout=60.0)
        agents.append((client, log_in_agent(client, email, PASSWORD)))

    def one(i):
        guest_url, agent_url = urls[i % len(urls)], urls[(i + 1) % len(urls)]
        started = httpx.post(guest_url + "/chat/start", timeout=60.0, json={
            "name": f"Guest {i}", "email": f"guest-{i}@bench.example", "message": f"Hello from guest {i}",
            "origin": "https://www.bench.example/"})
        if started.status_code != 201:
            raise SystemExit(f"POST /chat/start: {started.status_code} {started.text[:500]}")
        chat_id, key = started.json()["chat"]["id"], started.json()["key"]
        client, csrf = agents[i % len(agents)]
        accepted = client.post(f"{agent_url}/chat/desk/chats/{chat_id}/accept", headers={"X-CSRFToken": csrf})
        if accepted.status_code not in (200, 204):
            raise SystemExit(f"accept chat {chat_id}: {accepted.status_code} {accepted.text[:500]}")
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return {"chat": chat_id, "key": key, "guest_url": guest_url, "agent_url": agent_url, "cookie": cookie,
                "csrf": csrf}

    with ThreadPoolExecutor(8) as pool:
        plan = list(pool.map(one, range(chats + 1)))  # the last one is the probe's
    for client, _csrf in agents:
        client.close()
    return plan


# --------------------------------------------------------------------------- the clients

@dataclass
class Side:
    """One person of a chat: the stream they hold and where they post."""

    name: str  # the side their messages carry: customer | agent
    chat: int
    stream_url: str
    stream_headers: dict
    post_url: str
    post_headers: dict
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    client: httpx.AsyncClient | None = None


def sides_of(plan) -> list[Side]:
    sides = []
    for chat in plan:
        visitor = {"X-Chat-Key": chat["key"]}
        staff = {"Cookie": chat["cookie"]}
        sides.append(Side("customer", chat["chat"], chat["guest_url"] + "/chat/visitor/stream", visitor,
                          chat["guest_url"] + "/chat/visitor/messages", visitor))
        base = f"{chat['agent_url']}/chat/desk/chats/{chat['chat']}"
        sides.append(Side("agent", chat["chat"], base + "/stream", staff, base + "/messages",
                          {**staff, "X-CSRFToken": chat["csrf"]}))
    return sides


class ChatLoad:
    """Holds every side's stream and posts for every side; notes when each message reached the other side."""

    def __init__(self, plan, args):
        self.sides, self.args = sides_of(plan), args
        self.sent = {}  # body -> perf_counter() as its POST left
        self.posted = set()  # bodies whose POST answered 201
        self.delivered = {}  # body -> ms from the POST leaving to the other side's frame
        self.post_ms, self.lag_ms = [], []
        self.post_failures, self.stream_errors = Counter(), Counter()
        self.open_streams = self.drops = 0
        self.stopping = False

    async def run(self, ready, go):
        # httpx's connection pool looks through all its connections (a poll() of each idle one) for every request
        # and response: one client for 500 streams and their posts spent most of its time there, and its posts
        # waited seconds. Small groups of sides share a client each.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=60)
        timeout = httpx.Timeout(30.0, read=120.0)
        async with contextlib.AsyncExitStack() as clients:
            groups = [await clients.enter_async_context(httpx.AsyncClient(limits=limits, timeout=timeout))
                      for _ in range(math.ceil(len(self.sides) / SIDES_PER_CLIENT))]
            for i, side in enumerate(self.sides):
                side.client = groups[i // SIDES_PER_CLIENT]
            started = time.perf_counter()
            readers = [asyncio.create_task(self.hold(side)) for side in self.sides]
            try:
                await asyncio.wait_for(asyncio.gather(*(side.opened.wait() for side in self.sides)), 120)
            except TimeoutError:
                pass
            ready.put({"open": self.open_streams, "seconds": time.perf_counter() - started})
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
            cpu, wall = time.process_time(), time.perf_counter()
            watcher = asyncio.create_task(self.watch_lag())
            deadline = wall + self.args.seconds
            await asyncio.gather(*(self.post(side, deadline) for side in self.sides))
            held, drops = self.open_streams, self.drops
            waited = time.perf_counter() + self.args.grace
            while time.perf_counter() < waited and self.posted - self.delivered.keys():
                await asyncio.sleep(0.1)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            self.stopping = True
            for task in [*readers, watcher]:
                task.cancel()
            await asyncio.gather(*readers, watcher, return_exceptions=True)
        return {"held": held, "drops": drops, "sent": len(self.posted), "failed": dict(self.post_failures),
                "delivered": [self.delivered[body] for body in self.posted if body in self.delivered],
                "lost": len(self.posted - self.delivered.keys()), "post_ms": self.post_ms, "lag_ms": self.lag_ms,
                "stream_errors": dict(self.stream_errors), "cpu": cpu, "wall": wall}

    async def hold(self, side):
        """Hold the side's stream; reconnect with the last event id when it closes, as EventSource does."""
        last_id = None
        while not self.stopping:
            headers = dict(side.stream_headers)
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            opened = False
            try:
                async with side.client.stream("GET", side.stream_url, headers=headers) as response:
                    if response.status_code != 200:
                        self.stream_errors[f"HTTP {response.status_code}"] += 1
                        await response.aread()
                        await asyncio.sleep(1.0)
                        continue
                    opened = True
                    self.open_streams += 1
                    side.opened.set()
                    parser = FrameParser()
                    async for line in response.aiter_lines():
                        frame = parser.feed(line)
                        if frame is None:
                            continue
                        if frame.id is not None:
                            last_id = frame.id
                        if frame.event == "chat-event":
                            self.arrived(side, frame, time.perf_counter())
                        elif frame.event == "reconnect":
                            break
            except httpx.HTTPError as error:
                self.stream_errors[type(error).__name__] += 1
                await asyncio.sleep(0.5)
            finally:
                if opened:
                    self.open_streams -= 1
                    if not self.stopping:
                        self.drops += 1

    def arrived(self, side, frame, now):
        data = frame.json
        body = data.get("body")
        if data.get("side") != side.name and body in self.sent and body not in self.delivered:
            self.delivered[body] = (now - self.sent[body]) * 1000

    async def post(self, side, deadline):
        interval = self.args.interval

        async def pause(seconds):  # never past the end of the run
            await asyncio.sleep(max(0.0, min(seconds, deadline - time.perf_counter())))

        await pause(random.uniform(0, interval))  # the sides' posts spread over the interval
        seq = 0
        while time.perf_counter() < deadline:
            body = f"bench {side.name} {side.chat} {seq}"
            seq += 1
            self.sent[body] = started = time.perf_counter()
            try:
                response = await side.client.post(side.post_url, json={"body": body}, headers=side.post_headers)
                if response.status_code == 201:
                    self.posted.add(body)
                    self.post_ms.append((time.perf_counter() - started) * 1000)
                else:
                    self.post_failures[f"HTTP {response.status_code}"] += 1
            except httpx.HTTPError as error:
                self.post_failures[type(error).__name__] += 1
            await pause(random.uniform(0.5, 1.5) * interval)

    async def watch_lag(self):
        """How late the event loop wakes up: a busy client delays the frames it reads."""
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.05)
            self.lag_ms.append((time.perf_counter() - started - 0.05) * 1000)


def client_process(plan, args, ready, go, results):
    random.seed(os.getpid())
    if not args.profile_client:
        results.put(asyncio.run(ChatLoad(plan, args).run(ready, go)))
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    outcome = profiler.runcall(asyncio.run, ChatLoad(plan, args).run(ready, go))
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(25)
    results.put(outcome)


# --------------------------------------------------------------------------- what the web processes used

def cpu_seconds(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def status_of(pid) -> dict:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def database_connections(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
        db.session.remove()
    return count - 1  # this one


# --------------------------------------------------------------------------- main

def _p95(values):
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else (values[0] if values else float("nan"))


def run(args, app, urls, processes, threads):
    chats = args.connections // 2
    started = time.perf_counter()
    plan = open_chats(urls, args.emails, chats)
    print(f"{chats} chats started by guests and accepted by {len(args.emails)} agents in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    plan, probe = plan[:-1], plan[-1]
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    clients = [context.Process(target=client_process, args=(plan[i::args.clients], args, ready, go, results))
               for i in range(args.clients)]
    for client in clients:
        client.start()
    opened = [ready.get(timeout=300) for _ in clients]
    print(f"{sum(o['open'] for o in opened)} of {2 * chats} streams open in "
          f"{max(o['seconds'] for o in opened):.1f} s; posting for {args.seconds} s, each side every "
          f"{args.interval} s (+-50%)", flush=True)
    workers = [pid for process in processes for pid in process.pids()[1:]]
    cpu_before = {pid: cpu_seconds(pid) for pid in workers}
    logged = {process.access_log: process.access_log.stat().st_size for process in processes}
    wall = time.perf_counter()
    go.set()
    probed = probe_posts(probe, args.seconds * 0.8)
    connections = database_connections(app)
    during = {pid: status_of(pid) for pid in workers}
    outcomes = [results.get(timeout=args.seconds + args.grace + 120) for _ in clients]
    wall = time.perf_counter() - wall
    cpu = {pid: (cpu_seconds(pid) - cpu_before[pid]) / wall for pid in workers}
    for client in clients:
        client.join()
    report(args, chats, outcomes, threads, workers, cpu, during, connections, served_posts(logged), probed)
    return outcomes


def served_posts(logged) -> list[float]:
    """Milliseconds the web processes took for each message POST of the run (their access logs, from the offsets
    noted at the start): a POST slower at the client than here waited in the client or in the network."""
    times = []
    for path, offset in logged.items():
        with open(path, "rb") as log:
            log.seek(offset)
            for line in log.read().decode(errors="replace").splitlines():
                if line.startswith("POST ") and "/messages " in line:
                    times.append(int(line.rsplit(" ", 1)[1]) / 1000)
    return times


def probe_posts(chat, seconds) -> tuple[list[float], list[float]]:
    """A lone guest and agent in this otherwise idle process while the load runs: the guest posts every quarter
    second; (milliseconds of each POST, milliseconds until the agent's stream on the other process had it). What
    one browser would see on the loaded desk, whatever the load's own client is busy with."""
    posts, deliveries, deadline = [], [], time.perf_counter() + seconds
    agent = StreamReader(chat["agent_url"], f"/chat/desk/chats/{chat['chat']}/stream", {"Cookie": chat["cookie"]})
    try:
        agent.wait_open()
        with httpx.Client(timeout=30.0) as client:
            for n in itertools.count():
                if time.perf_counter() >= deadline:
                    break
                body, started = f"probe {n}", time.perf_counter()
                answer = client.post(chat["guest_url"] + "/chat/visitor/messages", json={"body": body},
                                     headers={"X-Chat-Key": chat["key"]})
                if answer.status_code == 201:
                    posts.append((time.perf_counter() - started) * 1000)
                    try:
                        agent.next(where=lambda data, body=body: data.get("body") == body, timeout=10.0)
                        deliveries.append((time.perf_counter() - started) * 1000)
                    except AssertionError:
                        pass
                time.sleep(0.25)
    finally:
        agent.close()
    return posts, deliveries


def report(args, chats, outcomes, threads, workers, cpu, during, connections, served, probed):
    held = sum(o["held"] for o in outcomes)
    sent = sum(o["sent"] for o in outcomes)
    delivered = [ms for o in outcomes for ms in o["delivered"]]
    lost = sum(o["lost"] for o in outcomes)
    failed, errors = Counter(), Counter()
    for o in outcomes:
        failed.update(o["failed"])
        errors.update(o["stream_errors"])
    post_ms = [ms for o in outcomes for ms in o["post_ms"]]
    lag = [ms for o in outcomes for ms in o["lag_ms"]]
    p95 = _p95(delivered)
    where = f"{args.processes} gunicorn gthread processes x {threads} threads" if workers else ", ".join(args.web)
    print(f"\nlive chat: {chats} chats, {2 * chats} streams on {where}; guest and agent of each chat on different "
          f"processes (through Redis); {args.clients} client process(es)")
    print(f"  streams held          {held} of {2 * chats} at the end (dropped during the run: "
          f"{sum(o['drops'] for o in outcomes)}; stream errors: {dict(errors) or 'none'})")
    print(f"  messages sent         {sent} ({sent / args.seconds:.1f}/s; failed posts: {dict(failed) or 'none'})")
    print(f"  received              {len(delivered)}")
    print(f"  lost                  {lost}    {'PASS' if lost == 0 and sent else 'MISS'}")
    if delivered:
        print(f"  delivery median       {statistics.median(delivered):7.1f} ms")
        print(f"  delivery p95          {p95:7.1f} ms (target < {TARGET_P95_MS} ms)    "
              f"{'PASS' if p95 < TARGET_P95_MS else 'MISS'}   (max {max(delivered):.0f} ms)")
    if post_ms:
        print(f"  POST message          median {statistics.median(post_ms):.1f} ms, p95 {_p95(post_ms):.1f} ms at the "
              f"client" + (f"; median {statistics.median(served):.1f} ms, p95 {_p95(served):.1f} ms in the web "
                           f"processes (their access logs)" if served else ""))
    posts, deliveries = probed
    if deliveries:
        lone95 = _p95(deliveries)
        print(f"  a lone guest and agent meanwhile (the bench's own idle process, {len(posts)} messages, "
              f"{len(posts) - len(deliveries)} not delivered in 10 s):")
        print(f"    POST                median {statistics.median(posts):7.1f} ms, p95 {_p95(posts):7.1f} ms")
        print(f"    delivery            median {statistics.median(deliveries):7.1f} ms, p95 {lone95:7.1f} ms "
              f"(target < {TARGET_P95_MS} ms)    {'PASS' if lone95 < TARGET_P95_MS else 'MISS'}")
    client_cpu = max(o["cpu"] / o["wall"] for o in outcomes)
    lag95 = _p95(lag) if lag else 0.0
    if client_cpu >= CLIENT_CPU_LIMIT:
        verdict = "SATURATED: delivery times include the client's own delay (try --clients 2)"
    elif lag95 >= CLIENT_LAG_LIMIT_MS:
        verdict = "kept up, but waited for a core (the machine is busy): delivery times include that wait"
    else:
        verdict = "kept up"
    print(f"  client                CPU {client_cpu:.0%} of a core (busiest process), event-loop lag p95 "
          f"{lag95:.1f} ms, max {max(lag, default=0):.0f} ms: {verdict}")
    for pid in workers:
        status = during.get(pid, {})
        print(f"  web worker {pid:<8} CPU {cpu[pid]:.0%} of a core, RSS {status.get('VmRSS', '?')}, "
              f"threads {status.get('Threads', '?')}")
    print(f"  PostgreSQL connections of the desk during the run: {connections}")
    print(f"  machine: {os.cpu_count()} cores for the web processes, the clients, PostgreSQL and Redis (and whatever "
          f"else runs: load average {os.getloadavg()[0]:.1f} at the end)")


def forget_redis(redis_url, queue_prefix):
    """Delete this run's job queues (never FLUSHDB: others share the server)."""
    if not redis_url:
        return
    from redis import Redis

    conn = Redis.from_url(redis_url)
    for key in conn.scan_iter(match=f"*{queue_prefix}*"):
        conn.delete(key)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=500, help="streams: two per chat (guest and agent)")
    parser.add_argument("--seconds", type=int, default=30, help="how long the sides post")
    parser.add_argument("--processes", type=int, default=2, help="web processes to start")
    parser.add_argument("--threads", type=int, default=0, help="threads per web process (default: its share of "
                                                                "the streams + 100)")
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between one side's messages (+-50%%); 10: 50 messages/s over 250 chats")
    parser.add_argument("--keepalive", type=float, default=0,
                        help="the web processes' CHAT_STREAM_KEEPALIVE_SECONDS (default: the desk's own)")
    parser.add_argument("--profile-client", action="store_true",
                        help="print where the client processes spent their time (cProfile, by own time)")
    parser.add_argument("--clients", type=int, default=1, help="client processes sharing the chats")
    parser.add_argument("--agents", type=int, default=0, help="agents sharing the chats (default: a chat's tenth)")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for the last messages")
    parser.add_argument("--url", help="a PostgreSQL database to use instead of a throwaway one (kept)")
    parser.add_argument("--web", action="append", default=[], metavar="URL",
                        help="a running web process to use (repeatable) instead of starting --processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis of the web processes' hub")
    args = parser.parse_args()
    chats = args.connections // 2
    agents = args.agents or max(1, chats // 10)
    max_chats = math.ceil((chats + 1) / agents)  # and the probe's chat
    instance = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    database = nullcontext(args.url) if args.url else throwaway_database("postgresql", instance)
    queue_prefix = f"helpdesk-bench-chat-{uuid.uuid4().hex[:8]}"
    with database as url:
        app = make_app(url, instance)
        args.emails = load_agents(app, agents, max_chats)
        processes, threads = [], 0
        try:
            if args.web:
                urls = [url.rstrip("/") for url in args.web]
                args.processes = len(urls)
            else:
                processes, threads = start_web_processes(args, url, instance, queue_prefix, max_chats)
                urls = [process.url for process in processes]
            run(args, app, urls, processes, threads)
        finally:
            for process in processes:
                process.stop()
            forget_redis(args.redis, queue_prefix)
            with app.app_context():
                db.engine.dispose()
    if processes:
        print(f"  (web processes' logs: {instance})")


if __name__ == "__main__":
    main()
