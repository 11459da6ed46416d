"""Tickets through the API as a client meets them: the queue's pages, a ticket with its ETag, opening one (once per
Idempotency-Key), changing it with If-Match, replies, notes, closing, reopening, merging, copies, attachments and
search. Every answer is checked against the OpenAPI document (tests/api/conftest.py)."""
import io

import pytest

from helpdesk.extensions import db
from helpdesk.tickets import service
from helpdesk.tickets.models import Ticket
from tests.api.conftest import pointers, problem_of

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def ticket(agent, customer, department):
    return service.open_ticket(customer, subject="Printer on fire", body_text="Smoke comes out of the tray.",
                               department=department, acknowledge=False)


def _fresh():
    """End the test's own transaction, so its next read sees what the requests wrote (and its writes do not
    collide with theirs on SQLite)."""
    db.session.commit()


def _open(client, **fields):
    body = {"subject": "Mail is down", "body": "Since this morning.", **fields}
    return client.post("/api/v1/tickets", json=body)


# --------------------------------------------------------------------------- the list

def test_the_list_pages_through_three_pages_forward_and_back(as_user, agent, customer):
    for n in range(7):
        service.open_ticket(customer, subject=f"Question {n}", body_text="Hello.", acknowledge=False)
    client = as_user(agent, ["tickets:read"])
    first = client.get("/api/v1/tickets?limit=3&sort=created")
    assert first.status_code == 200
    page1 = first.get_json()
    assert [t["subject"] for t in page1["items"]] == ["Question 6", "Question 5", "Question 4"]
    assert page1["prev_cursor"] is None
    page2 = client.get(f"/api/v1/tickets?limit=3&sort=created&after={page1['next_cursor']}").get_json()
    page3 = client.get(f"/api/v1/tickets?limit=3&sort=created&after={page2['next_cursor']}").get_json()
    assert [t["subject"] for t in page2["items"]] == ["Question 3", "Question 2", "Question 1"]
    assert [t["subject"] for t in page3["items"]] == ["Question 0"]
    assert page3["next_cursor"] is None
    back = client.get(f"/api/v1/tickets?limit=3&sort=created&before={page3['prev_cursor']}").get_json()
    assert back["items"] == page2["items"]
    back = client.get(f"/api/v1/tickets?limit=3&sort=created&before={back['prev_cursor']}").get_json()
    assert back["items"] == page1["items"] and back["prev_cursor"] is None


def test_the_list_takes_the_queue_s_filters(as_user, agent, customer, department):
    service.open_ticket(customer, subject="Urgent one", body_text="Help.", priority="urgent", acknowledge=False)
    service.open_ticket(customer, subject="In the department", body_text="Hi.", department=department,
                        acknowledge=False)
    closed = service.open_ticket(customer, subject="Done", body_text="Hi.", acknowledge=False)
    service.close(customer, closed)
    client = as_user(agent, ["tickets:read"])

    def subjects(query):
        response = client.get("/api/v1/tickets" + query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {t["subject"] for t in response.get_json()["items"]}

    assert subjects("") == {"Urgent one", "In the department"}
    assert subjects("?priority=urgent") == {"Urgent one"}
    assert subjects(f"?department={department.id}") == {"In the department"}
    assert subjects("?department=none") == {"Urgent one"}
    assert subjects("?view=closed") == {"Done"}
    assert subjects("?view=unassigned&assignee=none") == {"Urgent one", "In the department"}
    bad = client.get("/api/v1/tickets?view=everything&priority=whenever&limit=0")
    assert bad.status_code == 422
    assert pointers(bad) == {"view", "priority", "limit"}
    assert client.get("/api/v1/tickets?after=nonsense").status_code == 422


def test_a_customer_lists_only_their_own_tickets(as_user, customer, make_user, ticket):
    other = make_user("customer")
    service.open_ticket(other, subject="Someone else's", body_text="Hi.", acknowledge=False)
    items = as_user(customer, ["tickets:read"]).get("/api/v1/tickets").get_json()["items"]
    assert [t["number"] for t in items] == [ticket.number]


# --------------------------------------------------------------------------- a ticket

def test_a_ticket_reads_with_its_etag_and_304_when_unchanged(as_user, customer, ticket, department):
    client = as_user(customer, ["tickets:read"])
    response = client.get(f"/api/v1/tickets/{ticket.number}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["subject"] == "Printer on fire" and body["status"] == "open"
    assert body["department"] == {"id": department.id, "name": "Technical"}
    assert body["requester"]["email"] == customer.email and body["assignee"] is None
    assert body["links"]["self"] == f"/api/v1/tickets/{ticket.number}"
    etag = response.headers["ETag"]
    again = client.get(f"/api/v1/tickets/{ticket.number}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data


def test_opening_a_ticket_answers_201_with_location_and_etag(as_user, customer, department):
    client = as_user(customer, ["tickets:write", "tickets:read"])
    response = _open(client, priority="high", department=department.id, cc=["boss@example.test"],
                     details={"server_ip": "203.0.113.7"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/tickets/{body['number']}"
    assert response.headers["ETag"]
    assert body["priority"] == "high" and body["requester"]["email"] == customer.email
    assert client.get(response.headers["Location"]).get_json() == body
    _fresh()
    assert Ticket.query.filter_by(number=body["number"]).one().source == "api"
    cc = client.get(f"/api/v1/tickets/{body['number']}/cc").get_json()["items"]
    assert {p["email"] for p in cc} == {customer.email, "boss@example.test"}


def test_an_agent_opens_a_ticket_for_a_requester(as_user, agent):
    response = _open(as_user(agent, ["tickets:write"]), requester_email="newbie@example.test",
                     requester_name="New Bie")
    assert response.status_code == 201
    assert response.get_json()["requester"] == {"id": response.get_json()["requester"]["id"],
                                                "name": "New Bie", "email": "newbie@example.test"}


def test_the_same_idempotency_key_opens_one_ticket(as_user, customer):
    client = as_user(customer, ["tickets:write"])
    body = {"subject": "Only once", "body": "Please."}
    first = client.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-1"})
    second = client.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    _fresh()
    assert Ticket.query.filter_by(subject="Only once").count() == 1
    other = client.post("/api/v1/tickets", json={**body, "subject": "Something else"},
                        headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert Ticket.query.filter_by(subject="Something else").count() == 0


def test_every_bad_field_of_a_new_ticket_is_listed(as_user, agent):
    response = as_user(agent, ["tickets:write"]).post("/api/v1/tickets", json={
        "subject": "", "body": "", "priority": "whenever", "cc": ["not an address"], "requester_email": "nobody",
        "details": {"server_ip": "999.1.1.1"}, "department": 99999})
    assert response.status_code == 422
    assert problem_of(response)["status"] == 422
    assert pointers(response) == {"#/subject", "#/body", "#/priority", "#/cc", "#/requester_email",
                                  "#/details/server_ip", "#/department"}
    shape = as_user(agent, ["tickets:write"]).post("/api/v1/tickets", json={"subject": 7, "colour": "red"})
    assert shape.status_code == 422 and pointers(shape) == {"#/subject", "#/body", "#/colour"}
    _fresh()
    assert Ticket.query.count() == 0


# --------------------------------------------------------------------------- changes

def test_if_match_lets_one_of_two_clients_change_the_ticket(app, as_user, agent, token_for, ticket):
    client = as_user(agent, ["tickets:read", "tickets:write"])
    etag = client.get(f"/api/v1/tickets/{ticket.number}").headers["ETag"]  # both clients read the same version
    first = client.patch(f"/api/v1/tickets/{ticket.number}", json={"priority": "urgent", "assignee": agent.id},
                         headers={"If-Match": etag})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["priority"] == "urgent" and first.get_json()["assignee"]["id"] == agent.id
    assert first.headers["ETag"] != etag
    _fresh()
    client.token = token_for(agent, ["tickets:read", "tickets:write"])  # the second client
    stale = client.patch(f"/api/v1/tickets/{ticket.number}", json={"priority": "low"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert problem_of(stale)["status"] == 412
    assert client.get(f"/api/v1/tickets/{ticket.number}").get_json()["priority"] == "urgent"
    fresh = client.patch(f"/api/v1/tickets/{ticket.number}", json={"status": "in_progress"},
                         headers={"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.get_json()["status"] == "in_progress"


def test_a_customer_changes_the_subject_but_not_the_status(as_user, customer, ticket):
    client = as_user(customer, ["tickets:write"])
    response = client.patch(f"/api/v1/tickets/{ticket.number}", json={"subject": "The printer burns"})
    assert response.status_code == 200 and response.get_json()["subject"] == "The printer burns"
    assert client.patch(f"/api/v1/tickets/{ticket.number}", json={"status": "closed"}).status_code == 403
    nothing = client.patch(f"/api/v1/tickets/{ticket.number}", json={})
    assert nothing.status_code == 422


def test_close_and_reopen(as_user, customer, ticket):
    client = as_user(customer, ["tickets:write"])
    closed = client.post(f"/api/v1/tickets/{ticket.number}/close")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["closed_at"] is not None
    again = client.post(f"/api/v1/tickets/{ticket.number}/close")
    assert again.status_code == 409 and problem_of(again)["type"].endswith("conflict")
    reopened = client.post(f"/api/v1/tickets/{ticket.number}/reopen")
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"


def test_an_agent_merges_one_ticket_into_another(as_user, agent, customer, ticket):
    other = service.open_ticket(customer, subject="Printer again", body_text="Still burning.", acknowledge=False)
    client = as_user(agent, ["tickets:read", "tickets:write"])
    response = client.post(f"/api/v1/tickets/{other.number}/merge", json={"into": ticket.number})
    assert response.status_code == 200 and response.get_json()["number"] == ticket.number
    source = client.get(f"/api/v1/tickets/{other.number}").get_json()
    assert source["merged_into"] == ticket.number and source["status"] == "closed"
    bodies = [m["body_text"] for m in client.get(f"/api/v1/tickets/{ticket.number}/messages").get_json()["items"]]
    assert "Still burning." in bodies
    itself = client.post(f"/api/v1/tickets/{ticket.number}/merge", json={"into": ticket.number})
    assert itself.status_code == 422 and pointers(itself) == {"#/into"}
    nowhere = client.post(f"/api/v1/tickets/{ticket.number}/merge", json={"into": 999999})
    assert nowhere.status_code == 422 and pointers(nowhere) == {"#/into"}


# --------------------------------------------------------------------------- messages

def test_replies_notes_and_the_thread_as_each_side_sees_it(as_user, agent, customer, ticket, token_for):
    client = as_user(agent, ["tickets:read", "tickets:write"])
    reply = client.post(f"/api/v1/tickets/{ticket.number}/replies", json={"body": "We are on our way."})
    assert reply.status_code == 201, reply.get_data(as_text=True)
    assert reply.get_json()["kind"] == "reply" and reply.get_json()["author"]["id"] == agent.id
    note = client.post(f"/api/v1/tickets/{ticket.number}/notes", json={"body": "Bring an extinguisher."})
    assert note.status_code == 201 and note.get_json()["kind"] == "note"
    assert client.get(f"/api/v1/tickets/{ticket.number}").get_json()["status"] == "answered"
    thread = client.get(f"/api/v1/tickets/{ticket.number}/messages").get_json()
    assert [m["kind"] for m in thread["items"]] == ["note", "reply", "customer"]
    _fresh()
    client.token = token_for(customer, ["tickets:read", "tickets:write"])
    answer = client.post(f"/api/v1/tickets/{ticket.number}/replies",
                         json={"body": "Thanks!", "body_html": "<p>Thanks!<script>x()</script></p>"})
    assert answer.status_code == 201 and answer.get_json()["kind"] == "customer"
    assert "<script" not in answer.get_json()["body_html"]
    assert client.get(f"/api/v1/tickets/{ticket.number}").get_json()["status"] == "open"
    seen = client.get(f"/api/v1/tickets/{ticket.number}/messages?limit=2").get_json()
    assert [m["kind"] for m in seen["items"]] == ["customer", "reply"]
    rest = client.get(f"/api/v1/tickets/{ticket.number}/messages?limit=2&after={seen['next_cursor']}").get_json()
    assert [m["kind"] for m in rest["items"]] == ["customer"] and rest["next_cursor"] is None
    assert client.post(f"/api/v1/tickets/{ticket.number}/notes", json={"body": "Sneaky"}).status_code == 403
    status = client.post(f"/api/v1/tickets/{ticket.number}/replies", json={"body": "x", "status": "closed"})
    assert status.status_code == 422 and pointers(status) == {"#/status"}


def test_a_reply_with_no_body_lists_the_field(as_user, agent, ticket):
    client = as_user(agent, ["tickets:write"])
    response = client.post(f"/api/v1/tickets/{ticket.number}/replies", json={"body": "   "})
    assert response.status_code == 422 and pointers(response) == {"#/body"}
    missing = client.post(f"/api/v1/tickets/{ticket.number}/replies", json={"text": "hi"})
    assert missing.status_code == 422 and pointers(missing) == {"#/body", "#/text"}


def test_an_attachment_uploaded_with_a_reply_downloads(as_user, agent, customer, ticket, token_for):
    client = as_user(customer, ["tickets:read", "tickets:write"])
    response = client.post(f"/api/v1/tickets/{ticket.number}/replies", data={
        "body": "The log, and a photo.",
        "attachments": [(io.BytesIO(b"line one\nline two\n"), "printer log.txt", "text/plain"),
                        (io.BytesIO(b"\x89PNG fake"), "smoke.png", "image/png")]},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    files = response.get_json()["attachments"]
    assert [(f["filename"], f["size"]) for f in files] == [("printer log.txt", 18), ("smoke.png", 9)]
    download = client.get(files[0]["url"])
    assert download.status_code == 200 and download.data == b"line one\nline two\n"
    assert download.mimetype == "text/plain"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "printer" in download.headers["Content-Disposition"]


def test_programs_and_empty_files_are_refused_each_by_name(as_user, customer, ticket):
    response = as_user(customer, ["tickets:write"]).post(f"/api/v1/tickets/{ticket.number}/replies", data={
        "body": "Files.", "attachments": [(io.BytesIO(b"MZ\x90\x00"), "setup.exe"), (io.BytesIO(b""), "empty.txt"),
                                          (io.BytesIO(b"fine"), "fine.txt")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert pointers(response) == {"#/attachments/0", "#/attachments/1"}


# --------------------------------------------------------------------------- copies and search

def test_copies_are_added_listed_and_removed(as_user, customer, ticket):
    client = as_user(customer, ["tickets:read", "tickets:write"])
    added = client.post(f"/api/v1/tickets/{ticket.number}/cc", json={"emails": ["boss@example.test"]})
    assert added.status_code == 201
    assert {(p["email"], p["role"]) for p in added.get_json()["items"]} == {(customer.email, "requester"),
                                                                          ("boss@example.test", "cc")}
    bad = client.post(f"/api/v1/tickets/{ticket.number}/cc", json={"emails": ["nope"]})
    assert bad.status_code == 422 and pointers(bad) == {"#/emails"}
    removed = client.delete(f"/api/v1/tickets/{ticket.number}/cc?email=boss@example.test")
    assert removed.status_code == 204
    assert [p["email"] for p in client.get(f"/api/v1/tickets/{ticket.number}/cc").get_json()["items"]] == \
        [customer.email]
    requester = client.delete(f"/api/v1/tickets/{ticket.number}/cc?email={customer.email}")
    assert requester.status_code == 422 and pointers(requester) == {"email"}


def test_search_finds_what_the_console_finds_and_no_more(as_user, agent, customer, make_user, ticket):
    service.add_internal_note(agent, ticket, body_text="The toner is counterfeit.")
    other = make_user("customer")
    service.open_ticket(other, subject="Printer of someone else", body_text="Smoke too.", acknowledge=False)
    client = as_user(agent, ["tickets:read"])
    found = client.get("/api/v1/search?q=counterfeit").get_json()
    assert [hit["ticket"]["number"] for hit in found["items"]] == [ticket.number] and found["total"] == 1
    client = as_user(customer, ["tickets:read"])
    assert client.get("/api/v1/search?q=counterfeit").get_json()["items"] == []  # notes are for agents
    mine = client.get("/api/v1/search?q=smoke").get_json()
    assert [hit["ticket"]["number"] for hit in mine["items"]] == [ticket.number]
    assert client.get("/api/v1/search").status_code == 422
    bad = client.get("/api/v1/search?q=smoke&department=abc&assignee=99999999999")
    assert bad.status_code == 422 and pointers(bad) == {"department", "assignee"}


def test_a_ticket_opened_through_the_api_is_acknowledged_by_mail(as_user, customer, smtp):
    response = _open(as_user(customer, ["tickets:write"]), subject="Acknowledge me")
    assert response.status_code == 201
    messages = smtp.wait_for(1)
    mine = [m for m in messages if customer.email in str(m["To"])]
    assert mine and str(response.get_json()["number"]) in str(mine[0]["Subject"])


@pytest.mark.backends("postgresql")  # row locks: two requests at once, as two clients would send them
def test_two_clients_changing_at_once_with_the_same_etag_one_gets_412(app, backend, api_client, agent, token_for,
                                                                      ticket):
    import threading

    if backend != "postgresql":
        pytest.skip("SQLite has no row locks: a second writer at once is refused, not made to wait")

    tokens = [token_for(agent, ["tickets:read", "tickets:write"]) for _ in range(2)]
    api_client.token = tokens[0]
    etag = api_client.get(f"/api/v1/tickets/{ticket.number}").headers["ETag"]
    number = ticket.number  # read here: the threads must not load through the test's session
    db.session.commit()
    barrier, answers = threading.Barrier(2), []

    def change(token, priority):
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            with app.app_context():
                response = client.patch(f"/api/v1/tickets/{number}", json={"priority": priority},
                                        headers={"Authorization": f"Bearer {token}", "If-Match": etag})
                answers.append((response.status_code, priority))
                db.session.remove()
        except Exception as exc:  # shown by the assertion below
            answers.append((exc, priority))

    threads = [threading.Thread(target=change, args=(token, priority))
               for token, priority in zip(tokens, ("urgent", "low"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(str(code) for code, _ in answers) == ["200", "412"], answers
    winner = next(priority for code, priority in answers if code == 200)
    assert api_client.get(f"/api/v1/tickets/{number}").get_json()["priority"] == winner


def test_a_reply_with_files_sent_twice_with_one_key_is_added_once(as_user, customer, ticket):
    client = as_user(customer, ["tickets:read", "tickets:write"])

    def send():
        return client.post(f"/api/v1/tickets/{ticket.number}/replies", headers={"Idempotency-Key": "reply-1"},
                           data={"body": "The log.", "attachments": [(io.BytesIO(b"log"), "log.txt")]},
                           content_type="multipart/form-data")

    first, second = send(), send()
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    thread = client.get(f"/api/v1/tickets/{ticket.number}/messages").get_json()["items"]
    assert [m["body_text"] for m in thread] == ["The log.", "Smoke comes out of the tray."]
