"""A GET commits nothing, whoever asks: guests, customers, agents and admins read every kind of page without a
transaction being committed (presence, the one thing a page view used to record, has its own POST)."""
import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.kb import service as kb
from helpdesk.mailgateway import pipeline
from helpdesk.tickets import canned
from helpdesk.tickets.models import Message
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


MAIL = (b"From: Carla Customer <carla@example.test>\r\nTo: support@example.test\r\nSubject: Printer on fire\r\n"
        b"Message-ID: <fire@example.test>\r\nReceived: from mx.example.test (mx.example.test [192.0.2.1]) by "
        b"mail.example.test; Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nIt smokes.\r\n")
NO_SENDER = b"To: support@example.test\r\nSubject: Who am I\r\nMessage-ID: <nosender@example.test>\r\n\r\nHelp!\r\n"

GUEST_PAGES = ["/", "/login", "/register", "/forgot-password", "/privacy", "/kb/", "/kb/all", "/kb/articles/{article}",
               "/kb/folders/{folder}", "/kb/search?q=toner", "/kb/suggest?q=toner", "/activate/nonsense",
               "/reset-password/nonsense", "/satisfaction/nonsense", "/tickets/confirm/nonsense"]
CUSTOMER_PAGES = ["/", "/tickets", "/tickets/{number}", "/tickets/new", "/profile", "/kb/", "/kb/articles/{article}",
                  "/kb/search?q=toner"]
AGENT_PAGES = ["/agent/", "/agent/?view=unassigned&sort=priority", "/agent/tickets/{number}",
               "/agent/tickets/{number}/history", "/agent/tickets/{number}/canned/{response}", "/agent/quarantine",
               "/agent/quarantine/{inbound}/raw", "/agent/search?q=printer", "/agent/dashboard",
               "/agent/messages/{message}/delivery", "/agent/kb/", "/agent/kb/search?q=toner", "/profile"]
ADMIN_PAGES = ["/agent/admin/agents", "/agent/admin/agents/{agent}", "/agent/admin/agents/new",
               "/agent/admin/audit", "/agent/admin/departments", "/agent/admin/departments/{department}",
               "/agent/admin/departments/new", "/agent/admin/canned-responses/",
               "/agent/admin/canned-responses/{response}", "/agent/admin/canned-responses/new",
               "/agent/admin/mailboxes", "/agent/admin/sla/", "/agent/kb/articles/{article}",
               "/agent/kb/articles/{article}/edit", "/agent/kb/articles/{article}/revisions/1", "/agent/kb/feedback",
               "/agent/kb/feedback/{article}", "/agent/kb/folders/{folder}/edit", "/agent/kb/folders/new",
               "/agent/kb/articles/new", "/agent/tickets/{number}", "/agent/"]


@pytest.fixture
def world(agent, customer, make_user, department):
    """One of each thing a page shows: a ticket that came by mail, a quarantined message, a canned response,
    a published article in a folder, and an admin."""
    admin = make_user("admin", email="admin@example.test", full_name="Ada Admin")
    kb.set_editor(SYSTEM, admin, True)
    folder = kb.create_folder(admin, title="Printers", description="Everything about printers")
    article = kb.create_article(admin, folder=folder, language="en", title="Replacing the toner",
                                body="Open the front cover.", tags="toner", publish=True)
    response = canned.create_response(SYSTEM, title="Greeting", body="Hello {customer_name}",
                                      department=department.id)
    [placed] = pipeline.ingest([pipeline.Fetched("file", MAIL, label="fire.eml")])
    [held] = pipeline.ingest([pipeline.Fetched("file", NO_SENDER, label="who.eml")])
    assert (placed.outcome, held.outcome) == ("new_ticket", "quarantined")
    message_id = db.session.scalar(sa.select(Message.id).where(Message.message_id == "<fire@example.test>"))
    values = {"number": placed.ticket_number, "inbound": held.inbound_id, "message": message_id,
              "article": article.id, "folder": folder.id, "response": response.id, "agent": agent.id,
              "department": department.id}
    db.session.commit()
    return admin, values


@pytest.fixture
def commits(app):
    """How many transactions were committed on the app's database while the test counts."""
    counted = []

    def count(conn):
        counted.append(1)

    engine = db.engine
    sa.event.listen(engine, "commit", count)
    yield counted
    sa.event.remove(engine, "commit", count)


def _read(client, pages, values, commits):
    """GET every page; returns those that committed, with how often, and those that did not render."""
    committed, broken = {}, {}
    for page in pages:
        path = page.format(**values)
        commits.clear()
        response = client.get(path)
        if commits:
            committed[path] = len(commits)
        if response.status_code >= 500 or (response.status_code != 200 and "nonsense" not in path):
            broken[path] = response.status_code
    return committed, broken


@pytest.mark.parametrize("who", ["guest", "customer", "agent", "admin"])
def test_no_get_request_commits(client, world, commits, customer, agent, who):
    admin, values = world
    pages = {"guest": GUEST_PAGES, "customer": CUSTOMER_PAGES, "agent": AGENT_PAGES, "admin": ADMIN_PAGES}[who]
    if who != "guest":
        log_in(client, {"customer": customer, "agent": agent, "admin": admin}[who].email)

    committed, broken = _read(client, pages, values, commits)

    assert broken == {}
    assert committed == {}


def test_the_heartbeat_that_records_presence_is_a_post_and_is_counted(client, world, commits, agent):
    _admin, values = world
    log_in(client, agent.email)
    commits.clear()
    page = client.get(f"/agent/tickets/{values['number']}").text
    assert commits == []

    response = client.post(f"/agent/tickets/{values['number']}/presence", json={"activity": "viewing"},
                           headers={"X-CSRFToken": csrf_token(page)})

    assert response.status_code == 200
    assert commits
