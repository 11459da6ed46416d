"""Several gunicorn workers: with PROMETHEUS_MULTIPROC_DIR set, a scrape answered by any one process adds up the
requests every process served."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-long-random-metrics-token"

# Several web processes are a production setup: PostgreSQL's (and the metrics are the processes', not the database's).
pytestmark = pytest.mark.backends("postgresql")

WORKER = r'''
import json, sys
from helpdesk import create_app

given = json.load(sys.stdin)
client = create_app("testing", given["settings"]).test_client()
for _ in range(given["requests"]):
    assert client.get("/login").status_code == 200
if given["scrape"]:
    print(client.get("/metrics", headers={"Authorization": "Bearer " + given["settings"]["METRICS_TOKEN"]}).text)
'''


def run_worker(settings, folder, requests, scrape=False):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, cwd=ROOT, env=env,
                          input=json.dumps({"settings": settings, "requests": requests, "scrape": scrape}),
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_scrape_adds_up_the_requests_of_every_worker(app, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    settings = {"DATABASE_URL": app.config["DATABASE_URL"], "INSTANCE_PATH": app.config["INSTANCE_PATH"],
                "METRICS_TOKEN": TOKEN}
    run_worker(settings, folder, requests=2)
    run_worker(settings, folder, requests=3)
    text = run_worker(settings, folder, requests=0, scrape=True)
    counts = {sample.name: sample.value for family in text_string_to_metric_families(text)
              for sample in family.samples
              if sample.labels.get("endpoint") == "auth.login" and sample.name.endswith(("_total", "_count"))}
    assert counts == {"helpdesk_http_requests_total": 5, "helpdesk_http_request_duration_seconds_count": 5}
    assert "helpdesk_outbox_pending 0.0" in text  # the scrape-time gauges come along
