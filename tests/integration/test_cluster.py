"""The desk on several machines, on one (issue 22): two web processes behind a balancer, two workers, two mail
gateways on one mailbox and a scheduler, sharing nothing but PostgreSQL, Redis and S3 (when this checkout has S3
storage); a handful of customers and agents work while one process of each kind is killed and restarted. No request
the balancer could send again fails, no mail is lost or doubled, every ticket is found by search and every file
downloads from either web process. bench/cluster.py runs the same harness with 200 customers and 20 agents."""
import uuid

import psycopg
import pytest

from tests.cluster_harness import Cluster, ClusterConfig
from tests.cluster_load import Scenario, run_scenario
from tests.conftest import PG_ADMIN_URL, REDIS_URL

pytestmark = [pytest.mark.backends("postgresql"), pytest.mark.slow]


@pytest.fixture
def cluster(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("several processes share one PostgreSQL database")
    name = f"helpdesk_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    desk = Cluster(tmp_path, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", REDIS_URL, ClusterConfig(web_threads=8))
    try:
        yield desk
    finally:
        desk.stop()
        desk.forget_redis()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_killing_one_process_of_each_kind_loses_no_request_mail_ticket_or_file(cluster):
    lines = []
    checks, _figures, journal = run_scenario(
        cluster, Scenario(customers=8, agents=3, seconds=45, think=1.5, restart_after=8, drain_timeout=120),
        out=lines.append)
    report = "\n".join(lines)
    assert not checks.failed, report
    assert len(checks.results) >= 7, report
    kills = [line.split()[-1] for line in lines if "SIGKILL" in line]
    assert kills[:2] == ["web1", "worker1"] and kills[2] in ("gateway1", "gateway2"), report  # the reading one
    # The load did each thing the checks look at, and the balancer had to send requests to the other process.
    assert cluster.balancer.figures()["retried"] > 0, report
    assert {mail["kind"] for mail in journal.mails} == {"new", "reply"}, report
    assert any(form["ok"] for form in journal.forms) and journal.uploads, report
    assert {"search", "attachment", "reply (agent)", "reply (portal)"} <= {r.kind for r in journal.records}, report
