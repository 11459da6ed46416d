"""SLA on both databases: due times set when a ticket opens (web form and email), recomputed on a priority
change, the resolution clock paused while waiting on the customer, stopped on close and restarted on reopen;
the breach job mailing the department's agents once; the SLA queue views, counts and due sort; the admin
screen's permissions and validation; and the dashboard's figures for a known set of tickets."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.pipeline import Fetched
from helpdesk.tickets import departments, queue, reports, service, sla, sla_tasks
from helpdesk.tickets.models import CLOSED, HIGH, LOW, NORMAL, OPEN, SYSTEM_EVENT, URGENT, WAITING, Message, Ticket
from helpdesk.tickets.sla_models import Holiday, SLATarget
from tests.conftest import csrf_token, log_in

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
SLACK = timedelta(seconds=5)  # how far "now" in a test may be from "now" in the service it called


def around_the_clock(priority, first_response, resolution, department=None):
    return sla.save_target(SYSTEM, department=department, priority=priority, first_response_minutes=first_response,
                           resolution_minutes=resolution, business_hours=False)


def open_ticket(department=None, priority=NORMAL, subject="Printer on fire", requester="grace@customer.test"):
    return service.open_ticket(GUEST_FORM, subject=subject, body_text="Help", requester_email=requester,
                               department=department, priority=priority, acknowledge=False)


def fresh(ticket):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def age(ticket, minutes):
    """Move everything the clocks know about ``ticket`` ``minutes`` into the past, as if it had happened then."""
    shift = timedelta(minutes=minutes)
    ticket = fresh(ticket)
    values = {}
    for name in ("created_at", "sla_started_at", "sla_paused_at", "first_response_due_at", "resolution_due_at",
                 "sla_due_at", "first_response_at"):
        current = getattr(ticket, name)
        values[name] = current - shift if current is not None else None
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(values))
    db.session.commit()
    return fresh(ticket)


def close_to(moment, expected):
    return abs(moment - expected) <= SLACK


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


@pytest.fixture
def billing(app):
    return departments.create_department(SYSTEM, name="Billing")


# --------------------------------------------------------------------------- due times

def test_ticket_submitted_on_the_web_is_due_by_its_departments_target(client, department, customer, smtp):
    around_the_clock(HIGH, 15, 120, department=department)
    around_the_clock(HIGH, 60, 600)  # for all departments: the department's own target wins
    log_in(client, "carla@example.test")
    page = client.get("/tickets/new").text
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(page), "subject": "VPN drops", "description": "Every ten minutes.",
        "priority": "high", "department": str(department.id), "problem_timezone": "UTC"})
    assert response.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(sa.select(Ticket)).one()
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=15)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=120)
    assert ticket.sla_due_at == ticket.first_response_due_at


def test_ticket_opened_by_email_is_due_by_the_target_for_all_departments(app, department, smtp):
    around_the_clock(NORMAL, 45, 480)
    raw = (CORPUS / "new_ticket.eml").read_bytes()
    (outcome,) = pipeline.ingest([Fetched("file", raw, label="0")])
    ticket = db.session.scalars(sa.select(Ticket).where(Ticket.number == outcome.ticket_number)).one()
    assert ticket.department_id == department.id and ticket.source == "email"
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=45)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=480)


def test_without_targets_the_documented_defaults_apply(app):
    urgent = open_ticket(priority=URGENT)
    assert urgent.first_response_due_at == urgent.created_at + timedelta(minutes=10)
    assert urgent.resolution_due_at == urgent.created_at + timedelta(hours=4)
    low = open_ticket(priority=LOW)
    office = sla.load_calendar()
    assert low.first_response_due_at == sla.add_minutes(low.created_at, 8 * 60, office)
    assert low.resolution_due_at == sla.add_minutes(low.created_at, 40 * 60, office)


def test_changing_the_priority_recomputes_the_due_times(app, department):
    around_the_clock(NORMAL, 240, 1440)
    around_the_clock(URGENT, 10, 120)
    ticket = open_ticket(department)
    service.change_priority(SYSTEM, ticket, URGENT)
    ticket = fresh(ticket)
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=10)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=120)


def test_first_agent_reply_meets_the_first_response_target(app, department, agent):
    around_the_clock(NORMAL, 30, 600)
    ticket = open_ticket(department)
    service.add_agent_reply(agent, ticket, body_text="On it.", status=OPEN)
    ticket = fresh(ticket)
    assert ticket.first_response_at is not None
    assert ticket.sla_due_at == ticket.resolution_due_at
    assert sla_tasks.flag_breaches() == 0


def test_waiting_on_customer_pauses_the_resolution_clock_and_adds_the_paused_time(app, department, agent):
    around_the_clock(NORMAL, 30, 120)
    ticket = open_ticket(department)
    service.add_agent_reply(agent, ticket, body_text="Which model is it?", status=WAITING)
    ticket = fresh(ticket)
    due_before = ticket.resolution_due_at
    assert ticket.sla_paused_at is not None and ticket.sla_due_at is None
    # The customer answers 50 minutes later.
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id)
                       .values(sla_paused_at=ticket.sla_paused_at - timedelta(minutes=50)))
    db.session.commit()
    service.add_customer_message(SYSTEM, fresh(ticket), body_text="An HP 4250.", author_email="grace@customer.test")
    ticket = fresh(ticket)
    assert ticket.status == OPEN and ticket.sla_paused_at is None
    assert close_to(ticket.resolution_due_at, due_before + timedelta(minutes=50))
    assert ticket.sla_paused_minutes == 50
    assert ticket.sla_due_at == ticket.resolution_due_at


def test_a_waiting_ticket_is_never_flagged_for_resolution(app, department, agent, smtp):
    around_the_clock(NORMAL, 30, 60)
    ticket = open_ticket(department)
    service.add_agent_reply(agent, ticket, body_text="Please send a log.", status=WAITING)
    age(ticket, 120)
    assert sla_tasks.flag_breaches() == 0
    assert fresh(ticket).resolution_breached_at is None


def test_closing_stops_and_reopening_restarts_the_resolution_clock(app, department, agent, smtp):
    around_the_clock(NORMAL, 30, 60)
    ticket = open_ticket(department)
    service.add_agent_reply(agent, ticket, body_text="Fixed.")
    ticket = age(ticket, 120)
    assert sla_tasks.flag_breaches() == 1  # the resolution target
    service.close(agent, fresh(ticket))
    ticket = fresh(ticket)
    assert ticket.status == CLOSED and ticket.sla_due_at is None
    before = utcnow()
    service.reopen(agent, ticket)
    ticket = fresh(ticket)
    assert close_to(ticket.resolution_due_at, before + timedelta(minutes=60))
    assert ticket.resolution_breached_at is None and ticket.sla_due_at == ticket.resolution_due_at
    assert sla_tasks.flag_breaches() == 0


# --------------------------------------------------------------------------- breaches

def test_breach_job_mails_the_departments_agents_once(app, department, agent, billing, make_user, smtp):
    colleague = make_user("agent", email="colin@example.test", full_name="Colin Colleague")
    departments.add_agent_to_department(SYSTEM, department, colleague)
    outsider = make_user("agent", email="olga@example.test", full_name="Olga Other")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    around_the_clock(HIGH, 10, 600)
    ticket = open_ticket(department, priority=HIGH, subject="Server down")
    age(ticket, 15)

    assert sla_tasks.flag_breaches() == 1
    mail = smtp.wait_for(2)
    assert sorted(m["To"].addresses[0].addr_spec for m in mail) == ["agent@example.test", "colin@example.test"]
    assert f"[#{ticket.number}]" in mail[0]["Subject"] and "Server down" in mail[0]["Subject"]
    assert "first response" in mail[0].get_body(("plain",)).get_content()
    assert f"/agent/tickets/{ticket.number}" in mail[0].get_body(("html",)).get_content()

    assert sla_tasks.flag_breaches() == 0  # once per breach
    assert len(smtp.wait_for(3, timeout=1)) == 2
    ticket = fresh(ticket)
    assert ticket.first_response_breached_at is not None
    events = [m.event for m in ticket.messages if m.kind == SYSTEM_EVENT]
    assert [e["type"] for e in events] == ["sla-breach"] and events[0]["clock"] == "first_response"


def test_breach_of_a_ticket_without_department_mails_every_agent(app, agent, admin, make_user, customer, smtp):
    around_the_clock(URGENT, 10, 60)
    ticket = open_ticket(None, priority=URGENT)
    age(ticket, 11)
    assert sla_tasks.flag_breaches() == 1
    mail = smtp.wait_for(2)
    assert sorted(m["To"].addresses[0].addr_spec for m in mail) == ["ada@example.test", "agent@example.test"]


def test_the_breach_shows_in_the_tickets_thread(client, department, agent, smtp):
    around_the_clock(URGENT, 10, 60)
    ticket = open_ticket(department, priority=URGENT)
    age(ticket, 90)
    assert sla_tasks.flag_breaches() == 2
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}").text
    assert "The first response target was breached." in page
    assert "The resolution target was breached." in page
    assert "SLA breached" in page and "overdue" in page


# --------------------------------------------------------------------------- queue

@pytest.fixture
def sla_desk(department, agent):
    """Overdue, at risk (due in 20 min), on track, and waiting (no running clock) tickets."""
    around_the_clock(NORMAL, 60, 600)
    overdue = age(open_ticket(department, subject="Overdue"), 70)
    at_risk = age(open_ticket(department, subject="At risk"), 40)
    on_track = open_ticket(department, subject="On track")
    waiting = open_ticket(department, subject="Waiting")
    service.add_agent_reply(agent, waiting, body_text="Which one?", status=WAITING)
    return {"overdue": overdue.number, "at_risk": at_risk.number, "on_track": on_track.number,
            "waiting": waiting.number}


def test_sla_views_list_at_risk_and_breached_tickets_with_counts(app, agent, sla_desk):
    numbers = sla_desk
    assert {t.number for t in db.session.scalars(queue.tickets_in(agent, queue.BREACHED_VIEW))} == {numbers["overdue"]}
    assert {t.number for t in db.session.scalars(queue.tickets_in(agent, queue.AT_RISK_VIEW))} == {numbers["at_risk"]}
    counts = queue.counts(agent)
    assert counts.views[queue.BREACHED_VIEW] == 1 and counts.views[queue.AT_RISK_VIEW] == 1
    assert counts.views[queue.OPEN_VIEW] == 4


def test_queue_page_shows_the_sla_views_counts_and_due_markers(client, agent, sla_desk):
    log_in(client, "agent@example.test")
    page = client.get("/agent/?view=breached").text
    assert re.search(r'SLA at risk</a>\s*<span class="count">1</span>', page)
    assert re.search(r'SLA breached</a>\s*<span class="count">1</span>', page)
    assert f"#{sla_desk['overdue']}" in page and f"#{sla_desk['at_risk']}" not in page
    assert 'class="sla-due sla-breached"' in page and "overdue" in page
    page = client.get("/agent/?view=at_risk").text
    assert f"#{sla_desk['at_risk']}" in page and f"#{sla_desk['overdue']}" not in page
    assert 'class="sla-due sla-at-risk"' in page and re.search(r"<time [^>]*title=\"[^\"]+\">in ", page)


def test_due_sort_lists_next_due_first_and_pages_both_ways(app, agent, sla_desk):
    expected = [sla_desk["overdue"], sla_desk["at_risk"], sla_desk["on_track"], sla_desk["waiting"]]
    first = queue.page(agent, queue.OPEN_VIEW, sort=queue.DUE, per_page=2)
    assert [t.number for t in first.tickets] == expected[:2] and first.prev_cursor is None
    second = queue.page(agent, queue.OPEN_VIEW, sort=queue.DUE, per_page=2, after=first.next_cursor)
    assert [t.number for t in second.tickets] == expected[2:] and second.next_cursor is None
    back = queue.page(agent, queue.OPEN_VIEW, sort=queue.DUE, per_page=2, before=second.prev_cursor)
    assert [t.number for t in back.tickets] == expected[:2]
    one_by_one, cursor = [], None
    while True:
        page = queue.page(agent, queue.OPEN_VIEW, sort=queue.DUE, per_page=1, after=cursor)
        one_by_one += [t.number for t in page.tickets]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert one_by_one == expected


# --------------------------------------------------------------------------- admin screen

def test_only_admins_reach_the_sla_settings(client, agent, customer, admin):
    log_in(client, "carla@example.test")
    assert client.get("/agent/admin/sla/").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    log_in(client, "agent@example.test")
    assert client.get("/agent/admin/sla/").status_code == 403
    token = csrf_token(client.get("/agent/").text)
    response = client.post("/agent/admin/sla/targets", data={"csrf_token": token, "priority": "normal",
                                                             "first_response_minutes": "5", "resolution_minutes": "9"})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SLATarget)) == 0


def test_admin_sets_a_target_and_it_applies_to_tickets_opened_afterwards(client, admin, department):
    log_in(client, "ada@example.test")
    page = client.get("/agent/admin/sla/").text
    assert "Changes apply to tickets opened afterwards" in page
    response = client.post("/agent/admin/sla/targets", data={
        "csrf_token": csrf_token(page), "department": str(department.id), "priority": "normal",
        "first_response_minutes": "20", "resolution_minutes": "300"})
    assert response.status_code == 302
    assert "Technical" in client.get("/agent/admin/sla/").text
    db.session.rollback()  # end the test's snapshot: the request committed in its own session
    target = db.session.scalar(sa.select(SLATarget))
    ticket = open_ticket(department)
    # The form left "business hours only" unticked: the clock runs around the clock, whatever the time now.
    assert target.business_hours is False
    assert ticket.first_response_due_at == sla.add_minutes(ticket.created_at, 20, None)
    assert ticket.first_response_due_at - ticket.created_at == timedelta(minutes=20)


def test_target_form_shows_every_error_beside_its_field(client, admin):
    log_in(client, "ada@example.test")
    token = csrf_token(client.get("/agent/admin/sla/").text)
    response = client.post("/agent/admin/sla/targets", data={
        "csrf_token": token, "department": "", "priority": "someday", "first_response_minutes": "soon",
        "resolution_minutes": "0"})
    assert response.status_code == 400
    assert "Choose a valid priority." in response.text
    assert "Enter a whole number of minutes." in response.text
    assert "Enter between 1 and" in response.text
    response = client.post("/agent/admin/sla/targets", data={
        "csrf_token": token, "priority": "low", "first_response_minutes": "600", "resolution_minutes": "60"})
    assert "The resolution target cannot be shorter than the first response target." in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SLATarget)) == 0


def test_admin_edits_holidays(client, admin):
    # Calendars and their windows: tests/integration/test_sla_calendars.py.
    log_in(client, "ada@example.test")
    token = csrf_token(client.get("/agent/admin/sla/").text)
    assert client.post("/agent/admin/sla/holidays", data={"csrf_token": token, "day": "2026-12-25",
                                                          "name": "Christmas"}).status_code == 302
    again = client.post("/agent/admin/sla/holidays", data={"csrf_token": token, "day": "2026-12-25"})
    assert again.status_code == 400 and "That date is already a holiday." in again.text
    assert "Enter a date as YYYY-MM-DD." in client.post("/agent/admin/sla/holidays", data={
        "csrf_token": token, "day": "25.12."}).text
    db.session.rollback()
    assert [h.name for h in db.session.scalars(sa.select(Holiday))] == ["Christmas"]


# --------------------------------------------------------------------------- dashboard

def test_dashboard_shows_open_tickets_median_first_response_and_breaches(client, agent, department, billing, admin):
    around_the_clock(NORMAL, 30, 6000)
    around_the_clock(URGENT, 10, 6000)
    answered = [open_ticket(department, subject=f"Answered {i}") for i in range(3)]
    for ticket, minutes in zip(answered, (10, 20, 60), strict=True):
        db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(
            first_response_at=ticket.created_at + timedelta(minutes=minutes)))
    db.session.commit()
    late = age(open_ticket(department, priority=URGENT, subject="Late"), 15)
    open_ticket(billing, priority=URGENT, subject="Billing")
    open_ticket(None, priority=LOW, subject="Nowhere")
    service.close(SYSTEM, open_ticket(department, subject="Done"))
    assert sla_tasks.flag_breaches() == 1  # "Late"'s first response

    rows = {r.name or None: r.by_priority for r in reports.open_by_department_and_priority(admin)}
    assert rows == {"Technical": {"low": 0, "normal": 3, "high": 0, "urgent": 1},
                    "Billing": {"low": 0, "normal": 0, "high": 0, "urgent": 1},
                    None: {"low": 1, "normal": 0, "high": 0, "urgent": 0}}
    week = reports.period_figures(admin, 7)
    assert week.median_first_response == timedelta(minutes=20) and week.answered == 3 and week.breaches == 1

    log_in(client, "agent@example.test")
    page = client.get("/agent/dashboard").text
    assert "Dashboard" in page and "<svg" in page and 'class="bar-urgent"' in page
    main = page.split("<main", 1)[1]  # (the header's menu has a "Billing" entry of its own)
    assert "Billing" not in main  # the agent sees the tickets of their department and those without one
    assert re.search(r'id="period-7">.*?class="median">20 minutes</td>.*?class="breaches">1</td>', page, re.S)
    assert re.search(r'id="period-30">.*?class="answered">3</td>', page, re.S)
    assert fresh(late).first_response_breached_at is not None


def test_customers_never_see_the_dashboard(client, customer):
    log_in(client, "carla@example.test")
    assert client.get("/agent/dashboard").status_code == 404


def test_breach_events_count_only_on_tickets_the_agent_sees(app, agent, billing, admin):
    around_the_clock(URGENT, 10, 600)
    age(open_ticket(billing, priority=URGENT), 20)
    assert sla_tasks.flag_breaches() == 1
    assert reports.period_figures(admin, 30).breaches == 1
    assert reports.period_figures(agent, 30).breaches == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.kind == SYSTEM_EVENT)) == 1
