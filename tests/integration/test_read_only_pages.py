"""Reading a page writes nothing (on SQLite a write from a GET would queue behind every other writer, and fail on a
stale snapshot); what must be written waits for its lock instead of failing."""
import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.tickets import service
from helpdesk.tickets.presence import TicketPresence
from tests.conftest import csrf_token, log_in

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Printer", body_text="It is on fire.", department=department.id,
                               acknowledge=False)


@pytest.fixture
def statements(app):
    """Every SQL statement the app runs while the test records."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("path", ["/agent/tickets/{number}", "/agent/tickets/{number}/history", "/agent/",
                                  "/agent/quarantine"])
def test_an_agent_reading_a_ticket_page_writes_nothing(client, agent, ticket, statements, path):
    log_in(client, agent.email)
    client.get(path.format(number=ticket.number))  # anything done once per session is done
    statements.clear()

    response = client.get(path.format(number=ticket.number))

    assert response.status_code == 200
    assert [s for s in statements if s in WRITES] == []


def test_the_ticket_page_leaves_presence_to_its_heartbeat(client, agent, ticket):
    log_in(client, agent.email)
    page = client.get(f"/agent/tickets/{ticket.number}").text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPresence)) == 0

    client.post(f"/agent/tickets/{ticket.number}/presence", json={"activity": "viewing"},
                headers={"X-CSRFToken": csrf_token(page)})

    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketPresence)) == 1


def test_presence_script_sends_its_first_heartbeat_when_the_page_loads(app):
    from pathlib import Path

    script = (Path(app.static_folder) / "js" / "presence.js").read_text()
    body = script[script.index("window.setInterval(beat") - 200:]
    assert "beat();" in body


def test_sqlite_waits_for_the_write_lock_instead_of_failing(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
