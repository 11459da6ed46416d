"""Several machines on one (issue 22): a desk of processes that share nothing but the services (a fresh PostgreSQL
database, a Redis queue prefix of its own, an S3-compatible server: moto's, as a process), two gunicorn web
processes behind a round-robin balancer of ours that sends a refused request to the other process, two rq
workers, two mail gateways on one Maildir drop folder and a scheduler; 200 customers and 20 agents for a few
minutes (tickets by form and by mail, replies, queue, ticket pages, searches, downloads) while one web process,
one worker and the reading gateway are killed with SIGKILL and restarted 20 s later. Prints requests/s, p50 and
p95 per page type, and the checks as PASS/FAIL lines; exits 1 when a check fails.

    .venv/bin/python bench/cluster.py [--minutes 3] [--customers 200] [--agents 20] [--think 10] [--keep]
    .venv/bin/python bench/cluster.py --quick        # 1 minute, 40 customers and 5 agents

The load is threads and httpx (tests/cluster_load.py) rather than Locust, which would bring gevent and its own
web UI into the lock for a few hundred lines. The processes' logs are in the run's folder (--keep keeps it and
the database)."""
import argparse
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.databases import PG_ADMIN, throwaway_database
from tests.cluster_harness import Cluster, ClusterConfig, landed_features
from tests.cluster_load import Scenario, run_scenario
from tests.conftest import REDIS_URL


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--think", type=float, default=10.0, help="mean seconds between a person's actions")
    parser.add_argument("--restart-after", type=float, default=20.0, help="seconds a killed process stays down")
    parser.add_argument("--quick", action="store_true", help="1 minute with 40 customers and 5 agents")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database and the run's folder (logs)")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.customers, args.agents = 1.0, 40, 5
    features = landed_features()
    print(f"cluster: 2 web (gthread) + balancer, 2 workers, 2 mail gateways, 1 scheduler; "
          f"{args.customers} customers, {args.agents} agents, {args.minutes:g} min, think {args.think:g} s; "
          f"S3 storage: {'yes' if features['s3'] else 'not landed'}, PostgreSQL search: "
          f"{'yes' if features['pg_search'] else 'not landed'}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="helpdesk-cluster-"))
    started = time.monotonic()
    with ExitStack() as stack:
        database_url = kept_database() if args.keep else stack.enter_context(throwaway_database("postgresql",
                                                                                                 folder))
        cluster = Cluster(folder, database_url, args.redis, ClusterConfig(), features)
        try:
            checks, _lines, _journal = run_scenario(cluster, Scenario(args.customers, args.agents, args.minutes * 60,
                                                            args.think, restart_after=args.restart_after),
                                          out=lambda line: print(line, flush=True))
        finally:
            cluster.stop()
            cluster.forget_redis()
    print(f"whole run: {time.monotonic() - started:.0f} s (figures from a machine shared with other work are noisy)")
    if args.keep:
        print(f"kept: {folder} and {database_url}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    if checks.failed:
        print(f"FAILED: {', '.join(checks.failed)}")
        sys.exit(1)


def kept_database() -> str:
    """A fresh PostgreSQL database that outlives the run (--keep), named like bench/databases.py's."""
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    main()
