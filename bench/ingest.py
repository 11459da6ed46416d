"""Ingest throughput: a deterministic mixed corpus through the whole mail pipeline from a Maildir
source (fetch, store raw, parse, classify, thread, act, acknowledgement queued), on SQLite and on
PostgreSQL. Prints messages per second.

    .venv/bin/python bench/ingest.py [--count 3000] [--backend sqlite|postgresql|both] [--jobs redis|inprocess]
                                     [--parse-processes auto|0|1] [--fsync on|off|both]

With --jobs redis (the production setup) acknowledgements are queued to Redis for workers; with
inprocess they are written by the ingesting process itself (the embedded default).

    .venv/bin/python bench/ingest.py --via cli [--count 2000]

times ``helpdesk mail ingest <Maildir>`` as an operator runs it (a separate process, configured only by
HELPDESK_* variables, running from compiled bytecode as an installed helpdesk does): SQLite without
Redis (the embedded default: acknowledgements written and the index up to date when the command
returns), SQLite with Redis, and PostgreSQL with Redis. Issue 13's targets
are 350, 700 and 500 messages per second."""
import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.corpus import build
from bench.databases import throwaway_database
from helpdesk import create_app
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.mailgateway.daemon import Runner
from helpdesk.mailgateway.models import InboundMessage
from helpdesk.mailgateway.pipeline import Parser
from helpdesk.mailgateway.sources import MaildirSource
from helpdesk.tickets import departments
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.reply_matching import reply_address

REDIS = os.environ.get("HELPDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


def run(backend, count, jobs, parse_processes, fsync=True):
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{backend}-"))
    with throwaway_database(backend, workdir) as url:
        return _run(url, workdir, backend, count, jobs, parse_processes, fsync)


def _run(url, workdir, backend, count, jobs, parse_processes, fsync):
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    app = create_app(None, {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
                            "REDIS_URL": REDIS if jobs == "redis" else "", "QUEUE_PREFIX": prefix,
                            "SECRET_KEY": "bench-secret", "MAIL_SENDER_SOFT_LIMIT": 10_000,
                            "MAIL_SENDER_HARD_LIMIT": 10_000, "MAIL_PARSE_PROCESSES": parse_processes,
                            "STORAGE_FSYNC": fsync})
    processes = Parser.processes_for(app.config)
    parser = Parser(processes) if processes else None
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.com")
            corpus = build(count, lambda n: reply_address("support@example.com", n))
            source = MaildirSource("bench", workdir / "maildir", department="Technical")
            for index, raw in enumerate(corpus):
                # Maildir names start with the delivery time; keep arrival order explicit.
                path = source.path / "new" / f"{1_700_000_000 + index}.{index:06d}.bench"
                path.write_bytes(raw)
                os.utime(path, ns=(1_700_000_000_000_000_000 + index, 1_700_000_000_000_000_000 + index))
            runner = Runner(source, app.config["MAIL_BATCH_SIZE"], parser)
            batch_times = []
            started = time.perf_counter()
            done = 0
            while done < count:
                t0 = time.perf_counter()
                outcomes = runner.run_once()
                if not outcomes:
                    break
                batch_times.append((time.perf_counter() - t0) / len(outcomes))
                done += len(outcomes)
            elapsed = time.perf_counter() - started
            tickets = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
            statuses = dict(db.session.execute(sa.select(InboundMessage.outcome, sa.func.count())
                                               .group_by(InboundMessage.outcome)).all())
            db.session.remove()
            db.engine.dispose()
        print(f"{backend:<10} jobs={jobs:<9} parser processes={processes} fsync={'on' if fsync else 'off'} "
              f"{count} messages in {elapsed:.2f} s"
              f" = {count / elapsed:,.0f} msg/s"
              f"  (per message: median {statistics.median(batch_times) * 1000:.2f} ms per batch average)"
              f"  tickets={tickets} outcomes={statuses}")
        return count / elapsed
    finally:
        if parser is not None:
            parser.close()
        if jobs == "redis":
            from redis import Redis
            from rq import Queue

            for name in ("mail", "default"):
                Queue(f"{prefix}-{name}", connection=Redis.from_url(REDIS)).delete(delete_jobs=True)


# Issue 13's targets for the whole command, messages per second.
TARGETS = {("sqlite", "inprocess"): 350, ("sqlite", "redis"): 700, ("postgresql", "redis"): 500}


def run_cli(backend, count, jobs):
    """Messages per second of ``helpdesk mail ingest`` on a Maildir of ``count`` messages."""
    import subprocess

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-cli-{backend}-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with throwaway_database(backend, workdir) as url:
        # An installed helpdesk runs from compiled bytecode (pip writes it at install): so does this one, from a
        # cache of its own (this machine's environment may say PYTHONDONTWRITEBYTECODE), warmed before timing.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env = {**env, "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "helpdesk-bench-pycache"),
               "HELPDESK_DATABASE_URL": url, "HELPDESK_INSTANCE_PATH": str(workdir / "instance"),
               "HELPDESK_REDIS_URL": REDIS if jobs == "redis" else "", "HELPDESK_QUEUE_PREFIX": prefix,
               "HELPDESK_SECRET_KEY": "bench-secret", "HELPDESK_MAIL_SENDER_SOFT_LIMIT": "10000",
               "HELPDESK_MAIL_SENDER_HARD_LIMIT": "10000"}
        app = create_app(None, {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
                                "SECRET_KEY": "bench-secret", "REDIS_URL": ""})
        maildir = workdir / "maildir"
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.com")
            for folder in ("new", "cur", "tmp"):
                (maildir / folder).mkdir(parents=True, exist_ok=True)
            for index, raw in enumerate(build(count, lambda n: reply_address("support@example.com", n))):
                (maildir / "new" / f"{1_700_000_000 + index}.{index:06d}.bench").write_bytes(raw)
            db.session.remove()
            db.engine.dispose()
        helpdesk = str(Path(sys.executable).with_name("helpdesk"))
        empty = workdir / "empty"
        for folder in ("new", "cur", "tmp"):
            (empty / folder).mkdir(parents=True, exist_ok=True)
        subprocess.run([helpdesk, "mail", "ingest", str(empty)], env=env, capture_output=True, check=True)  # noqa: S603
        started = time.perf_counter()
        done = subprocess.run([helpdesk, "mail", "ingest", str(maildir), "--department", "Technical"], env=env,  # noqa: S603
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        lines = len(done.stdout.splitlines())
        target = TARGETS[(backend, jobs)]
        print(f"cli {backend:<10} jobs={jobs:<9} {lines} messages in {elapsed:.2f} s = {lines / elapsed:,.0f} msg/s "
              f"(issue 13's target: {target}) "
              "(the whole command: start-up, ingest, and with in-process jobs the acknowledgements and index)")
        if jobs == "redis":
            from redis import Redis

            for key in Redis.from_url(REDIS).scan_iter(f"rq:*{prefix}*"):
                Redis.from_url(REDIS).delete(key)
        return lines / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--jobs", choices=["redis", "inprocess"], default="redis")
    parser.add_argument("--parse-processes", default="auto",
                        help='MAIL_PARSE_PROCESSES: "auto" (one on a machine with more than one core) or a number')
    parser.add_argument("--fsync", choices=["on", "off", "both"], default="on",
                        help="STORAGE_FSYNC: sync stored mail to disk before the commit (both: measure the cost)")
    parser.add_argument("--via", choices=["runner", "cli"], default="runner",
                        help="runner: the gateway's batch runner in this process; cli: `helpdesk mail ingest`")
    args = parser.parse_args()
    if args.via == "cli":
        for backend, jobs in (("sqlite", "inprocess"), ("sqlite", "redis"), ("postgresql", "redis")):
            run_cli(backend, args.count, jobs)
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for fsync in ([True, False] if args.fsync == "both" else [args.fsync == "on"]):
            run(backend, args.count, args.jobs, args.parse_processes, fsync)


if __name__ == "__main__":
    main()
