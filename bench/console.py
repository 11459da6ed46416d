"""The staff console at scale: loads 1,000,000 tickets with 5 messages each into a throwaway PostgreSQL
database, indexes them for search, and prints the median and p95 server time of the queue's views, a ticket
page and a search, as an agent in a department and as an admin, against the targets (queue views and ticket
page p95 < 50 ms, search p95 < 100 ms). Times are taken around the Flask test client's GET, so they include
the database, the search and rendering the page, but no network or browser.

    .venv/bin/python bench/console.py [--tickets 1000000] [--requests 200] [--keep] [--instance DIR]
    .venv/bin/python bench/console.py --url postgresql://postgres@127.0.0.1:5432/helpdesk_bench_xxxx --instance DIR

--keep leaves the database and the instance folder (with the search index) in place and prints both, so
later runs with --url and --instance measure again without the slow load (--actor and --only narrow them).
When the normal search rebuild would take over 15 minutes, the same documents are indexed by a bulk path
(Whoosh's two-process writer: about 25 minutes for a million tickets here), with the recent tier;
--index-subset N indexes only the newest N (the output says so). Views that miss their target get the
EXPLAIN ANALYZE of their slowest queries. --search-backend postgresql measures the PostgreSQL full-text
backend instead of Whoosh (indexed by its own rebuild; with --url, pass --index normal to index again), with
--search-count-limit N as SEARCH_COUNT_LIMIT (1000 in the production example)."""
import argparse
import atexit
import html
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, nullcontext
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import sqlalchemy as sa
from whoosh import index as whoosh_index

from bench import console_data
from bench.databases import PG_ADMIN, throwaway_database
from helpdesk import create_app
from helpdesk.accounts.models import User
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.search import index as search
from helpdesk.search.backend import get_backend
from helpdesk.search.whoosh_backend import schema_of
from helpdesk.tickets import access, departments
from helpdesk.tickets import queue as ticket_queue
from helpdesk.tickets.models import Ticket

PASSWORD = "bench console password"  # noqa: S105 (the bench's own staff)
DEPARTMENTS = {"Technical": 8, "Billing": 5, "Sales": 4}  # agents in each; three more work in no department
AGENTLESS = 3
QUEUE_TARGET_MS, SEARCH_TARGET_MS = 50, 100
FULL_REBUILD_LIMIT_S = 15 * 60  # a full rebuild slower than this uses the bulk path
INDEX_NOTE = "bench-search-index.json"  # in the instance folder: which tickets the index covers


# --------------------------------------------------------------------------- database and app

@contextmanager
def kept_database():
    """Like throwaway_database, but the database stays for later --url runs."""
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def make_app(url, instance, search_backend="whoosh", count_limit=0):
    return create_app(None, {"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "REDIS_URL": "",
                             "SECRET_KEY": "bench-console-secret", "RATELIMIT_ENABLED": False,
                             "SEARCH_BACKEND": search_backend, "SEARCH_COUNT_LIMIT": count_limit})


def staff_email(n):
    return f"agent{n}@bench.example"


ADMIN_EMAIL = "admin@bench.example"


def create_staff():
    """Departments, agents (most in one department) and an admin, through the real services."""
    from helpdesk.accounts import service as accounts

    by_department, everyone, n = {}, [], 0
    for name, size in DEPARTMENTS.items():
        department = departments.create_department(SYSTEM, name=name, inbound_address=f"{name.lower()}@bench.example")
        by_department[department.id] = []
        for _ in range(size):
            n += 1
            agent = accounts.create_user(SYSTEM, email=staff_email(n), full_name=f"Agent {n} {name}", role="agent",
                                         password=PASSWORD)
            departments.add_agent_to_department(SYSTEM, department, agent)
            by_department[department.id].append(agent.id)
            everyone.append(agent.id)
    for _ in range(AGENTLESS):
        n += 1
        everyone.append(accounts.create_user(SYSTEM, email=staff_email(n), full_name=f"Agent {n}", role="agent",
                                             password=PASSWORD).id)
    accounts.create_user(SYSTEM, email=ADMIN_EMAIL, full_name="Bench Admin", role="admin", password=PASSWORD)
    db.session.commit()
    return by_department, everyone


def load(app, url, tickets):
    from flask_migrate import upgrade

    started = time.perf_counter()
    with app.app_context():
        upgrade()
        by_department, everyone = create_staff()
        number_start = app.config["TICKET_NUMBER_START"]
        db.session.remove()
        db.engine.dispose()
    console_data.load(url, tickets=tickets, customers=max(100, tickets // 10), organisations=max(10, tickets // 500),
                      agents_by_department=by_department, all_agents=everyone, number_start=number_start)
    elapsed = time.perf_counter() - started
    print(f"loaded {tickets:,} tickets ({tickets * 5:,} messages) in {elapsed:.0f} s", flush=True)
    return elapsed


# --------------------------------------------------------------------------- search index

def _documents_by_sql(session, first_id, last_id, only=None):
    """The index documents of tickets first_id..last_id (of those, the ids in ``only`` if given), built by
    search.index's own document() from plain rows (the ticket's messages in (created_at, id) order,
    participants by id, as the relationships load)."""
    which = "BETWEEN :a AND :b" + (" AND {col} = ANY(:only)" if only is not None else "")
    params = {"a": first_id, "b": last_id, "only": list(only) if only is not None else None}
    tickets = {row.id: SimpleNamespace(**row._mapping, messages=[], participants=[], details=None)
               for row in session.execute(
        sa.text("SELECT id, number, subject, status, department_id, assignee_id, created_at, updated_at, "  # noqa: S608
                f"last_activity_at FROM tickets WHERE id {which.format(col='id')} ORDER BY id"),
        params)}
    for row in session.execute(sa.text(
            f"SELECT ticket_id, kind, body_text FROM messages WHERE ticket_id {which.format(col='ticket_id')} "  # noqa: S608
            "ORDER BY ticket_id, created_at, id"), params):
        tickets[row.ticket_id].messages.append(row)
    for row in session.execute(sa.text(
            f"SELECT ticket_id, name, email FROM participants WHERE ticket_id {which.format(col='ticket_id')} "  # noqa: S608
            "ORDER BY ticket_id, id"), params):
        tickets[row.ticket_id].participants.append(row)
    return [search.document(t) for t in tickets.values()]


def build_recent_tier(app):
    """The search index's recent tier (tickets active in the last SEARCH_RECENT_DAYS), by the bulk path."""
    started = time.perf_counter()
    with app.app_context():
        whoosh = get_backend()
        cutoff = whoosh.recent_cutoff(search.TICKETS).replace(tzinfo=UTC)
        ids = db.session.scalars(sa.text("SELECT id FROM tickets WHERE greatest(updated_at, last_activity_at) >= :c "
                                         "ORDER BY id"), {"c": cutoff}).all()
        path = Path(whoosh.recent_path(search.TICKETS))
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        writer = whoosh_index.create_in(str(path), schema_of(search.TICKETS)).writer(limitmb=256)
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            for document in _documents_by_sql(db.session, chunk[0], chunk[-1], only=chunk):
                writer.add_document(**document)
        writer.commit()
        whoosh.mark_recent_tier_complete(search.TICKETS)
    print(f"search index recent tier: {len(ids):,} tickets active in the last {app.config['SEARCH_RECENT_DAYS']} "
          f"days in {time.perf_counter() - started:.0f} s", flush=True)


def _same_documents(sample_ids):
    """Check the bulk path's documents equal the normal path's for a few tickets."""
    normal = {d["id"]: d for d in (search.document(t) for t in search.load(sample_ids))}
    for ticket_id in sample_ids:
        bulk = _documents_by_sql(db.session, ticket_id, ticket_id)[0]
        if bulk != normal[str(ticket_id)]:
            raise SystemExit(f"bulk index document differs from search.index's for ticket {ticket_id}")


def build_postgres_index(app, subset=0):
    """The PostgreSQL backend's search_documents, by its own rebuild (one transaction) fed with the bulk path's
    documents (search.index.document over SQL rows); the newest ``subset`` tickets only when given."""
    with app.app_context():
        total, max_id = db.session.execute(sa.select(sa.func.count(), sa.func.max(Ticket.id))).one()
        _same_documents(random.Random(1).sample(range(1, max_id + 1), min(20, max_id)))
        lowest = max(1, max_id - subset + 1) if subset else 1
        started, batch = time.perf_counter(), 5000

        def documents():
            done = 0
            for first in range(lowest, max_id + 1, batch):
                chunk = _documents_by_sql(db.session, first, first + batch - 1)
                yield from chunk
                done += len(chunk)
                db.session.expunge_all()
                if (first - lowest) // batch % 20 == 0:
                    print(f"  {done:,} tickets indexed, {time.perf_counter() - started:.0f} s", flush=True)

        count = get_backend().rebuild(search.TICKETS, documents())
        how = "PostgreSQL backend rebuild() over the bulk path's documents"
        if lowest > 1:
            how += f"; ONLY THE NEWEST {count:,} OF {total:,} TICKETS (ids {lowest:,}+)"
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE search_documents"))
        (Path(app.config["INSTANCE_PATH"]) / INDEX_NOTE).write_text(json.dumps(
            {"lowest_id": lowest if count < total else 1, "indexed": count, "tickets": total}))
        elapsed = time.perf_counter() - started
        print(f"search index: {count:,} tickets in {elapsed:.0f} s ({count / elapsed:,.0f}/s) by {how}", flush=True)
        return elapsed


def build_index(app, sample, mode="auto", subset=0):
    """Measure the normal rebuild's rate on ``sample`` tickets; rebuild normally if the whole table would take
    under FULL_REBUILD_LIMIT_S (or ``mode`` says "normal"), else bulk-build the same documents with Whoosh's
    multiprocess writer, for the newest ``subset`` tickets only when ``subset`` is given. Notes which tickets
    the index covers in the instance folder, for the measurements."""
    with app.app_context():
        path = Path(app.config["SEARCH_INDEX_PATH"])
        total, max_id = db.session.execute(sa.select(sa.func.count(), sa.func.max(Ticket.id))).one()
        with tempfile.TemporaryDirectory() as scratch:
            trial = whoosh_index.create_in(scratch, schema_of(search.TICKETS)).writer()
            started = time.perf_counter()
            ids = db.session.scalars(sa.select(Ticket.id).order_by(Ticket.id).limit(sample)).all()
            for start in range(0, len(ids), search.REBUILD_BATCH):
                for ticket in search.load(ids[start:start + search.REBUILD_BATCH]):
                    trial.add_document(**search.document(ticket))
                db.session.expunge_all()
            trial.commit()
            rate = len(ids) / (time.perf_counter() - started)
        estimate = total / rate
        print(f"search index: normal rebuild path {rate:,.0f} tickets/s on {len(ids):,} tickets: "
              f"{total:,} would take ~{estimate / 60:.0f} min", flush=True)
        started = time.perf_counter()
        if mode == "normal" or (mode == "auto" and estimate <= FULL_REBUILD_LIMIT_S):
            count, lowest = search.rebuild(), 1
            how = "search.index.rebuild()"
        else:
            _same_documents(random.Random(1).sample(range(1, max_id + 1), 20))
            path.mkdir(parents=True, exist_ok=True)
            writer = whoosh_index.create_in(str(path), schema_of(search.TICKETS)).writer(procs=2, limitmb=256,
                                                                                          multisegment=True)
            count, batch = 0, 5000
            lowest = max(1, max_id - subset + 1) if subset else 1
            for first in range(lowest, max_id + 1, batch):
                for document in _documents_by_sql(db.session, first, first + batch - 1):
                    writer.add_document(**document)
                    count += 1
                if (first - lowest) // batch % 20 == 0:
                    print(f"  {count:,} tickets indexed, {time.perf_counter() - started:.0f} s", flush=True)
            writer.commit()
            build_recent_tier(app)
            how = "bulk path (search.index.document over SQL rows, Whoosh procs=2 multisegment)"
            if lowest > 1:
                how += f"; ONLY THE NEWEST {count:,} OF {total:,} TICKETS (ids {lowest:,}+)"
        (Path(app.config["INSTANCE_PATH"]) / INDEX_NOTE).write_text(json.dumps(
            {"lowest_id": lowest if count < total else 1, "indexed": count, "tickets": total}))
        elapsed = time.perf_counter() - started
        print(f"search index: {count:,} tickets in {elapsed:.0f} s ({count / elapsed:,.0f}/s) by {how}", flush=True)
        return elapsed


# --------------------------------------------------------------------------- measuring

class Statements:
    """The SQL a request runs, with its parameters and time, for EXPLAIN ANALYZE of slow views."""

    def __init__(self, engine):
        self.rows, self.on = [], False
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.rows.append(((time.perf_counter() - conn.info["bench_started"]) * 1000, statement, parameters))


def log_in(client, email):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"login": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, f"login as {email} failed ({response.status_code})"


def _get(client, url, check):
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    body = response.get_data(as_text=True)
    if response.status_code != 200 or not check(url, body):
        raise SystemExit(f"{url}: status {response.status_code}, not the page we measure:\n{body[:2000]}")
    return elapsed, body


def _has_rows(url, body):
    """A queue page with ticket rows (each row links its number and subject)."""
    return body.count('href="/agent/tickets/') >= 2


def _is_queue(url, body):
    return 'aria-label="Ticket views"' in body


def _is_ticket(url, body):
    return f"#{url.rsplit('/', 1)[1]}" in body and "<h1" in body


def _next_page(client, url):
    _, body = _get(client, url, _has_rows)
    match = re.search(r'rel="next" href="([^"]+)"', body)
    assert match, f"{url} has no next page"
    return html.unescape(match.group(1))


def _search_hits(url, body):
    return re.search(r"<h2>[1-9][0-9]* tickets? found</h2>", body) and 'href="/agent/tickets/' in body


def index_coverage(app):
    note = Path(app.config["INSTANCE_PATH"]) / INDEX_NOTE
    return json.loads(note.read_text()) if note.exists() else {"lowest_id": 1, "indexed": None, "tickets": None}


def views_for(client, app, actor_email, rng):
    """(name, target, list of URLs, check) for every view measured as this actor."""
    indexed = index_coverage(app)
    with app.app_context():
        actor = db.session.scalar(sa.select(User).where(User.email == actor_email))
        visible = access.visible_tickets(actor).with_only_columns(Ticket.number)
        numbers = db.session.scalars(visible.where(sa.text("tickets.id % 997 = 5")).limit(2000)).all()
        mine = db.session.scalar(sa.select(sa.func.count()).where(Ticket.assignee_id == actor.id,
                                                                  Ticket.status != "closed"))
        technical = db.session.scalar(sa.text("SELECT id FROM departments WHERE name = 'Technical'"))
        code = db.session.scalar(sa.text(
            "SELECT substring(m.body_text from 'Error code (E[0-9]+)') FROM messages m JOIN tickets t ON "
            "t.id = m.ticket_id WHERE m.body_text LIKE '%Error code E%' AND t.id >= :low AND "
            "(t.department_id = :d OR t.department_id IS NULL) ORDER BY m.id DESC LIMIT 1"),
            {"d": technical, "low": indexed["lowest_id"]})
        invoices = db.session.scalars(sa.text(
            "SELECT substring(m.body_text from 'Invoice (R[0-9]+)') FROM messages m JOIN tickets t ON "
            "t.id = m.ticket_id WHERE m.body_text LIKE '%Invoice R%' AND t.id >= :low AND "
            "(t.department_id = :d OR t.department_id IS NULL) ORDER BY m.id DESC LIMIT 50"),
            {"d": technical, "low": indexed["lowest_id"]}).all()
        db.session.remove()
    queue = [
        ("queue: open, by activity", "/agent/"),
        ("queue: open, by priority", "/agent/?sort=priority"),
        ("queue: open, newest", "/agent/?sort=created"),
        ("queue: unassigned", "/agent/?view=unassigned"),
        ("queue: department Technical", f"/agent/?department={technical}"),
        ("queue: status in progress", "/agent/?status=in_progress"),
        ("queue: priority urgent", "/agent/?priority=urgent"),
        ("queue: closed, by activity", "/agent/?view=closed"),
        ("queue: closed, by priority", "/agent/?view=closed&sort=priority"),
        ("queue: closed, newest", "/agent/?view=closed&sort=created"),
    ]
    views = [(name, QUEUE_TARGET_MS, [url], _has_rows) for name, url in queue]
    views.insert(3, ("queue: mine" + ("" if mine else " (empty)"), QUEUE_TARGET_MS, ["/agent/?view=mine"],
                     _has_rows if mine else _is_queue))
    # The SLA views are empty here (the bench sets no SLA targets): measured, but only checked to be the queue.
    views += [(f"queue: {view} (empty)", QUEUE_TARGET_MS, [f"/agent/?view={view}"], _is_queue)
              for view in ticket_queue.VIEWS if view.startswith(("at_risk", "breached"))]
    views.append(("queue: open, 2nd page", QUEUE_TARGET_MS, [_next_page(client, "/agent/")], _has_rows))
    views.append(("queue: closed, 2nd page", QUEUE_TARGET_MS, [_next_page(client, "/agent/?view=closed")],
                  _has_rows))
    rng.shuffle(numbers)
    views.append(("ticket page (random tickets)", QUEUE_TARGET_MS, [f"/agent/tickets/{n}" for n in numbers],
                  _is_ticket))
    common = [f"/agent/search?q={w.replace(' ', '+')}" for w in console_data.COMMON_WORDS]
    views += [
        ("search: common words", SEARCH_TARGET_MS, common, _search_hits),
        ("search: rare error code", SEARCH_TARGET_MS, [f"/agent/search?q={code}"], _search_hits),
        ("search: unique invoice ref", SEARCH_TARGET_MS, [f"/agent/search?q={i}" for i in invoices], _search_hits),
        ("search: common + status closed", SEARCH_TARGET_MS,
         ["/agent/search?q=printer&status=closed", "/agent/search?q=rechnung&status=closed"], _search_hits),
    ]
    return views


def measure(app, statements, actor_email, requests, warmup, explain, only=()):
    rng = random.Random(7)
    client = app.test_client()
    log_in(client, actor_email)
    views = views_for(client, app, actor_email, rng)
    print(f"\nas {actor_email}: {requests} requests per view after {warmup} warm-up requests; ms around "
          f"client.get (database + search + rendering, no network)", flush=True)
    coverage = index_coverage(app)
    if coverage["indexed"] and coverage["indexed"] < coverage["tickets"]:
        print(f"  (search index holds only the newest {coverage['indexed']:,} of {coverage['tickets']:,} tickets: "
              f"search figures are for a smaller index than the database)", flush=True)
    print(f"  {'view':<34} {'median':>8} {'p95':>8} {'target':>7}", flush=True)
    failed = []
    for name, target, urls, check in views:
        if only and not any(part in name for part in only):
            continue
        for i in range(warmup):
            _get(client, urls[i % len(urls)], check)
        times = [_get(client, urls[i % len(urls)], check)[0] for i in range(requests)]
        p95 = statistics.quantiles(times, n=20)[18]
        verdict = "PASS" if p95 < target else "FAIL"
        print(f"  {name:<34} {statistics.median(times):8.1f} {p95:8.1f} {target:>5} ms {verdict}", flush=True)
        if verdict == "FAIL":
            failed.append((name, urls[0]))
    if explain:
        for name, url in failed:
            explain_view(app, client, statements, name, url)
    return failed


def explain_view(app, client, statements, name, url):
    """EXPLAIN ANALYZE the three slowest statements of one request of ``url``."""
    statements.rows, statements.on = [], True
    client.get(url)
    statements.on = False
    slowest = sorted(statements.rows, key=lambda row: row[0], reverse=True)[:3]
    print(f"\n-- {name} ({url}): {len(statements.rows)} statements, "
          f"{sum(r[0] for r in statements.rows):.1f} ms in SQL; slowest:")
    with app.app_context(), db.engine.connect() as conn:
        for ms, statement, parameters in slowest:
            print(f"   {ms:.1f} ms: {' '.join(statement.split())[:400]}")
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            print("\n".join("      " + line for line in plan[:25]))
            conn.rollback()


# --------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per view")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests per view first")
    parser.add_argument("--keep", action="store_true", help="keep the database and instance folder")
    parser.add_argument("--url", help="reuse a kept, loaded database (skips loading and indexing)")
    parser.add_argument("--instance", help="instance folder (search index); with --url, the kept one")
    parser.add_argument("--index-sample", type=int, default=3000,
                        help="tickets to time the normal rebuild on before indexing them all")
    parser.add_argument("--index", choices=["auto", "normal", "bulk", "recent"], default="auto",
                        help="how to build the search index (with --url: build it again this way; "
                             "recent: only its recent tier)")
    parser.add_argument("--index-subset", type=int, default=0,
                        help="when the normal rebuild is too slow: index only the newest N tickets (0: all)")
    parser.add_argument("--actor", choices=["agent", "admin", "both"], default="both",
                        help="measure as an agent in the Technical department, as an admin, or both")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="measure only the views whose name contains TEXT (repeatable), e.g. --only search")
    parser.add_argument("--search-backend", choices=["whoosh", "postgresql"], default="whoosh",
                        help="SEARCH_BACKEND of the measured app (postgresql: indexed into search_documents, "
                             "--index and --index-sample do not apply)")
    parser.add_argument("--search-count-limit", type=int, default=0,
                        help="SEARCH_COUNT_LIMIT (PostgreSQL backend: count at most this many matches; 0: all)")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE of views that fail")
    args = parser.parse_args()
    if args.url and not args.instance:
        parser.error("--url needs the --instance folder its search index was built in")
    instance = Path(args.instance or tempfile.mkdtemp(prefix="bench-console-"))
    if not (args.keep or args.instance):
        atexit.register(shutil.rmtree, instance, ignore_errors=True)
    if args.url:
        database = nullcontext(args.url)
    elif args.keep:
        database = kept_database()
    else:
        database = throwaway_database("postgresql", instance)
    with database as url:
        app = make_app(url, instance, args.search_backend, args.search_count_limit)
        if args.search_backend == "postgresql":
            if not args.url:
                load(app, url, args.tickets)
            if not args.url or args.index != "auto":
                build_postgres_index(app, args.index_subset)
        elif not args.url:
            load(app, url, args.tickets)
            build_index(app, args.index_sample, args.index, args.index_subset)
        elif args.index == "recent":
            build_recent_tier(app)
        elif args.index != "auto":
            build_index(app, args.index_sample, args.index, args.index_subset)
        if args.keep and not args.url:
            print(f"\nkept: --url {url} --instance {instance}", flush=True)
        with app.app_context():
            statements = Statements(db.engine)
        actors = {"agent": [staff_email(1)], "admin": [ADMIN_EMAIL], "both": [staff_email(1), ADMIN_EMAIL]}
        for email in actors[args.actor]:
            measure(app, statements, email, args.requests, args.warmup, not args.no_explain, args.only)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
