"""Nothing a second web process needs lives in one process's memory (issue 22): two web processes, each its own
Python process with its own app, share only PostgreSQL and Redis, and a user may hit either."""
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from redis import Redis

from helpdesk.accounts import api_tokens
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.mailgateway.locks import MailboxLock
from helpdesk.tickets import departments, service
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
RATE_REDIS = REDIS_URL.rsplit("/", 1)[0] + "/7"  # a database of this test's own: its keys are deleted after

# One web process: builds its app from the settings it is given, plays its part through a test client (the
# same WSGI app gunicorn would serve) and prints what it saw as JSON.
WEB_PROCESS = r'''
import json, re, sys
from helpdesk import create_app

given = json.load(sys.stdin)
app = create_app("testing", given["settings"])
seen = {"rate_limit_storage": app.config["RATELIMIT_STORAGE_URI"]}

def client_with(cookie):
    client = app.test_client()
    if cookie:
        client.set_cookie("session", cookie)
    return client

def csrf(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

def log_in(login):
    client = client_with(None)
    token = csrf(client.get("/login").text)
    answer = client.post("/login", data={"login": login, "password": "correct horse battery",
                                         "csrf_token": token})
    assert answer.status_code == 302, answer.status_code
    return client, client.get_cookie("session").value

def heartbeat(client, workspace):
    token = csrf(client.get(workspace).text)
    return client.post(workspace + "/presence", json={"activity": "viewing"}, headers={"X-CSRFToken": token})

def wrong_logins(count):
    # From one address of their own: the agents' logins above come from another and count apart.
    client, address = client_with(None), {"REMOTE_ADDR": "192.0.2.9"}
    token = csrf(client.get("/login", environ_base=address).text)
    return [client.post("/login", data={"login": "nobody@example.test", "password": "wrong password 1",
                                        "csrf_token": token}, environ_base=address).status_code
            for _ in range(count)]

def api_calls(count):
    client = app.test_client()
    return [client.get("/api/v1/me", headers={"Authorization": "Bearer " + given["api_token"]}).status_code
            for _ in range(count)]

if given["part"] == "first":
    alex, seen["alex_cookie"] = log_in("agent@example.test")
    seen["heartbeat"] = heartbeat(alex, given["workspace"]).status_code
    seen["wrong_logins"] = wrong_logins(given["login_limit"])
    seen["api"] = api_calls(given["api_limit"])
else:
    alex = client_with(given["alex_cookie"])
    seen["workspace_with_first_cookie"] = alex.get(given["workspace"]).status_code
    anna, _cookie = log_in("anna@example.test")
    seen["notices"] = heartbeat(anna, given["workspace"]).json["notices"]
    seen["wrong_logins"] = wrong_logins(1)
    seen["api"] = api_calls(1)
print(json.dumps(seen))
'''


def run_web_process(given):
    done = subprocess.run([sys.executable, "-c", WEB_PROCESS], input=json.dumps(given), capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def rate_redis():
    yield RATE_REDIS
    conn = Redis.from_url(RATE_REDIS)
    for key in conn.scan_iter("LIMITS*"):
        conn.delete(key)


def test_two_web_processes_share_sessions_rate_limits_and_presence(app, backend, department, make_user,
                                                                   redis_prefix, rate_redis):
    if backend != "postgresql":
        pytest.skip("several web processes run on PostgreSQL")
    if True:
        alex = make_user("agent", email="agent@example.test", full_name="Alex Agent")
        anna = make_user("agent", email="anna@example.test", full_name="Anna Agent")
        customer = make_user("customer", email="carla@example.test", full_name="Carla Customer")
        for agent in (alex, anna):
            departments.add_agent_to_department(SYSTEM, department, agent)
        ticket = service.open_ticket(customer, subject="Mail does not arrive", body_text="No mail since Monday.",
                                     department=department.id, acknowledge=False)
        _row, api_token = api_tokens.create_token(alex, name="two processes", scopes=["tickets:read"])
        workspace = f"/agent/tickets/{ticket.number}"
        database_url = app.config["DATABASE_URL"]
        db.session.commit()
    settings = {"DATABASE_URL": database_url, "INSTANCE_PATH": app.config["INSTANCE_PATH"],
                "SECRET_KEY": app.config["SECRET_KEY"], "REDIS_URL": rate_redis, "QUEUE_PREFIX": redis_prefix,
                "RATELIMIT_STORAGE_URI": "",  # the default: Redis, since REDIS_URL is set
                "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex, "ACCOUNT_FORM_RATE_LIMIT": "3 per minute",
                "API_RATE_LIMIT": "3/minute", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": app.config["SMTP_PORT"]}
    common = {"settings": settings, "workspace": workspace, "api_token": api_token, "login_limit": 3,
              "api_limit": 3}

    first = run_web_process({**common, "part": "first"})
    assert first["rate_limit_storage"] == rate_redis
    assert first["heartbeat"] == 200
    assert first["wrong_logins"] == [200, 200, 200]  # the form again, with its error
    assert first["api"] == [200, 200, 200]

    second = run_web_process({**common, "part": "second", "alex_cookie": first["alex_cookie"]})
    assert second["workspace_with_first_cookie"] == 200  # signed by the shared SECRET_KEY: no new login
    assert any("Alex Agent" in notice for notice in second["notices"])  # presence lives in the database
    assert second["wrong_logins"] == [429]  # the three failures counted on the first process
    assert second["api"] == [429]


def test_two_gateway_connections_never_hold_one_mailbox(app, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's (SQLite uses a file lock on one machine)")
    first, second = MailboxLock("imap:support", tmp_path), MailboxLock("imap:support", tmp_path)
    other = MailboxLock("imap:sales", tmp_path)
    try:
        assert first.acquire()
        assert not second.acquire()  # another connection, as another gateway process would hold
        assert other.acquire()  # a different mailbox is read meanwhile
        first.release()
        assert second.acquire()
    finally:
        for lock in (first, second, other):
            lock.release()
