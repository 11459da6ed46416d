"""SLA calendars on both databases: the migration that turns the one window per weekday into the default
calendar, the console's calendar editor (windows added and removed, overlaps and bad times refused beside the
field, 24/7, time zones, departments' calendars), due times of tickets counted in their department's calendar
(night shift, 24/7), holidays, and the calendars read once per transaction however many tickets change."""
import re
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.db import Batch, utcnow
from helpdesk.extensions import db
from helpdesk.tickets import departments, service, sla
from helpdesk.tickets.models import NORMAL, URGENT, Ticket
from helpdesk.tickets.sla_models import CalendarWindow, DepartmentCalendar, SLACalendar
from tests.conftest import csrf_token, log_in, make_app

H = 60


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


@pytest.fixture
def as_admin(client, admin):
    log_in(client, "ada@example.test")
    return client


@pytest.fixture
def night_desk(app):
    return departments.create_department(SYSTEM, name="Night desk")


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def windows_of(calendar_name=None):
    query = sa.select(CalendarWindow.weekday, CalendarWindow.opens_minute, CalendarWindow.closes_minute).join(
        SLACalendar)
    query = query.where(SLACalendar.name == calendar_name) if calendar_name else query.where(SLACalendar.is_default)
    db.session.rollback()
    return sorted(db.session.execute(query).all())


def open_ticket(department=None, priority=NORMAL):
    return service.open_ticket(GUEST_FORM, subject="Router down", body_text="Help", requester_email="g@customer.test",
                               department=department, priority=priority, acknowledge=False)


def post_window(client, key, weekday, opens, closes):
    page = client.get(f"/agent/admin/sla/calendars/{key}").text
    return client.post(f"/agent/admin/sla/calendars/{key}/windows", data={
        "csrf_token": csrf_token(page), "weekday": str(weekday), "opens": opens, "closes": closes})


# --------------------------------------------------------------------------- the migration



def test_migration_keeps_the_weekly_hours_as_the_default_calendar(blank_database, tmp_path):
    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0017")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO sla_business_days (weekday, opens_minute, closes_minute) VALUES "
                                 "(0, 480, 990), (2, 540, 1020), (5, 0, 1440)"))
        upgrade(revision="0018")
        with db.engine.connect() as conn:
            calendars = conn.execute(sa.text("SELECT id, name, around_the_clock, time_zone, is_default "
                                             "FROM sla_calendars")).all()
            windows = conn.execute(sa.text("SELECT weekday, opens_minute, closes_minute FROM sla_calendar_windows "
                                           "ORDER BY weekday")).all()
        assert [(c.name, bool(c.around_the_clock), c.time_zone, bool(c.is_default)) for c in calendars] == [
            ("Business hours", False, None, True)]
        assert [tuple(w) for w in windows] == [(0, 480, 990), (2, 540, 1020), (5, 0, 1440)]
        # A calendar added afterwards gets the next id (PostgreSQL's sequence moved past the copied row).
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO sla_calendars (name, around_the_clock, is_default, updated_at) "
                                 "VALUES ('Nights', false, false, CURRENT_TIMESTAMP)"))
        downgrade(revision="0017")
        with db.engine.connect() as conn:
            days = conn.execute(sa.text("SELECT weekday, opens_minute, closes_minute FROM sla_business_days "
                                        "ORDER BY weekday")).all()
        assert [tuple(d) for d in days] == [(0, 480, 990), (2, 540, 1020), (5, 0, 1440)]
        db.engine.dispose()


def test_without_stored_hours_the_migration_stores_the_hours_that_applied(blank_database, tmp_path):
    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0018")
        with db.engine.connect() as conn:
            windows = conn.execute(sa.text("SELECT weekday, opens_minute, closes_minute FROM sla_calendar_windows "
                                           "ORDER BY weekday")).all()
        assert [tuple(w) for w in windows] == [(d, 9 * H, 17 * H) for d in range(5)]
        db.engine.dispose()


# --------------------------------------------------------------------------- the editor

def test_only_admins_reach_the_calendar_editor(client, agent):
    log_in(client, "agent@example.test")
    assert client.get("/agent/admin/sla/calendars/default").status_code == 403
    assert client.post("/agent/admin/sla/calendars/default/windows", data={}).status_code in (400, 403)


def test_admin_adds_a_night_shift_and_removes_a_day_window(as_admin):
    page = as_admin.get("/agent/admin/sla/calendars/default").text
    assert page.count('class="sla-window"') == 5  # Monday to Friday, 09:00–17:00, as installed

    response = post_window(as_admin, "default", 0, "22:00", "06:00")
    assert response.status_code == 302
    page = as_admin.get(response.headers["Location"]).text
    assert "The window Monday 22:00–06:00 (until Tuesday) was added." in unescape(page)
    assert "(next day, Tuesday)" in page
    assert windows_of() == [(0, 9 * H, 17 * H), (0, 22 * H, 6 * H)] + [(d, 9 * H, 17 * H) for d in range(1, 5)]

    removed = as_admin.post("/agent/admin/sla/calendars/default/windows/remove", data={
        "csrf_token": csrf_token(page), "window": "0-540-1020"})
    assert removed.status_code == 302
    assert "The window was removed." in as_admin.get(removed.headers["Location"]).text
    assert windows_of() == [(0, 22 * H, 6 * H)] + [(d, 9 * H, 17 * H) for d in range(1, 5)]
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "sla_calendar")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["window-added", "window-removed"]


def test_several_windows_a_day_make_a_split_shift(as_admin):
    post_window(as_admin, "default", 5, "08:00", "12:00")
    assert post_window(as_admin, "default", 5, "13:00", "17:00").status_code == 302
    assert post_window(as_admin, "default", 5, "12:00", "13:00").status_code == 302  # touching is not overlapping
    assert [w for w in windows_of() if w[0] == 5] == [(5, 8 * H, 12 * H), (5, 12 * H, 13 * H), (5, 13 * H, 17 * H)]


def test_an_overlapping_window_is_refused_with_the_window_it_overlaps(as_admin):
    post_window(as_admin, "default", 0, "22:00", "06:00")
    refused = post_window(as_admin, "default", 1, "05:00", "09:00")
    assert refused.status_code == 400
    assert field_error(refused.text, "opens") == (
        "This window overlaps Monday 22:00–06:00 (until Tuesday). Change or remove that one first.")
    # The form keeps what was typed.
    assert 'value="05:00"' in refused.text
    also = post_window(as_admin, "default", 2, "16:00", "18:00")
    assert field_error(also.text, "opens") == (
        "This window overlaps Wednesday 09:00–17:00. Change or remove that one first.")
    assert len(windows_of()) == 6


def test_bad_times_are_refused_beside_their_fields(as_admin):
    bad = post_window(as_admin, "default", 0, "25:00", "nine")
    assert bad.status_code == 400
    assert field_error(bad.text, "opens") == "Enter a time as HH:MM."
    assert field_error(bad.text, "closes") == "Enter a time as HH:MM."
    same = post_window(as_admin, "default", 6, "08:00", "08:00")
    assert field_error(same.text, "closes") == (
        "A window cannot open and close at the same time; for a whole day enter 00:00–24:00.")
    nonday = post_window(as_admin, "default", 9, "08:00", "09:00")
    assert field_error(nonday.text, "weekday") == "Choose a day of the week."
    assert as_admin.get("/agent/admin/sla/calendars/default").text.count('class="sla-window"') == 5


def test_midnight_as_closing_time_is_the_end_of_the_day(as_admin):
    assert post_window(as_admin, "default", 6, "18:00", "00:00").status_code == 302
    assert (6, 18 * H, 24 * H) in windows_of()


def test_the_last_window_of_a_business_hours_calendar_stays(as_admin):
    sla.create_calendar(SYSTEM, name="Weekends")
    calendar = db.session.scalar(sa.select(SLACalendar).where(SLACalendar.name == "Weekends"))
    for key in ("1-540-1020", "2-540-1020", "3-540-1020", "4-540-1020"):
        sla.remove_window(SYSTEM, calendar.id, key)
    page = as_admin.get(f"/agent/admin/sla/calendars/{calendar.id}").text
    response = as_admin.post(f"/agent/admin/sla/calendars/{calendar.id}/windows/remove", data={
        "csrf_token": csrf_token(page), "window": "0-540-1020"}, follow_redirects=True)
    assert "A calendar of business hours needs at least one window." in response.text
    assert windows_of("Weekends") == [(0, 9 * H, 17 * H)]


def test_admin_adds_a_24_7_calendar_and_gives_it_to_a_department(as_admin, night_desk, department):
    page = as_admin.get("/agent/admin/sla/").text
    created = as_admin.post("/agent/admin/sla/calendars", data={
        "csrf_token": csrf_token(page), "name": "Around the clock", "time_zone": "Europe/Berlin",
        "around_the_clock": "y"})
    assert created.status_code == 302
    editor = as_admin.get(created.headers["Location"]).text
    assert "This calendar counts around the clock (24/7)" in editor
    calendar = db.session.scalar(sa.select(SLACalendar).where(SLACalendar.name == "Around the clock"))
    assert (calendar.around_the_clock, calendar.time_zone, calendar.is_default) == (True, "Europe/Berlin", False)

    page = as_admin.get("/agent/admin/sla/").text
    assert re.search(r'<option value="\d+"[^>]*>Around the clock · 24/7</option>', page)
    saved = as_admin.post("/agent/admin/sla/departments", data={
        "csrf_token": csrf_token(page), f"department_{night_desk.id}": str(calendar.id),
        f"department_{department.id}": "default"})
    assert saved.status_code == 302
    page = as_admin.get("/agent/admin/sla/").text
    assert re.search(rf'<select id="department_{night_desk.id}"[^>]*>.*?<option value="{calendar.id}" selected>',
                     page, re.S)
    db.session.rollback()
    assert dict(db.session.execute(sa.select(DepartmentCalendar.department_id, DepartmentCalendar.calendar_id))
                .all()) == {night_desk.id: calendar.id}
    assert "Used by: Night desk" in as_admin.get(f"/agent/admin/sla/calendars/{calendar.id}").text


def test_calendar_settings_are_checked(as_admin):
    sla.create_calendar(SYSTEM, name="Nights")
    page = as_admin.get("/agent/admin/sla/").text
    clash = as_admin.post("/agent/admin/sla/calendars", data={"csrf_token": csrf_token(page), "name": " Nights ",
                                                             "time_zone": "Mars/Olympus"})
    assert clash.status_code == 400
    assert field_error(clash.text, "name") == "Another calendar has that name."
    assert field_error(clash.text, "time_zone") == "Choose a valid time zone."
    empty = as_admin.post("/agent/admin/sla/calendars", data={"csrf_token": csrf_token(page), "name": ""})
    assert field_error(empty.text, "name") == "Enter a name."


def test_removing_a_calendar_sends_its_departments_back_to_the_default(as_admin, night_desk):
    nights = sla.create_calendar(SYSTEM, name="Nights", around_the_clock=True)
    sla.assign_calendars(SYSTEM, {night_desk.id: nights.id})
    page = as_admin.get(f"/agent/admin/sla/calendars/{nights.id}").text
    response = as_admin.post(f"/agent/admin/sla/calendars/{nights.id}/delete",
                             data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "its departments use the desk&#39;s default calendar again" in response.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DepartmentCalendar)) == 0
    assert not sla.load_calendar(night_desk.id).around_the_clock
    default_page = as_admin.get("/agent/admin/sla/calendars/default").text
    assert "Remove this calendar" not in default_page


# --------------------------------------------------------------------------- due times in a department's calendar

def test_a_department_on_a_24_7_calendar_counts_business_targets_around_the_clock(app, night_desk, department):
    sla.save_target(SYSTEM, department=None, priority=NORMAL, first_response_minutes=60, resolution_minutes=600,
                    business_hours=True)
    always = sla.create_calendar(SYSTEM, name="24/7", around_the_clock=True)
    sla.assign_calendars(SYSTEM, {night_desk.id: always.id})

    ticket = open_ticket(night_desk)
    assert ticket.first_response_due_at == ticket.created_at + timedelta(minutes=60)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(minutes=600)
    office = open_ticket(department)  # the desk's default: Monday to Friday 09:00–17:00
    office_hours = sla.Calendar(ZoneInfo(app.config["BUSINESS_TIMEZONE"]))
    assert office.first_response_due_at == sla.add_minutes(office.created_at, 60, office_hours)


def test_a_department_on_a_night_shift_is_due_within_its_nights(app, night_desk):
    sla.save_target(SYSTEM, department=night_desk, priority=NORMAL, first_response_minutes=90,
                    resolution_minutes=16 * H, business_hours=True)
    nights = sla.create_calendar(SYSTEM, name="Nights", time_zone="Asia/Tokyo")
    for weekday in range(7):
        sla.add_window(SYSTEM, nights.id, weekday=weekday, opens="22:00", closes="06:00")
    for weekday in range(5):
        sla.remove_window(SYSTEM, nights.id, f"{weekday}-540-1020")
    sla.assign_calendars(SYSTEM, {night_desk.id: nights.id})

    ticket = open_ticket(night_desk)
    expected = sla.Calendar(ZoneInfo("Asia/Tokyo"), [(d, 22 * H, 6 * H) for d in range(7)])
    assert ticket.first_response_due_at == sla.add_minutes(ticket.created_at, 90, expected)
    assert ticket.resolution_due_at == sla.add_minutes(ticket.created_at, 16 * H, expected)
    # Two whole nights: the resolution is due at the end of a night shift at the latest.
    assert ticket.resolution_due_at - ticket.created_at <= timedelta(days=2, hours=8)


def test_holidays_stop_business_calendars_but_not_24_7_ones(app, night_desk):
    always = sla.create_calendar(SYSTEM, name="24/7", around_the_clock=True)
    sla.assign_calendars(SYSTEM, {night_desk.id: always.id})
    today = utcnow().date()
    sla.add_holiday(SYSTEM, day=today, name="Founders' day")
    assert today in sla.load_calendar(None).holidays
    assert sla.load_calendar(night_desk.id).holidays == frozenset()


def test_calendars_are_read_once_however_many_tickets_change(app, night_desk, department):
    sla.create_calendar(SYSTEM, name="Nights")
    tickets = [open_ticket(night_desk if n % 2 else department) for n in range(12)]
    statements = []

    def count(conn, cursor, statement, *args):
        if "sla_calendar" in statement or "sla_holidays" in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with Batch(db.session):
            for ticket in tickets:
                service.change_priority(SYSTEM, ticket, URGENT if ticket.priority == NORMAL else NORMAL)
                service.change_priority(SYSTEM, ticket, NORMAL)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 4  # calendars, windows, holidays, departments' choices: once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.priority == NORMAL)) == 12
