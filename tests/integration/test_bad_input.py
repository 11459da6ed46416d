"""Bad input is answered with 404 or 400, never 500: ids too large for the database, digits that only look like
digits ("²", "٤"), negative ids, dates out of range, JSON that is not an object, and a bulk change of 100,000
tickets."""
import re

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.db import MAX_ID, parse_id
from helpdesk.extensions import db
from helpdesk.tickets import bulk, service
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


HUGE = str(MAX_ID + 1)
BAD_IDS = [HUGE, str(2**63), "99999999999999999999999999", "9" * 400, "²", "⁰⁴⁵", "٤٥", "-1", "0", "1e3", "%201"]


# Each value is tried inside one test per database (not one test each): the app is built once, and the
# answer for every value is collected, so one failure names all the values that fail.


def _wrong(values, answer):
    """{value: what went wrong} for every value whose ``answer(value)`` is not None."""
    found = {value: answer(value) for value in values}
    return {value: problem for value, problem in found.items() if problem is not None}


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="root@example.test", full_name="Root Admin")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Printer", body_text="It is on fire.", department=department.id,
                               acknowledge=False)


@pytest.fixture
def admin_client(client, admin):
    log_in(client, admin.email)
    db.session.rollback()  # the login wrote; later fixtures must not write on an older snapshot (SQLite)
    return client


def _id_routes(app):
    """(method, rule) of every route with an id in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if any(type(c).__name__ == "IdConverter" for c in rule._converters.values()):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


def _url(rule, value):
    return re.sub(r"<id:\w+>", value, re.sub(r"<(?:\w+:)?(?!id:)\w+>", "x", rule))


def test_every_route_with_an_id_uses_the_id_converter(app):
    int_routes = [rule.rule for rule in app.url_map.iter_rules()
                  if any(type(c).__name__ == "IntegerConverter" for c in rule._converters.values())]
    assert int_routes == []
    assert len(_id_routes(app)) >= 27


def test_bad_ids_in_every_path_are_not_found(app, admin_client, ticket):
    token = csrf_token(admin_client.get("/agent/").text)
    answers = {}
    for value in BAD_IDS:
        for method, rule in _id_routes(app):
            url = _url(rule, value)
            response = admin_client.open(url, method=method, data={"csrf_token": token})
            answers[f"{method} {url}"] = response.status_code
    assert {url: code for url, code in answers.items() if code != 404} == {}


def test_the_largest_id_reaches_the_database_and_is_not_found(app, admin_client, ticket):
    token = csrf_token(admin_client.get("/agent/").text)
    answers = {}
    for method, rule in _id_routes(app):
        url = _url(rule, str(MAX_ID))
        answers[f"{method} {url}"] = admin_client.open(url, method=method, data={"csrf_token": token}).status_code
    assert {url: code for url, code in answers.items() if code >= 500} == {}


def test_real_ids_still_work(admin_client, ticket):
    assert admin_client.get(f"/agent/tickets/{ticket.number}").status_code == 200
    assert admin_client.get(f"/agent/tickets/0{ticket.number}").status_code == 200  # a leading zero is harmless


@pytest.mark.parametrize("value", ["1", "42", " 7 ", "0042", MAX_ID, str(MAX_ID)])
def test_parse_id_accepts_ascii_ids(value):
    assert parse_id(value) == int(str(value).strip())


@pytest.mark.parametrize("value", [*BAD_IDS, "", None, 0, -5, MAX_ID + 1, True, 1.5, "1.0", "0x1f", "1_000"])
def test_parse_id_refuses_everything_else(value):
    assert parse_id(value) is None


# --------------------------------------------------------------------------- query strings and forms

@pytest.mark.parametrize("name", ["department", "assignee"])
def test_queue_filters_with_bad_ids_are_refused(admin_client, ticket, name):
    def answer(value):
        code = admin_client.get("/agent/", query_string={name: value}).status_code
        return None if code in (200, 302, 400) else code
    assert _wrong(BAD_IDS, answer) == {}


def test_audit_trail_with_a_bad_cursor_is_a_bad_request(admin_client):
    def answer(value):
        code = admin_client.get("/agent/admin/audit", query_string={"before": value}).status_code
        return None if code == 400 else code
    assert _wrong(BAD_IDS, answer) == {}


def test_portal_page_numbers_out_of_range_are_not_found(client, customer):
    log_in(client, customer.email)
    db.session.rollback()

    def answer(value):
        code = client.get("/tickets", query_string={"page": value}).status_code
        return None if code == 404 else code
    assert _wrong(BAD_IDS, answer) == {}


def test_portal_page_number_in_range_works(client, customer):
    log_in(client, customer.email)
    assert client.get("/tickets", query_string={"page": "2"}).status_code == 200


def test_bulk_change_with_bad_ticket_numbers_changes_nothing(admin_client, ticket):
    token = csrf_token(admin_client.get("/agent/").text)

    def answer(value):
        response = admin_client.post("/agent/bulk", data={"csrf_token": token, "ticket": [str(ticket.number), value],
                                                          "priority": "high"}, follow_redirects=True)
        db.session.rollback()
        if response.status_code != 200 or "Choose tickets from the list." not in response.text:
            return response.status_code
        return "changed" if db.session.get(Ticket, ticket.id).priority == "high" else None
    assert _wrong(BAD_IDS, answer) == {}


@pytest.mark.parametrize("field", ["department", "assignee"])
def test_bulk_change_with_bad_department_or_agent_ids_is_refused(admin_client, ticket, field):
    token = csrf_token(admin_client.get("/agent/").text)

    def answer(value):
        response = admin_client.post("/agent/bulk", data={"csrf_token": token, "ticket": str(ticket.number),
                                                          field: value}, follow_redirects=True)
        return None if response.status_code == 200 and "Choose a valid" in response.text else response.status_code
    assert _wrong(BAD_IDS, answer) == {}


def test_canned_response_chosen_by_a_bad_id_is_not_available(admin_client, ticket):
    token = csrf_token(admin_client.get(f"/agent/tickets/{ticket.number}").text)

    def answer(value):
        response = admin_client.post(f"/agent/tickets/{ticket.number}/reply/canned",
                                     data={"csrf_token": token, "canned": value, "body": ""})
        ok = response.status_code == 200 and "not available for this ticket" in response.text
        return None if ok else response.status_code
    assert _wrong(BAD_IDS, answer) == {}


def test_merge_into_a_ticket_number_too_large_is_a_form_error(admin_client, ticket):
    token = csrf_token(admin_client.get(f"/agent/tickets/{ticket.number}").text)

    def answer(value):
        code = admin_client.post(f"/agent/tickets/{ticket.number}/merge",
                                 data={"csrf_token": token, "target": value}).status_code
        return None if code == 400 else code
    assert _wrong([HUGE, "99999999999999999999999999"], answer) == {}


def test_reply_with_a_bad_seen_marker_is_not_a_server_error(admin_client, ticket):
    token = csrf_token(admin_client.get(f"/agent/tickets/{ticket.number}").text)

    def answer(value):
        code = admin_client.post(f"/agent/tickets/{ticket.number}/reply", data={
            "csrf_token": token, "body": "Hello", "reply_status": "answered", "seen_up_to": value}).status_code
        return None if code < 500 else code
    assert _wrong([HUGE, "²", "-1", "abc"], answer) == {}


def test_kb_editor_folder_with_a_bad_id_is_not_a_server_error(admin_client):
    def answer(value):
        code = admin_client.get("/agent/kb/articles/new", query_string={"folder": value}).status_code
        return None if code < 500 else code
    assert _wrong([HUGE, "²", "٤", "-1"], answer) == {}


# --------------------------------------------------------------------------- dates

BAD_DATES = ["0001-01-01", "9999-12-31", "0000-01-01", "²⁰²⁴-01-01", "2024-13-01", "2024-02-30", "1-1-1",
             "99999-01-01", "yesterday"]


@pytest.mark.parametrize("name", ["since", "until"])
def test_audit_trail_dates_out_of_range_are_a_bad_request(admin_client, name):
    def answer(value):
        code = admin_client.get("/agent/admin/audit", query_string={name: value}).status_code
        return None if code == 400 else code
    assert _wrong(BAD_DATES, answer) == {}


@pytest.mark.parametrize("name", ["since", "until"])
def test_search_dates_out_of_range_are_a_bad_request(admin_client, name):
    def answer(value):
        code = admin_client.get("/agent/search", query_string={"q": "printer", name: value}).status_code
        return None if code == 400 else code
    assert _wrong(BAD_DATES, answer) == {}


def test_search_dates_in_range_still_work(admin_client, ticket):
    response = admin_client.get("/agent/search", query_string={"q": "printer", "since": "1900-01-01",
                                                               "until": "9998-12-31"})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["0001-01-01 00:00", "0001-01-01", "9999-12-31 23:59"])
def test_problem_start_out_of_range_is_a_form_error(app, value):
    from helpdesk.web import ticket_forms

    form_class = next((cls for cls in vars(ticket_forms).values()
                       if isinstance(cls, type) and hasattr(cls, "validate_problem_started")), None)
    if form_class is None:
        pytest.skip("no form with a problem start time")
    with app.test_request_context(method="POST"):
        form = form_class(meta={"csrf": False})
        form.problem_started.data = value
        form.problem_timezone.data = "Europe/Istanbul"
        with pytest.raises(Exception) as raised:
            form.validate_problem_started(form.problem_started)
        assert type(raised.value).__name__ == "ValidationError"


# --------------------------------------------------------------------------- presence JSON

def _heartbeat(client, ticket, **kwargs):
    token = csrf_token(client.get(f"/agent/tickets/{ticket.number}").text)
    return client.post(f"/agent/tickets/{ticket.number}/presence", headers={"X-CSRFToken": token}, **kwargs)


def test_presence_refuses_json_that_is_not_a_flat_object(admin_client, ticket):
    bodies = ["[]", '["viewing"]', "42", '"viewing"', "null", "true", "{", "not json", "[" * 100_000 + "]" * 100_000,
              '{"a":' * 50_000 + "1" + "}" * 50_000, '{"activity": ' + "[" * 30 + "]" * 30 + "}"]

    def answer(body):
        response = _heartbeat(admin_client, ticket, data=body, content_type="application/json")
        return None if response.status_code == 400 and "errors" in response.json else response.status_code
    assert {body[:40]: problem for body, problem in _wrong(bodies, answer).items()} == {}


def test_presence_activity_of_the_wrong_type_is_refused_or_defaulted(admin_client, ticket):
    codes = [(activity, _heartbeat(admin_client, ticket, json={"activity": activity}).status_code)
             for activity in [["viewing"], {"x": 1}, 1, None, "", "dancing"]]
    assert [(activity, code) for activity, code in codes if code not in (200, 400)] == []


def test_presence_without_a_body_counts_as_viewing(admin_client, ticket):
    assert _heartbeat(admin_client, ticket).status_code == 200


# --------------------------------------------------------------------------- bulk limit

def test_bulk_change_of_100000_tickets_is_refused_at_once(admin_client, ticket):
    token = csrf_token(admin_client.get("/agent/").text)
    numbers = [str(n) for n in range(1, 100_001)]

    response = admin_client.post("/agent/bulk", data={"csrf_token": token, "ticket": numbers, "priority": "high"},
                                 follow_redirects=True)

    assert response.status_code == 200
    assert f"Select at most {bulk.BULK_MAX} tickets at once." in response.text
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).priority != "high"


def test_bulk_change_counts_a_repeated_ticket_once(admin, ticket):
    results = bulk.bulk_update(admin, [str(ticket.number)] * 5, priority="high")
    assert [r.number for r in results] == [ticket.number]


def test_bulk_change_at_the_limit_still_works(admin, customer, department):
    numbers = [service.open_ticket(SYSTEM, subject=f"T{n}", body_text="x", requester_email=customer.email,
                                   acknowledge=False).number for n in range(3)]
    results = bulk.bulk_update(admin, [*numbers, "999999"], priority="high")
    assert sorted(r.outcome for r in results).count(bulk.BULK_DONE) == 3
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.priority == "high")) == 3
