"""Issue 15's ticket behaviour, through the ticket store and the Flask test client on both databases: the details
given with a ticket as its fields (checked by the store, shown on both ticket pages, filtered in the queue, found
by search), customers moving tickets between departments, a subject change in the customer's history, and the
customer's page of a merged ticket."""
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.search import index as search
from helpdesk.tickets import departments, details, merge, service
from helpdesk.tickets.models import IN_PROGRESS, Ticket
from tests.conftest import csrf_token, log_in

TRACEROUTE = ("traceroute to 203.0.113.7 (203.0.113.7), 30 hops max\n"
              " 1  gw.example.net (192.0.2.1)  0.412 ms  0.377 ms\n"
              " 2  * * *\n"
              " 3  <script>alert(1)</script>  12.1 ms")


def fresh(ticket):
    db.session.rollback()  # end the snapshot: the request committed in its own session
    return db.session.get(Ticket, ticket.id)


def token(client, path):
    return csrf_token(client.get(path).text)


def submit(client, **fields):
    data = {"csrf_token": token(client, "/tickets/new"), "subject": "Web server unreachable",
            "description": "Our web server does not answer since this morning.", "priority": "normal",
            "department": "", "problem_timezone": "Europe/Berlin", **fields}
    return client.post("/tickets/new", data=data, content_type="multipart/form-data")


def only_ticket():
    db.session.rollback()
    return db.session.scalars(sa.select(Ticket)).one()


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def dd(page, css_class):
    match = re.search(rf'<dd class="{css_class}"[^>]*>(.*?)</dd>', page, re.S)
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else None


def set_timezone(user, zone):
    user.timezone = zone
    db.session.commit()


@pytest.fixture
def other_department(app):
    return departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test",
                                         reply_from_address="billing@example.test")


@pytest.fixture
def customer_ticket(customer, department):
    return service.open_ticket(customer, subject="Mail does not arrive", body_text="Since Monday.",
                               department=department)


# --------------------------------------------------------------------------- details: the ticket store's rules

def test_details_are_stored_as_fields_checked_by_the_store(customer):
    ticket = service.open_ticket(customer, subject="Down", body_text="It is down.", details={
        "reference": "  ORD-2024-118 ", "server_ip": " 2001:DB8:0:0::1 ", "problem_started": "2026-01-10T09:30",
        "problem_timezone": "Asia/Tehran", "diagnostics": TRACEROUTE + "\n\n"})
    facts = ticket.details
    assert facts.reference == "ORD-2024-118"
    assert facts.server_ip == "2001:db8::1"  # normalised, as the queue filter compares it
    assert facts.problem_started_at == datetime(2026, 1, 10, 6, 0, tzinfo=UTC)  # Tehran is UTC+3:30
    assert facts.problem_timezone == "Asia/Tehran"
    assert facts.diagnostics == TRACEROUTE  # as typed, line breaks and spacing kept
    assert ticket.messages[0].body_text == "It is down."


def test_every_bad_detail_is_reported_at_once_and_nothing_is_opened(customer):
    with pytest.raises(ValidationFailed) as caught:
        service.open_ticket(customer, subject="Down", body_text="It is down.", details={
            "server_ip": "300.1.2.3", "problem_started": "yesterday", "reference": "x" * 101,
            "diagnostics": "x" * (details.DIAGNOSTICS_MAX + 1), "service": "hosting-1"})
    errors = {name: str(message) for name, message in caught.value.errors.items()}
    assert errors == {
        "server_ip": "Enter an IPv4 or IPv6 address, such as 203.0.113.7.",
        "problem_started": "Enter a date and time, such as 2026-11-24 09:30.",
        "reference": "At most 100 characters.",
        "diagnostics": "The diagnostics may be at most 20000 characters; attach longer output as a file.",
        "service": "Choose one of your services from the list.",
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_a_moment_needs_a_time_zone_and_may_not_lie_in_the_future(customer):
    with pytest.raises(ValidationFailed) as caught:
        service.open_ticket(customer, subject="Down", body_text="x",
                            details={"problem_started": datetime(2026, 1, 10, 9, 30)})
    assert str(caught.value.errors["problem_timezone"]) == "Choose a time zone from the list."
    with pytest.raises(ValidationFailed) as caught:
        service.open_ticket(customer, subject="Down", body_text="x",
                            details={"problem_started": datetime.now(UTC) + timedelta(hours=2)})
    assert str(caught.value.errors["problem_started"]) == "That time is in the future."
    aware = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
    ticket = service.open_ticket(customer, subject="Down", body_text="x", details={"problem_started": aware})
    assert ticket.details.problem_started_at == aware and ticket.details.problem_timezone is None


def test_a_ticket_without_details_has_no_details_row(customer):
    ticket = service.open_ticket(customer, subject="Down", body_text="x",
                                 details={"reference": " ", "server_ip": "", "problem_timezone": "UTC"})
    assert ticket.details is None


def test_unknown_detail_names_are_a_programming_error(customer):
    with pytest.raises(TypeError):
        service.open_ticket(customer, subject="Down", body_text="x", details={"colour": "blue"})


def test_no_services_to_pick_until_billing_provides_them(customer, monkeypatch):
    assert details.customer_services(customer) == []  # issue 16 fills this through provide_services
    monkeypatch.setattr(details, "_service_sources", [])
    details.provide_services(lambda who: [details.CustomerService("hosting-1", f"Web hosting for {who.full_name}")])
    assert details.customer_services(customer) == [details.CustomerService("hosting-1",
                                                                           "Web hosting for Carla Customer")]
    assert details.customer_services(SYSTEM) == []  # guests and the system pick no service
    ticket = service.open_ticket(customer, subject="Down", body_text="x", details={"service": "hosting-1"})
    assert (ticket.details.service_ref, ticket.details.service_label) == ("hosting-1",
                                                                          "Web hosting for Carla Customer")


# --------------------------------------------------------------------------- details: the pages

def test_customer_form_stores_the_details_and_both_ticket_pages_show_them_labelled(client, customer, agent):
    set_timezone(customer, "America/New_York")
    set_timezone(agent, "Asia/Tokyo")
    log_in(client, "carla@example.test")
    page = client.get("/tickets/new").text
    assert 'name="diagnostics"' in page
    assert 'name="service"' not in page  # no billing yet: no services to pick
    response = submit(client, reference="ORD-2024-118", server_ip="203.0.113.7",
                      problem_started="2026-01-10T09:30", diagnostics=TRACEROUTE)
    assert response.status_code == 302
    ticket = only_ticket()
    assert ticket.messages[0].body_text == "Our web server does not answer since this morning."

    page = client.get(f"/tickets/{ticket.number}").text
    assert "Details given with the ticket" in page
    assert dd(page, "detail-reference") == "ORD-2024-118"
    assert dd(page, "detail-server-ip") == "203.0.113.7"
    # 09:30 in Berlin is 08:30 UTC: 3:30 for the customer in New York, the zone they gave it in beside it.
    started = dd(page, "detail-problem-started")
    assert "3:30" in started and "(given in the time zone Germany (Berlin))" in started
    assert '<pre class="diagnostics" dir="auto" tabindex="0">traceroute to 203.0.113.7' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page

    client.post("/logout", data={"csrf_token": csrf_token(page)})
    log_in(client, "agent@example.test")
    page = client.get(f"/agent/tickets/{ticket.number}").text
    assert dd(page, "detail-reference") == "ORD-2024-118"
    assert dd(page, "detail-server-ip") == "203.0.113.7"
    assert "17:30" in dd(page, "detail-problem-started") or "5:30" in dd(page, "detail-problem-started")  # Tokyo
    assert "0.412 ms  0.377 ms" in page  # diagnostics keep their spacing


def test_details_labels_follow_the_readers_language(client, customer):
    ticket = service.open_ticket(customer, subject="Down", body_text="x",
                                 details={"server_ip": "203.0.113.7", "reference": "ORD-1"})
    customer.locale = "de"
    db.session.commit()
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{ticket.number}").text
    assert "Angaben zum Ticket" in page
    assert "<dt>IP-Adresse des Servers</dt>" in page and dd(page, "detail-server-ip") == "203.0.113.7"
    assert "<dt>Bestell- oder Vertragsreferenz</dt>" in page


def test_guest_form_errors_in_the_details_show_beside_their_fields_with_the_others(client):
    response = submit(client, email="gina@guest.example", full_name="", company="Guest GmbH", privacy="y",
                      server_ip="300.1.2.3", diagnostics="x" * (details.DIAGNOSTICS_MAX + 1))
    assert response.status_code == 400
    assert field_error(response.text, "full_name") == "Enter your name."
    assert field_error(response.text, "server_ip") == "Enter an IPv4 or IPv6 address, such as 203.0.113.7."
    assert field_error(response.text, "diagnostics").startswith("The diagnostics may be at most 20000 characters")


def test_the_service_picker_lists_the_customers_services_once_there_are_any(client, customer, monkeypatch):
    monkeypatch.setattr(details, "_service_sources", [
        lambda who: [details.CustomerService("vps-7", "VPS vps-7.example.net")]])
    log_in(client, "carla@example.test")
    page = client.get("/tickets/new").text
    assert re.search(r'<select[^>]* name="service"', page) and "VPS vps-7.example.net" in page
    assert submit(client, service="vps-7").status_code == 302
    ticket = only_ticket()
    assert dd(client.get(f"/tickets/{ticket.number}").text, "detail-service") == "VPS vps-7.example.net"
    assert field_error(submit(client, service="someone-elses").text, "service") == (
        "Choose one of your services from the list.")


def test_existing_tickets_without_details_show_no_details_card(client, customer, customer_ticket):
    log_in(client, "carla@example.test")
    assert "Details given with the ticket" not in client.get(f"/tickets/{customer_ticket.number}").text


# --------------------------------------------------------------------------- details: queue and search

@pytest.fixture
def tickets_with_details(customer, department):
    def open_with(subject, **facts):
        return service.open_ticket(customer, subject=subject, body_text="x", department=department, details=facts)

    return (open_with("With an IP", server_ip="203.0.113.7", reference="ORD-2024-118"),
            open_with("Other IP", server_ip="198.51.100.20", reference="SRV-77"),
            open_with("No details"))


def queue_numbers(client, **args):
    page = client.get("/agent/", query_string=args).text
    return sorted(int(n) for n in re.findall(r'id="select-(\d+)"', page))


def test_queue_filters_by_server_ip_and_reference(client, agent, tickets_with_details):
    with_ip, other_ip, _plain = tickets_with_details
    log_in(client, "agent@example.test")
    assert queue_numbers(client) == sorted(t.number for t in tickets_with_details)
    assert queue_numbers(client, server_ip="any") == sorted([with_ip.number, other_ip.number])
    assert queue_numbers(client, server_ip="198.51.100.20") == [other_ip.number]
    assert queue_numbers(client, reference="ord-2024") == [with_ip.number]  # its beginning, in any case
    assert queue_numbers(client, reference="SRV-77", server_ip="any") == [other_ip.number]
    assert queue_numbers(client, reference="100%_") == []
    page = client.get("/agent/", query_string={"server_ip": "not-an-ip"}, follow_redirects=True).text
    assert "Enter an IPv4 or IPv6 address, such as 203.0.113.7." in page
    page = client.get("/agent/", query_string={"server_ip": "any", "reference": "ORD"}).text
    assert 'id="filter-server-ip" name="server_ip" type="checkbox" value="any" checked' in page
    assert 'name="reference" type="search" maxlength="100" dir="auto"\n               value="ORD"' in page


def test_search_finds_a_ticket_by_its_server_ip_order_reference_or_diagnostics(agent, customer, department):
    ticket = service.open_ticket(customer, subject="Down", body_text="Nothing works.", department=department,
                                 details={"server_ip": "203.0.113.7", "reference": "ORD-2024-118",
                                          "diagnostics": TRACEROUTE})
    service.open_ticket(customer, subject="Unrelated", body_text="Nothing works either.", department=department)
    for words in ("203.0.113.7", "ORD-2024-118", "gw.example.net"):
        assert [hit.number for hit in search.search_tickets(agent, words)] == [ticket.number], words
    hit = search.search_tickets(agent, "203.0.113.7")[0]
    assert "<mark>203.0.113.7</mark>" in hit.highlights["details"]
    # Customers find their own ticket by it too.
    assert [hit.number for hit in search.search_tickets(customer, "ORD-2024-118")] == [ticket.number]


# --------------------------------------------------------------------------- moving between departments

def post_edit(client, ticket, **fields):
    data = {"csrf_token": token(client, f"/tickets/{ticket.number}"), **fields}
    return client.post(f"/tickets/{ticket.number}/edit", data=data)


def test_customer_moves_an_untouched_ticket_to_another_department(client, customer, customer_ticket,
                                                                  other_department):
    log_in(client, "carla@example.test")
    assert re.search(r'<select[^>]* name="department"', client.get(f"/tickets/{customer_ticket.number}").text)
    response = post_edit(client, customer_ticket, subject="Mail does not arrive", priority="normal",
                         department=str(other_department.id))
    assert response.status_code == 302
    assert fresh(customer_ticket).department_id == other_department.id


@pytest.mark.parametrize("taken_up", ["answered", "assigned", "in_progress"])
def test_once_an_agent_took_the_ticket_up_the_customer_cannot_move_it(client, agent, customer, customer_ticket,
                                                                       other_department, department, taken_up):
    if taken_up == "answered":
        service.add_agent_reply(agent, customer_ticket, body_text="Looking into it.")
    elif taken_up == "assigned":
        service.assign(agent, customer_ticket, agent)
    else:
        service.change_status(agent, customer_ticket, IN_PROGRESS)
    # The ticket store refuses it for every door ...
    with pytest.raises(ValidationFailed) as caught:
        service.change_department(customer, fresh(customer_ticket), other_department)
    assert "can no longer be moved to another department" in str(caught.value.errors["department"])

    # ... the portal no longer offers the field, and a form from before is refused beside it.
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{customer_ticket.number}").text
    assert 'name="department"' not in page
    assert "Our team is working on this ticket, so it stays in this department." in page
    response = post_edit(client, customer_ticket, subject="Mail does not arrive", priority="normal",
                         department=str(other_department.id))
    assert response.status_code == 400
    assert field_error(response.text, "department") == (
        "Our team is already working on this ticket, so it can no longer be moved to another department. "
        "Tell us in a reply if it belongs elsewhere.")
    assert fresh(customer_ticket).department_id == department.id
    # Subject and priority stay the customer's to change.
    response = post_edit(client, customer_ticket, subject="No mail since Monday", priority="high")
    assert response.status_code == 302
    changed = fresh(customer_ticket)
    assert (changed.subject, changed.priority, changed.department_id) == ("No mail since Monday", "high",
                                                                          department.id)
    # An agent still moves it.
    service.change_department(agent, changed, other_department)
    assert fresh(customer_ticket).department_id == other_department.id


def test_a_form_naming_the_current_department_is_no_move(client, agent, customer, customer_ticket, department):
    service.assign(agent, customer_ticket, agent)
    log_in(client, "carla@example.test")
    response = post_edit(client, customer_ticket, subject="Still no mail", priority="normal",
                         department=str(department.id))
    assert response.status_code == 302
    assert fresh(customer_ticket).subject == "Still no mail"


# --------------------------------------------------------------------------- a subject change in the history

def test_subject_changes_are_in_the_customers_history(client, agent, customer, customer_ticket):
    log_in(client, "carla@example.test")
    post_edit(client, customer_ticket, subject="No mail since Monday", priority="normal",
              department=str(customer_ticket.department_id))
    service.update_ticket(agent, fresh(customer_ticket), subject="Mail queue stuck on mx2")
    page = unescape(client.get(f"/tickets/{customer_ticket.number}").text)
    assert "Subject changed from “Mail does not arrive” to “No mail since Monday”." in page
    assert "Subject changed from “No mail since Monday” to “Mail queue stuck on mx2”." in page


# --------------------------------------------------------------------------- a merged ticket

@pytest.fixture
def merged(agent, customer, customer_ticket, department):
    target = service.open_ticket(customer, subject="Mail and calendar broken", body_text="Both.",
                                 department=department)
    merge.merge_ticket(agent, customer_ticket, target)
    return fresh(customer_ticket), target


def test_a_merged_ticket_takes_no_more_customer_messages(customer, merged):
    source, _target = merged
    with pytest.raises(service.TicketMerged):
        service.add_customer_message(customer, source, body_text="Any news?")


def test_the_customer_page_of_a_merged_ticket_links_the_target_instead_of_a_reply_form(client, customer, merged):
    source, target = merged
    log_in(client, "carla@example.test")
    page = client.get(f"/tickets/{source.number}").text
    assert 'id="reply"' not in page and 'name="body"' not in page
    assert f"This ticket was merged into ticket #{target.number}" in page
    assert f'href="/tickets/{target.number}"' in page

    response = client.post(f"/tickets/{source.number}/reply", data={"csrf_token": csrf_token(page),
                                                                    "body": "Any news?"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tickets/{source.number}#merged"
    page = client.get(f"/tickets/{source.number}").text
    assert "This ticket was merged into another ticket and takes no more replies. Reply on that ticket." in page
    assert "Any news?" not in page
    assert "Any news?" not in client.get(f"/tickets/{target.number}").text
