"""The agents' queue on both databases: views, filters, sorts and keyset pages as an agent in a department and
as an admin sees them, the sidebar's counts, bulk changes, and that customers and forged forms get nowhere."""
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import bulk, departments, queue, service
from helpdesk.tickets.models import ANSWERED, CLOSED, HIGH, IN_PROGRESS, LOW, URGENT, Ticket
from tests.conftest import csrf_token, log_in


def open_tickets(n, department=None, **kwargs):
    return [service.open_ticket(GUEST_FORM, subject=f"Ticket {i}", body_text="Help", department=department,
                                requester_email=f"guest{i % 7}@example.test", acknowledge=False, **kwargs)
            for i in range(n)]


@pytest.fixture
def other_department(app):
    return departments.create_department(SYSTEM, name="Billing")


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


@pytest.fixture
def desk(agent, department, other_department, make_user):
    """A small desk: tickets in the agent's department, in another, without one, assigned, closed."""
    colleague = make_user("agent", full_name="Colin Colleague")
    t = {}
    t["mine"] = open_tickets(1, department)[0]
    service.assign(SYSTEM, t["mine"], agent)
    t["unassigned"] = open_tickets(1, department, priority=URGENT)[0]
    t["colleague"] = open_tickets(1, department, priority=LOW)[0]
    service.assign(SYSTEM, t["colleague"], colleague)
    t["nodept"] = open_tickets(1, None, priority=HIGH)[0]
    t["billing"] = open_tickets(1, other_department)[0]
    t["billing_mine"] = open_tickets(1, other_department)[0]
    service.assign(SYSTEM, t["billing_mine"], agent)
    t["closed"] = open_tickets(1, department)[0]
    service.close(SYSTEM, t["closed"])
    t["billing_closed"] = open_tickets(1, other_department)[0]
    service.close(SYSTEM, t["billing_closed"])
    service.change_status(SYSTEM, t["unassigned"], IN_PROGRESS)
    return {name: ticket.number for name, ticket in t.items()}, colleague


def numbers(query_or_page):
    if isinstance(query_or_page, queue.Page):
        return {t.number for t in query_or_page.tickets}
    return {t.number for t in db.session.scalars(query_or_page)}


def set_activity(numbers_to_times):
    for number, moment in numbers_to_times.items():
        db.session.execute(sa.update(Ticket).where(Ticket.number == number).values(last_activity_at=moment))
    db.session.commit()


# --------------------------------------------------------------------------- views and filters

def test_each_view_shows_an_agent_the_tickets_of_their_departments(app, agent, desk):
    t, _colleague = desk
    assert numbers(queue.tickets_in(agent, queue.MINE)) == {t["mine"], t["billing_mine"]}
    assert numbers(queue.tickets_in(agent, queue.UNASSIGNED)) == {t["unassigned"], t["nodept"]}
    assert numbers(queue.tickets_in(agent, queue.OPEN_VIEW)) == {
        t["mine"], t["unassigned"], t["colleague"], t["nodept"], t["billing_mine"]}
    assert numbers(queue.tickets_in(agent, queue.CLOSED_VIEW)) == {t["closed"]}


def test_an_admin_sees_every_department(app, admin, desk):
    t, _colleague = desk
    assert numbers(queue.tickets_in(admin, queue.OPEN_VIEW)) == {
        t["mine"], t["unassigned"], t["colleague"], t["nodept"], t["billing"], t["billing_mine"]}
    assert numbers(queue.tickets_in(admin, queue.UNASSIGNED)) == {t["unassigned"], t["nodept"], t["billing"]}
    assert numbers(queue.tickets_in(admin, queue.CLOSED_VIEW)) == {t["closed"], t["billing_closed"]}
    assert numbers(queue.tickets_in(admin, queue.MINE)) == set()


def test_by_department_status_and_priority_views(app, agent, admin, department, other_department, desk):
    t, _colleague = desk
    assert numbers(queue.tickets_in(agent, department=department.id)) == {t["mine"], t["unassigned"], t["colleague"]}
    assert numbers(queue.tickets_in(agent, department=other_department.id)) == {t["billing_mine"]}
    assert numbers(queue.tickets_in(admin, department=other_department.id)) == {t["billing"], t["billing_mine"]}
    assert numbers(queue.tickets_in(agent, department=queue.NONE)) == {t["nodept"]}
    assert numbers(queue.tickets_in(agent, status=IN_PROGRESS)) == {t["unassigned"]}
    assert numbers(queue.tickets_in(agent, priority=URGENT)) == {t["unassigned"]}


def test_filters_combine(app, agent, admin, department, desk):
    t, colleague = desk
    assert numbers(queue.tickets_in(admin, department=department.id, assignee=queue.NONE)) == {t["unassigned"]}
    assert numbers(queue.tickets_in(admin, department=department.id, assignee=colleague.id, priority=LOW)) == {
        t["colleague"]}
    assert numbers(queue.tickets_in(admin, department=department.id, assignee=colleague.id, priority=HIGH)) == set()
    assert numbers(queue.tickets_in(agent, queue.MINE, department=department.id)) == {t["mine"]}
    assert numbers(queue.tickets_in(admin, queue.CLOSED_VIEW, department=department.id)) == {t["closed"]}


def test_unknown_view_or_filter_values_are_refused_by_name(app, agent):
    with pytest.raises(ValidationFailed) as refused:
        queue.tickets_in(agent, "everything", status="gone", priority="asap", department="x", assignee="y")
    assert set(refused.value.errors) == {"view", "status", "priority", "department", "assignee"}
    with pytest.raises(ValidationFailed):
        queue.page(agent, sort="random")
    with pytest.raises(ValidationFailed):
        queue.page(agent, after="not-a-cursor")


# --------------------------------------------------------------------------- sorts and pages

def test_sorts_by_activity_priority_and_creation(app, admin, department):
    tickets = open_tickets(4, department)
    a, b, c, d = (ticket.number for ticket in tickets)
    service.change_priority(SYSTEM, tickets[1], URGENT)
    service.change_priority(SYSTEM, tickets[2], HIGH)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    set_activity({a: base + timedelta(hours=4), b: base + timedelta(hours=1), c: base + timedelta(hours=2),
                  d: base + timedelta(hours=3)})
    by = {sort: [x.number for x in queue.page(admin, sort=sort).tickets] for sort in queue.SORTS}
    assert by[queue.ACTIVITY] == [a, d, c, b]
    assert by[queue.PRIORITY] == [b, c, a, d]
    assert by[queue.CREATED] == [d, c, b, a]


@pytest.mark.parametrize("sort", list(queue.SORTS))
def test_keyset_pages_cover_every_ticket_once_forward_and_back(app, admin, department, sort):
    tickets = open_tickets(24, department)
    # Ties on the sort key must not lose or repeat tickets: a third share one activity time.
    same = datetime(2026, 2, 1, tzinfo=UTC)
    set_activity({ticket.number: same for ticket in tickets[::3]})
    for ticket in tickets[1::4]:
        service.change_priority(SYSTEM, ticket, URGENT)
    expected = [x.number for x in db.session.scalars(queue.tickets_in(admin).order_by(*queue.order_by(sort)))]

    forward, pages, result = [], [], queue.page(admin, sort=sort, per_page=10)
    assert result.prev_cursor is None
    while True:
        pages.append([x.number for x in result.tickets])
        forward += pages[-1]
        if result.next_cursor is None:
            break
        result = queue.page(admin, sort=sort, after=result.next_cursor, per_page=10)
    assert [len(p) for p in pages] == [10, 10, 4]
    assert forward == expected
    assert len(set(forward)) == 24

    backward = []
    while result.prev_cursor is not None:
        result = queue.page(admin, sort=sort, before=result.prev_cursor, per_page=10)
        backward = [x.number for x in result.tickets] + backward
    assert backward == expected[:20]
    assert [x.number for x in result.tickets] == pages[0]


def test_queue_page_links_walk_every_ticket(client, admin, department):
    open_tickets(30, department)
    log_in(client, admin.email)
    seen, url = [], "/agent/?sort=created"
    while url:
        page = client.get(url).text
        seen += [int(n) for n in re.findall(r'name="ticket" value="(\d+)"', page)]
        link = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = unescape(link.group(1)) if link else None
    assert len(seen) == len(set(seen)) == 30
    assert seen == sorted(seen, reverse=True)


# --------------------------------------------------------------------------- counts

def test_counts_match_the_lists(app, agent, admin, department, other_department, desk):
    for actor in (agent, admin):
        counts = queue.counts(actor)
        for view in queue.VIEWS:
            assert counts.views[view] == len(numbers(queue.tickets_in(actor, view))), (actor, view)
        for dep in (department.id, other_department.id, None):
            expected = len(numbers(queue.tickets_in(actor, department=dep if dep else queue.NONE)))
            assert counts.by_department.get(dep, 0) == expected
        for status in queue.OPEN_STATUSES:
            assert counts.by_status.get(status, 0) == len(numbers(queue.tickets_in(actor, status=status)))
        for priority in (LOW, "normal", HIGH, URGENT):
            assert counts.by_priority.get(priority, 0) == len(numbers(queue.tickets_in(actor, priority=priority)))
    assert not queue.counts(admin).closed_capped


def test_sidebar_shows_views_with_counts(client, agent, desk):
    log_in(client, agent.email)
    page = client.get("/agent/").text
    assert re.search(r"My tickets</a>\s*<span class=\"count\">2</span>", page)
    assert re.search(r"Unassigned</a>\s*<span class=\"count\">2</span>", page)
    assert re.search(r"Open tickets</a>\s*<span class=\"count\">5</span>", page)
    assert re.search(r"Closed</a>\s*<span class=\"count\">1</span>", page)
    assert re.search(r"Billing</a>\s*<span class=\"count\">1</span>", page)


def test_queue_page_filters_from_the_query_string(client, agent, department, desk):
    t, _colleague = desk
    log_in(client, agent.email)
    page = client.get(f"/agent/?view=open&department={department.id}&assignee=none").text
    assert set(map(int, re.findall(r'name="ticket" value="(\d+)"', page))) == {t["unassigned"]}
    assert f'href="/agent/tickets/{t["unassigned"]}"' in page
    assert '<option value="none" selected>Unassigned</option>' in page
    no_department = client.get("/agent/?department=none").text
    assert set(map(int, re.findall(r'name="ticket" value="(\d+)"', no_department))) == {t["nodept"]}
    assert re.search(r'href="/agent/\?department=none" aria-current="page" class="current">No department</a>',
                     no_department)
    bad = client.get("/agent/?priority=asap", follow_redirects=True)
    assert bad.status_code == 200
    assert "Choose a valid value." in bad.text


# --------------------------------------------------------------------------- bulk changes

def test_bulk_update_changes_only_the_selected_allowed_tickets(app, agent, department, desk):
    t, colleague = desk
    results = bulk.bulk_update(agent, [t["mine"], t["unassigned"], t["billing"], 999999], priority=HIGH,
                               assignee=colleague.id)
    outcome = {r.number: r.outcome for r in results}
    assert outcome == {t["mine"]: bulk.BULK_DONE, t["unassigned"]: bulk.BULK_DONE,
                       t["billing"]: bulk.BULK_NOT_ALLOWED, 999999: bulk.BULK_NOT_ALLOWED}
    db.session.rollback()
    by_number = {x.number: x for x in db.session.scalars(sa.select(Ticket))}
    assert by_number[t["mine"]].priority == HIGH and by_number[t["mine"]].assignee_id == colleague.id
    assert by_number[t["unassigned"]].priority == HIGH
    assert by_number[t["billing"]].priority == "normal" and by_number[t["billing"]].assignee_id is None
    assert by_number[t["nodept"]].priority == HIGH and by_number[t["nodept"]].assignee_id is None  # not selected
    assert by_number[t["colleague"]].priority == LOW


def test_bulk_close_reports_tickets_already_closed(app, agent, desk):
    t, _colleague = desk
    results = bulk.bulk_update(agent, [t["mine"], t["closed"]], close=True)
    assert [(r.number, r.outcome) for r in results] == [(t["mine"], bulk.BULK_DONE),
                                                         (t["closed"], bulk.BULK_INVALID)]
    assert "already closed" in results[1].reason
    db.session.rollback()
    assert db.session.scalar(sa.select(Ticket.status).where(Ticket.number == t["mine"])) == CLOSED


def test_bulk_update_validates_the_change_once(app, agent, customer, desk):
    t, _colleague = desk
    with pytest.raises(ValidationFailed) as refused:
        bulk.bulk_update(agent, [t["mine"]], priority="asap", assignee=customer.id)
    assert set(refused.value.errors) == {"priority", "assignee"}
    with pytest.raises(ValidationFailed) as refused:
        bulk.bulk_update(agent, [], status=ANSWERED)
    assert set(refused.value.errors) == {"tickets"}
    with pytest.raises(ValidationFailed) as refused:
        bulk.bulk_update(agent, [t["mine"]])
    assert set(refused.value.errors) == {"action"}


def test_bulk_form_applies_and_summarises_what_was_refused(client, agent, desk):
    t, _colleague = desk
    log_in(client, agent.email)
    page = client.get("/agent/?view=open").text
    response = client.post("/agent/bulk", data={
        "csrf_token": csrf_token(page), "ticket": [str(t["mine"]), str(t["billing"])], "status": ANSWERED,
        "priority": "", "department": "", "assignee": "none", "back": "/agent/?view=open",
    })
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/agent/?view=open")
    summary = client.get(response.headers["Location"]).text
    assert f"Changed 1 ticket: #{t['mine']}." in unescape(summary)
    assert f"Left 1 ticket unchanged: #{t['billing']} (Not found.)" in unescape(summary)
    db.session.rollback()
    mine = db.session.scalar(sa.select(Ticket).where(Ticket.number == t["mine"]))
    assert mine.status == ANSWERED and mine.assignee_id is None
    assert db.session.scalar(sa.select(Ticket.status).where(Ticket.number == t["billing"])) == "open"


def test_bulk_form_needs_the_csrf_token(client, agent, desk):
    t, _colleague = desk
    log_in(client, agent.email)
    response = client.post("/agent/bulk", data={"ticket": [str(t["mine"])], "close": "1"})
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.scalar(sa.select(Ticket.status).where(Ticket.number == t["mine"])) != CLOSED


def test_customers_never_reach_the_queue(client, customer):
    log_in(client, customer.email)
    assert client.get("/agent/").status_code == 404
    page = client.get("/").text
    assert client.post("/agent/bulk", data={"csrf_token": csrf_token(page), "close": "1"}).status_code == 404
