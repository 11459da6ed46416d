"""/healthz and /readyz: what a load balancer or an orchestrator sees."""
import time

from tests.conftest import REDIS_URL


def test_healthz_answers_ok_without_login_or_cookie(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True).strip() == "ok"
    assert "Set-Cookie" not in answer.headers


def test_readyz_reports_each_check_when_services_answer(app_factory):
    app = app_factory(REDIS_URL=REDIS_URL)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200
    assert answer.json["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}
    assert answer.json["failing"] == []
    assert "Set-Cookie" not in answer.headers


def test_readyz_without_redis_setting_does_not_check_redis(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert "redis" not in answer.json["checks"]


def test_dead_redis_gives_503_naming_it_quickly(app_factory):
    # Port 1 on loopback: nothing listens, the connection is refused.
    app = app_factory(REDIS_URL="redis://127.0.0.1:1/0")
    started = time.monotonic()
    answer = app.test_client().get("/readyz")
    assert time.monotonic() - started < 2
    assert answer.status_code == 503
    assert answer.json["failing"] == ["redis"]
    assert answer.json["checks"]["database"] == "ok"


def test_probes_are_not_rate_limited_nor_need_csrf(client):
    statuses = {client.get("/healthz").status_code for _ in range(30)}
    assert statuses == {200}
    assert client.post("/healthz").status_code == 405  # a probe is a GET; a POST is refused, not a CSRF error


def test_unreachable_database_gives_503_naming_it(tmp_path):
    from helpdesk import create_app

    # Nothing listens on port 1: the connection is refused at once.
    app = create_app("testing", {"DATABASE_URL": "postgresql://helpdesk@127.0.0.1:1/none",
                                 "INSTANCE_PATH": str(tmp_path), "REDIS_URL": ""})
    started = time.monotonic()
    answer = app.test_client().get("/readyz")
    assert time.monotonic() - started < 2
    assert answer.status_code == 503
    assert answer.json["failing"] == ["database"]
    assert app.test_client().get("/healthz").status_code == 200  # liveness never asks the database
