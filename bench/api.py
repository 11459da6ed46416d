"""The REST API at scale (issue 20): loads 100,000 tickets with 5 messages each into a throwaway PostgreSQL
database (bench/console.py's loader), gives an agent and a customer a personal API token, and prints the median
and p95 of the ticket list (first page and cursor pages) and of a ticket read, as each, and the rate of ticket
creates, against the targets (list and read p95 < 30 ms; at least 100 creates per second). Times are taken around
the Flask test client's call with the Authorization header, so they include token authentication, the rate limit,
the database and serialising the JSON, but no network.

    .venv/bin/python bench/api.py [--tickets 100000] [--requests 300] [--creates 500] [--keep]
    .venv/bin/python bench/api.py --url postgresql://postgres@127.0.0.1:5432/helpdesk_bench_xxxx

--keep leaves the database in place and prints its URL, so later runs with --url measure again without the load
(--only narrows them). Each run's creates add tickets: the agent's for one customer, the customer's by a new
customer, so the customer whose lists are read keeps the loaded ones. Jobs (acknowledgements, search index,
webhooks) go to Redis as in production (--redis; this run's queues and counts are deleted afterwards), and the
per-token rate limit counts there too, with a limit too high to be reached. Figures that miss their target get
a profile (--profile N requests under cProfile) and the EXPLAIN ANALYZE of their slowest queries."""
import argparse
import cProfile
import io
import multiprocessing
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench import console
from bench.databases import throwaway_database
from helpdesk import create_app
from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.tickets import access
from helpdesk.tickets.models import Ticket

LIST_TARGET_MS = READ_TARGET_MS = 30
CREATE_TARGET_PER_S = 100
CURSOR_PAGES = 3  # cursor pages measured after each first page
AGENT_EMAIL = console.staff_email(1)  # an agent of the Technical department (half the tickets, and unassigned)
PASSWORD = "bench api password"  # noqa: S105 (the bench customer of a throwaway database)
RATE_LIMIT = "1000000/minute"  # counted as in production, never reached


def make_app(url, instance, redis_url, queue_prefix):
    return create_app(None, {
        "DATABASE_URL": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench-api-secret",
        "REDIS_URL": redis_url, "QUEUE_PREFIX": queue_prefix, "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://", "API_RATE_LIMIT": RATE_LIMIT, "SMTP_HOST": ""})


def forget_redis(app, redis_url, queue_prefix, token_ids):
    """Delete this run's job queues and rate-limit counts (never FLUSHDB: others share the server)."""
    if not redis_url:
        return
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    for queue in Queue.all(connection=conn):
        if queue.name.startswith(queue_prefix + "-"):
            queue.delete(delete_jobs=True)
    for token_id in token_ids:
        for key in conn.scan_iter(match=f"LIMITS:LIMITER/api/token:{token_id}/*"):
            conn.delete(key)


def upgrade_kept(app):
    """Bring a kept database to the code's migrations (new tables since it was loaded stay empty)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.session.remove()


# --------------------------------------------------------------------------- who calls

def bench_customer():
    """A loaded customer of an organisation that shares its tickets, the one who sees the most tickets (several
    pages), given a password so their login is active (loaded customers have none; a token needs an active login)."""
    from helpdesk.accounts import service as accounts

    user_id = db.session.scalar(sa.text(
        "SELECT u.id FROM users u JOIN organisations o ON o.id = u.organisation_id "
        "WHERE u.role = 'customer' AND o.share_tickets "
        "ORDER BY (SELECT count(*) FROM tickets t WHERE t.organisation_id = o.id) DESC, u.id LIMIT 1"))
    db.session.execute(sa.update(User).where(User.id == user_id, User.password_hash.is_(None))
                       .values(password_hash=accounts.hash_password(PASSWORD)))
    db.session.commit()
    return db.session.get(User, user_id)


def new_customer():
    """A customer of this run who opens the customer's tickets, so the reads' customer keeps the loaded tickets
    (a --url run measures the same lists again)."""
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    return accounts.create_user(SYSTEM, email=f"creator-{uuid.uuid4().hex[:8]}@bench.example",
                                full_name="Bench Creator", role="customer", password=PASSWORD)


def make_tokens(app):
    """{"agent": (email, token, token id), "customer": (...), "creator": (...)}: a token with every scope for
    the agent, the customer whose lists and tickets are read, and the customer who opens tickets."""
    from helpdesk.accounts import api_tokens

    with app.app_context():
        people = {"agent": db.session.scalar(sa.select(User).where(User.email == AGENT_EMAIL)),
                  "customer": bench_customer(), "creator": new_customer()}
        tokens = {}
        for role, user in people.items():
            row, token = api_tokens.create_token(user, name=f"bench {uuid.uuid4().hex[:6]}",
                                                 scopes=list(api_tokens.SCOPES))
            tokens[role] = (user.email, token, row.id)
        db.session.remove()
    return tokens


class TokenClient:
    """The Flask test client, sending a personal API token with every request."""

    def __init__(self, app, token):
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    def get(self, url):
        return self.client.get(url, headers=self.headers)

    def post(self, url, json):
        return self.client.post(url, json=json, headers=self.headers)


# --------------------------------------------------------------------------- measuring

def _call(client, call, url, check):
    """(ms of wall clock, ms of this process's CPU, JSON body) of one request."""
    started, cpu = time.perf_counter(), time.process_time()
    response = call(client, url)
    elapsed, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    response.close()  # without Redis, a request's jobs run now: after the answer, not in its time
    body = response.get_json(silent=True)
    if not check(response, body):
        raise SystemExit(f"{url}: status {response.status_code}, not the answer we measure:\n"
                         f"{response.get_data(as_text=True)[:2000]}")
    return elapsed, cpu, body


def _get(client, url):
    return client.get(url)


def _is_page(response, body):
    return response.status_code == 200 and isinstance(body, dict) and len(body.get("items") or ()) >= 2


def _is_ticket(response, body):
    return response.status_code == 200 and isinstance(body, dict) and "number" in body


def _cursor_pages(client, first_url, pages):
    """The URLs of the ``pages`` pages after ``first_url``, by their next_cursor."""
    urls, url = [], first_url
    for _ in range(pages):
        *_, body = _call(client, _get, url, _is_page)
        if not body.get("next_cursor"):
            break
        url = first_url + ("&" if "?" in first_url else "?") + f"after={body['next_cursor']}"
        urls.append(url)
    return urls


def visible_numbers(app, email, count, rng):
    """Up to ``count`` random numbers of tickets the person may see."""
    with app.app_context():
        actor = db.session.scalar(sa.select(User).where(User.email == email))
        query = access.visible_tickets(actor).with_only_columns(Ticket.number)
        numbers = db.session.scalars(query.where(sa.text("tickets.id % 97 = 5")).limit(count)).all()
        if len(numbers) < count:
            numbers = db.session.scalars(query.limit(count)).all()
        db.session.remove()
    rng.shuffle(numbers)
    return numbers


def views_for(app, client, email, rng, only=()):
    """(name, target ms, URLs, check) of the reads measured for this person (those whose name contains one of
    ``only``, if given)."""
    def wanted(name):
        return not only or any(part in name for part in only)

    views = [("me (the smallest endpoint)", None, ["/api/v1/me"], lambda r, b: r.status_code == 200)]
    for label, first in (("open", "/api/v1/tickets"), ("closed", "/api/v1/tickets?view=closed")):
        views.append((f"list {label}, first page", LIST_TARGET_MS, [first], _is_page))
        if wanted(f"list {label}, cursor pages"):
            pages = _cursor_pages(client, first, CURSOR_PAGES)
            views.append((f"list {label}, cursor pages ({len(pages)})", LIST_TARGET_MS, pages, _is_page))
    if wanted("read (random tickets)"):
        numbers = visible_numbers(app, email, 1000, rng)
        views.append(("read (random tickets)", READ_TARGET_MS, [f"/api/v1/tickets/{n}" for n in numbers],
                      _is_ticket))
    return [view for view in views if wanted(view[0])]


def _p95(times):
    return statistics.quantiles(times, n=20)[18] if len(times) > 1 else times[0]


def _statements_of(statements, call):
    statements.rows, statements.on = [], True
    try:
        call()
    finally:
        statements.on = False
    return len(statements.rows), sum(row[0] for row in statements.rows)


def measure_reads(app, statements, role, email, token, args):
    rng = random.Random(7)
    client = TokenClient(app, token)
    views = views_for(app, client, email, rng, args.only)
    print(f"\nas the {role} {email}: {args.requests} requests per figure after {args.warmup} warm-up requests; "
          f"ms around the test client's GET (token, rate limit, database, JSON; no network); cpu: the median "
          f"CPU time of this process (the app's Python), the rest is waiting for PostgreSQL and Redis", flush=True)
    print(f"  {'figure':<34} {'median':>8} {'p95':>8} {'target':>8}      {'cpu':>5}   {'SQL/request':>16}",
          flush=True)
    missed = []
    for name, target, urls, check in views:
        for i in range(args.warmup):
            _call(client, _get, urls[i % len(urls)], check)
        measured = [_call(client, _get, urls[i % len(urls)], check) for i in range(args.requests)]
        times = [row[0] for row in measured]
        count, sql_ms = _statements_of(statements, lambda urls=urls, check=check: _call(client, _get, urls[0],
                                                                                          check))
        p95 = _p95(times)
        verdict = "" if target is None else ("PASS" if p95 < target else "MISS")
        shown = f"{target:>5} ms" if target else "       -"
        print(f"  {name:<34} {statistics.median(times):8.1f} {p95:8.1f} {shown} {verdict:>4} "
              f"{statistics.median(row[1] for row in measured):6.1f}   {count:3} in {sql_ms:5.1f} ms", flush=True)
        if verdict == "MISS":
            missed.append((name, urls))
    return client, missed


def create_payloads(n, rng, role):
    """``n`` new tickets as the web form would send them; an agent's are for a customer (as a monitoring system
    opens them: always the same address, a customer found by it after the first)."""
    words = console.console_data.VOCABULARY["en"]
    for i in range(n):
        payload = {"subject": f"{rng.choice(words['subject_a'])} {rng.choice(words['subject_b'])} ({i})",
                   "body": "\n\n".join([rng.choice(words["greeting"]), " ".join(rng.sample(words["customer"], 3)),
                                        rng.choice(words["closing"])])}
        if role == "agent":
            payload["requester_email"] = "monitoring@bench.example"
        yield payload


def _created(response, body):
    return response.status_code == 201 and isinstance(body, dict) and "number" in body


def _post(client, payload):
    return client.post("/api/v1/tickets", payload)


def measure_creates(app, statements, role, email, token, args):
    """``args.creates`` POST /api/v1/tickets in a row in this process; the rate is creates over the sum of their
    times. Then (--processes) as many creates shared among several processes at once, as several web processes
    take them: the rate is all creates over the time from the first to the last."""
    client = TokenClient(app, token)
    rng = random.Random(11)
    for payload in create_payloads(args.warmup, rng, role):
        _call(client, _post, payload, _created)
    measured = [_call(client, _post, payload, _created) for payload in create_payloads(args.creates, rng, role)]
    times = [row[0] for row in measured]
    extra = next(create_payloads(1, rng, role))
    count, sql_ms = _statements_of(statements, lambda: _call(client, _post, extra, _created))
    rate = len(times) / (sum(times) / 1000)
    verdict = "PASS" if rate >= CREATE_TARGET_PER_S else "MISS"
    print(f"\nas the {role} {email}: {args.creates} ticket creates (POST /api/v1/tickets)", flush=True)
    print(f"  one process, in a row: median {statistics.median(times):.1f} ms, p95 {_p95(times):.1f} ms, cpu "
          f"{statistics.median(row[1] for row in measured):.1f} ms; {rate:,.0f} creates/s (target >= "
          f"{CREATE_TARGET_PER_S}/s) {verdict}; {count} SQL statements in {sql_ms:.1f} ms per create", flush=True)
    missed = [] if verdict == "PASS" else [("create", role)]
    if args.processes > 1:
        elapsed = concurrent_creates(app, token, role, args)
        rate = args.creates / elapsed
        verdict = "PASS" if rate >= CREATE_TARGET_PER_S else "MISS"
        print(f"  {args.processes} processes at once: {args.creates} creates in {elapsed:.2f} s = {rate:,.0f} "
              f"creates/s (target >= {CREATE_TARGET_PER_S}/s) {verdict}", flush=True)
    return client, missed


def _create_worker(url, instance, redis_url, queue_prefix, token, role, count, seed, ready, go, done):
    app = make_app(url, instance, redis_url, queue_prefix)
    client = TokenClient(app, token)
    rng = random.Random(seed)
    for payload in create_payloads(5, rng, role):  # connected and warm before the clock starts
        _call(client, _post, payload, _created)
    payloads = list(create_payloads(count, rng, role))
    ready.release()
    go.wait()
    for payload in payloads:
        _call(client, _post, payload, _created)
    with app.app_context():
        db.engine.dispose()
    done.put(count)


def concurrent_creates(app, token, role, args):
    """Share ``args.creates`` creates among ``args.processes`` processes; the seconds from go to the last."""
    context = multiprocessing.get_context("spawn")
    ready, go, done = context.Semaphore(0), context.Event(), context.Queue()
    shares = [args.creates // args.processes + (i < args.creates % args.processes) for i in range(args.processes)]
    workers = [context.Process(target=_create_worker, args=(
        app.config["DATABASE_URL"], app.config["INSTANCE_PATH"], app.config["REDIS_URL"], app.config["QUEUE_PREFIX"],
        token, role, share, 100 + i, ready, go, done)) for i, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    for _worker in workers:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    created = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    assert created == args.creates
    return elapsed


# --------------------------------------------------------------------------- what misses

def _where(filename):
    """The package a profiled function belongs to: the library, helpdesk's own package, or the rest."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/helpdesk/" in filename:
        return "helpdesk/" + filename.split("/helpdesk/", 1)[1].split("/", 1)[0].removesuffix(".py")
    return "builtins" if filename == "~" else "standard library, other"


def profile(name, run, requests, top=25):
    """cProfile ``run`` (one request) ``requests`` times; print the own time and calls per request of each package,
    the helpdesk functions with the most time in them, and the heaviest functions of all by own time. (The
    profiler's cost grows with the calls: call counts are what compares runs on a busy machine.)"""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        run(i)
    profiler.disable()
    stats = pstats.Stats(profiler)
    own, calls = {}, {}
    for (filename, _line, _function), (_cc, count, tottime, _ct, _callers) in stats.stats.items():
        where = _where(filename)
        own[where], calls[where] = own.get(where, 0) + tottime, calls.get(where, 0) + count
    total = sum(own.values())
    print(f"\n-- profile of {name}: {requests} requests, {total / requests * 1000:.1f} ms and "
          f"{stats.total_calls / requests:,.0f} function calls per request under the profiler; own time by package:")
    for where in sorted(own, key=own.get, reverse=True)[:12]:
        print(f"   {where:<28} {own[where] / requests * 1000:6.2f} ms {own[where] / total:6.1%} "
              f"{calls[where] / requests:8,.0f} calls")
    ours = sorted(((ct, count, filename, function) for (filename, _line, function), (_cc, count, _tt, ct, _callers)
                   in stats.stats.items() if "/helpdesk/" in filename), reverse=True)[:top]
    print("   helpdesk functions by time in them (per request):")
    for ct, count, filename, function in ours:
        print(f"   {ct / requests * 1000:6.2f} ms {count / requests:5.1f}x  helpdesk/"
              f"{filename.split('/helpdesk/', 1)[1]}:{function}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    print(f"   top {top} functions by own time:")
    print(text[text.index("ncalls") if "ncalls" in text else 0:].rstrip())


def explain_slowest(app, statements, name, run):
    """EXPLAIN ANALYZE the three slowest statements of one request."""
    statements.rows, statements.on = [], True
    try:
        run()
    finally:
        statements.on = False
    slowest = sorted(statements.rows, key=lambda row: row[0], reverse=True)[:3]
    print(f"\n-- {name}: {len(statements.rows)} statements, {sum(r[0] for r in statements.rows):.1f} ms in SQL; "
          "slowest:")
    with app.app_context(), db.engine.connect() as conn:
        for ms, statement, parameters in slowest:
            print(f"   {ms:.1f} ms: {' '.join(statement.split())[:400]}")
            if not statement.lstrip().upper().startswith("SELECT"):
                continue  # never run a write twice
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            print("\n".join("      " + line for line in plan[:25]))
            conn.rollback()


def diagnose(app, statements, client, missed, args):
    rng = random.Random(13)
    for name, urls in missed:
        if isinstance(urls, str):  # the creates, as this role
            payloads = list(create_payloads(args.profile + 1, rng, urls))

            def run(i, payloads=payloads):
                client.post("/api/v1/tickets", payloads[i]).close()
        else:
            def run(i, urls=urls):
                client.get(urls[i % len(urls)]).close()
        if args.profile:
            profile(name, run, args.profile)
        if not args.no_explain:
            explain_slowest(app, statements, name, lambda run=run: run(args.profile))


# --------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per figure")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests per figure first")
    parser.add_argument("--creates", type=int, default=500, help="ticket creates in a row")
    parser.add_argument("--processes", type=int, default=2,
                        help="then the same creates shared among this many processes at once (1: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its --url)")
    parser.add_argument("--url", help="reuse a kept, loaded database (skips loading)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0",
                        help="Redis for jobs and rate limits, as in production ('' : in-process jobs, memory counts)")
    parser.add_argument("--actor", choices=["agent", "customer", "both"], default="both")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="measure only the figures whose name contains TEXT (repeatable), e.g. --only read; "
                             "--only create for the creates alone")
    parser.add_argument("--profile", type=int, default=100, metavar="N",
                        help="requests to profile of each figure that misses (0: none)")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE of figures that miss")
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="bench-api-"))
    if args.url:
        database = nullcontext(args.url)
    elif args.keep:
        database = console.kept_database()
    else:
        database = throwaway_database("postgresql", instance)
    queue_prefix = f"helpdesk-bench-api-{uuid.uuid4().hex[:8]}"
    with database as url:
        app = make_app(url, instance, args.redis, queue_prefix)
        if not args.url:
            console.load(app, url, args.tickets)
        else:
            upgrade_kept(app)
        if args.keep and not args.url:
            print(f"\nkept: --url {url}", flush=True)
        with app.app_context():
            statements = console.Statements(db.engine)
        tokens = make_tokens(app)
        roles = ["agent", "customer"] if args.actor == "both" else [args.actor]
        try:
            if args.only != ["create"]:
                for role in roles:
                    email, token, _ = tokens[role]
                    client, missed = measure_reads(app, statements, role, email, token, args)
                    diagnose(app, statements, client, missed, args)
            if not args.only or "create" in args.only:  # after the reads: the new tickets join the agent's queue
                for role in roles:
                    email, token, _ = tokens["creator" if role == "customer" else role]
                    client, missed = measure_creates(app, statements, role, email, token, args)
                    diagnose(app, statements, client, missed, args)
        finally:
            forget_redis(app, args.redis, queue_prefix, [token_id for _, _, token_id in tokens.values()])
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
