"""The audit trail on both databases: a ticket's history in words for the agents who may act on it (linked from
the workspace), never for others; and the admins' whole trail with filters by actor and date, in pages."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.db import utcnow
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.tickets import departments, history, satisfaction, service
from helpdesk.tickets.models import HIGH
from tests.conftest import log_in


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="admin@example.test", full_name="Ada Admin")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Screen flickers", body_text="Since the update.",
                               department=department.id, acknowledge=False)


def rows(page):
    """Each row's text, cells apart; links and isolated words (bdi) inside a sentence read as plain words."""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"</?(a|bdi)\b[^>]*>", "", row))).strip()
            for row in re.findall(r'<tr id="audit-\d+">(.*?)</tr>', page, re.S)]


def test_agent_reads_the_history_of_a_ticket_in_words(client, agent, customer, department, ticket):
    sales = departments.create_department(SYSTEM, name="Sales")
    service.update_ticket(agent, ticket, priority=HIGH, assignee=agent, subject="Screen flickers after update")
    service.add_participants(agent, ticket, ["boss@example.test"])
    service.add_internal_note(agent, ticket, body_text="Driver issue?")
    service.close(agent, ticket)
    satisfaction.rate_ticket(ticket, satisfaction.BAD, "Still flickers.")
    service.update_ticket(SYSTEM, ticket, department=sales.id)

    log_in(client, "agent@example.test")
    workspace = client.get(f"/agent/tickets/{ticket.number}").text
    assert f'href="/agent/tickets/{ticket.number}/history"' in workspace
    page = client.get(f"/agent/tickets/{ticket.number}/history").text
    lines = rows(page)
    assert lines[0].endswith("Carla Customer Opened the ticket.")
    text = "\n".join(lines)
    assert "Alex Agent Subject changed from “Screen flickers” to “Screen flickers after update”." in text
    assert "Priority changed from Normal to High." in text and "Assigned to Alex Agent." in text
    assert "Alex Agent Added boss@example.test in copy." in text
    assert "Alex Agent Added an internal note." in text
    assert "Alex Agent Status changed from Open to Closed." in text
    assert "Carla Customer Rated the ticket: Bad, I&#39;m not satisfied" in text
    assert "The helpdesk (system) Department changed from Technical to Sales." in text
    assert "Driver issue?" not in page  # the history says what happened, not what was written


def test_history_is_only_for_agents_who_may_act_on_the_ticket(client, make_user, customer, ticket):
    sales = departments.create_department(SYSTEM, name="Sales")
    outsider = make_user("agent", email="sales@example.test", full_name="Sam Sales")
    departments.add_agent_to_department(SYSTEM, sales, outsider)
    log_in(client, "sales@example.test")
    assert client.get(f"/agent/tickets/{ticket.number}/history").status_code == 404
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                          client.get("/agent/").text).group(1)})
    log_in(client, "carla@example.test")
    assert client.get(f"/agent/tickets/{ticket.number}/history").status_code == 404
    with pytest.raises(NotFound):
        history.ticket_history(outsider, ticket)


def test_admin_filters_the_whole_trail_by_actor_and_date(client, admin, agent, customer, ticket):
    service.update_ticket(agent, ticket, priority=HIGH)
    old = audit.record(agent, "ticket", ticket.id, "internal-note", {})
    db.session.flush()
    old.created_at = utcnow() - timedelta(days=40)
    db.session.commit()

    log_in(client, "admin@example.test")
    assert 'href="/agent/admin/agents"' in client.get("/agent/").text  # the admins' navigation link
    everything = rows(client.get("/agent/admin/audit").text)
    assert any("Carla Customer" in r and "Opened the ticket." in r for r in everything)
    assert any("Created the department Technical." in r for r in everything)

    by_agent = rows(client.get("/agent/admin/audit?actor=agent@example.test").text)
    assert by_agent and all("Alex Agent" in r for r in by_agent)
    assert any("Priority changed from Normal to High." in r for r in by_agent)
    assert any("Added an internal note." in r for r in by_agent)

    since = (utcnow() - timedelta(days=7)).date().isoformat()
    recent = rows(client.get(f"/agent/admin/audit?actor=agent@example.test&since={since}").text)
    assert recent and not any("Added an internal note." in r for r in recent)
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    older = rows(client.get(f"/agent/admin/audit?until={until}").text)
    assert len(older) == 1 and "Added an internal note." in older[0]

    page = client.get("/agent/admin/audit?actor=nobody@example.test").text
    assert '<p class="error" id="actor-error">No user has this email address.</p>' in page
    page = client.get(f"/agent/admin/audit?since={since}&until={until}").text
    assert '<p class="error" id="until-error">The end date is before the start date.</p>' in page


def test_the_whole_trail_comes_in_pages(client, admin, ticket):
    for n in range(history.PAGE_SIZE + 5):
        audit.record(SYSTEM, "ticket", ticket.id, "events", {"types": [f"bounce-{n}"]})
    db.session.commit()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    log_in(client, "admin@example.test")
    first = client.get("/agent/admin/audit").text
    assert len(rows(first)) == history.PAGE_SIZE
    older = re.search(r'href="(/agent/admin/audit\?before=\d+)"[^>]*>Older entries', first).group(1)
    second = client.get(older).text
    assert len(rows(first)) + len(rows(second)) == total
    assert "Older entries" not in second
    assert not set(re.findall(r'id="audit-(\d+)"', first)) & set(re.findall(r'id="audit-(\d+)"', second))


def test_agents_do_not_reach_the_whole_trail(client, agent):
    log_in(client, "agent@example.test")
    assert client.get("/agent/admin/audit").status_code == 403
