"""Linking a ticket's requester to another customer and the ticket to an organisation, on both databases: through
the service (rules, events, audit rows, clear errors) and the workspace's side panel."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import customers, departments, service
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.models import SYSTEM_EVENT, Ticket
from tests.conftest import csrf_token, log_in


def fresh(ticket):
    db.session.rollback()
    return db.session.get(Ticket, ticket.id)


def roles(ticket):
    return {p.email: p.role for p in fresh(ticket).participants}


def events(ticket):
    return [describe_event(m.event) for m in fresh(ticket).messages if m.kind == SYSTEM_EVENT]


def audit_actions(ticket):
    return db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "ticket",
                                                                 AuditEvent.entity_id == ticket.id)
                              .order_by(AuditEvent.id)).all()


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


@pytest.fixture
def ticket(agent, department):
    # Opened by an agent for a sender whose real account is another one.
    return service.open_ticket(agent, subject="Order 1234 missing", body_text="Forwarded from the shop.",
                               requester_email="shop-forms@example.test", department=department.id,
                               acknowledge=False)


@pytest.fixture
def acme():
    return accounts.create_organisation(SYSTEM, name="Acme Ltd", customer_number="C-1001")


# --------------------------------------------------------------------------- the requester

def test_an_existing_customer_becomes_the_requester_and_the_old_one_stays_in_copy(agent, customer, ticket):
    customers.change_requester(agent, ticket, "Carla@Example.test")

    ticket = fresh(ticket)
    assert ticket.requester.email == "carla@example.test"
    assert roles(ticket) == {"carla@example.test": "requester", "shop-forms@example.test": "cc"}
    assert "The requester changed from shop-forms@example.test to carla@example.test." in events(ticket)
    assert "requester-changed" in audit_actions(ticket)


def test_an_unknown_address_gets_a_new_customer_record(agent, ticket):
    customers.change_requester(agent, ticket, "newbie@example.test", "Nina Newbie")

    user = db.session.scalar(sa.select(User).where(User.email == "newbie@example.test"))
    assert (user.role, user.full_name) == ("customer", "Nina Newbie")
    assert fresh(ticket).requester_id == user.id


def test_a_cc_who_becomes_the_requester_is_not_listed_twice(agent, customer, department):
    ticket = service.open_ticket(agent, subject="Hi", body_text="Hi.", requester_email="first@example.test",
                                 cc=["carla@example.test"], department=department.id, acknowledge=False)

    customers.change_requester(agent, ticket, customer)

    assert roles(ticket) == {"first@example.test": "cc", "carla@example.test": "requester"}


def test_the_ticket_takes_the_new_requesters_organisation(agent, make_user, ticket, acme):
    member = make_user("customer", email="member@acme.test", organisation=acme)

    customers.change_requester(agent, ticket, member)

    assert fresh(ticket).organisation_id == acme.id


def test_staff_accounts_cannot_be_requesters(agent, ticket):
    with pytest.raises(ValidationFailed) as caught:
        customers.change_requester(agent, ticket, "agent@example.test")
    assert str(caught.value.errors["requester"]) == \
        "agent@example.test is a staff account; only customers can be requesters."


def test_an_invalid_address_is_refused(agent, ticket):
    with pytest.raises(ValidationFailed) as caught:
        customers.change_requester(agent, ticket, "not an address")
    assert str(caught.value.errors["requester"]) == "Enter a valid email address."


def test_customers_cannot_change_the_requester(customer, department):
    mine = service.open_ticket(customer, subject="Mine", body_text="Mine.", department=department.id,
                               acknowledge=False)
    with pytest.raises(NotAllowed):
        customers.change_requester(customer, mine, "other@example.test")


def test_agents_outside_the_department_cannot_change_the_requester(make_user, customer, ticket):
    billing = departments.create_department(SYSTEM, name="Billing")
    outsider = make_user("agent", email="outsider@example.test")
    departments.add_agent_to_department(SYSTEM, billing, outsider)

    with pytest.raises(NotFound):
        customers.change_requester(outsider, ticket, customer)


# --------------------------------------------------------------------------- the organisation

@pytest.mark.parametrize("query", ["C-1001", "acme ltd", "  Acme   Ltd "])
def test_organisation_is_found_by_customer_number_or_name(agent, ticket, acme, query):
    customers.set_organisation(agent, ticket, query)

    ticket = fresh(ticket)
    assert ticket.organisation_id == acme.id
    assert "Organisation set to Acme Ltd." in events(ticket)
    assert "organisation-changed" in audit_actions(ticket)


def test_a_requester_without_organisation_joins_it(agent, ticket, acme):
    customers.set_organisation(agent, ticket, acme)

    assert fresh(ticket).requester.organisation_id == acme.id


def test_a_requester_of_another_organisation_keeps_theirs(agent, make_user, department, acme):
    other = accounts.create_organisation(SYSTEM, name="Other GmbH")
    member = make_user("customer", email="member@other.test", organisation=other)
    ticket = service.open_ticket(member, subject="Hi", body_text="Hi.", department=department.id, acknowledge=False)

    customers.set_organisation(agent, ticket, "C-1001")

    ticket = fresh(ticket)
    assert (ticket.organisation_id, ticket.requester.organisation_id) == (acme.id, other.id)


def test_an_unknown_organisation_is_named_in_the_error(agent, ticket):
    with pytest.raises(ValidationFailed) as caught:
        customers.set_organisation(agent, ticket, "Nobody Inc")
    assert str(caught.value.errors["organisation"]) == "No organisation has the name or customer number Nobody Inc."


def test_two_organisations_of_the_same_name_ask_for_the_customer_number(agent, ticket, acme):
    accounts.create_organisation(SYSTEM, name="Acme Ltd", customer_number="C-2002")

    with pytest.raises(ValidationFailed) as caught:
        customers.set_organisation(agent, ticket, "Acme Ltd")
    assert "enter the customer number instead" in str(caught.value.errors["organisation"])
    customers.set_organisation(agent, fresh(ticket), "C-2002")
    assert fresh(ticket).organisation.customer_number == "C-2002"


def test_an_empty_organisation_unlinks_the_ticket(agent, ticket, acme):
    customers.set_organisation(agent, ticket, acme)

    customers.set_organisation(agent, fresh(ticket), "")

    assert fresh(ticket).organisation_id is None
    assert "Organisation Acme Ltd removed." in events(ticket)


# --------------------------------------------------------------------------- the workspace's side panel

@pytest.fixture
def as_agent(client, agent):
    log_in(client, "agent@example.test")
    return client


def post(client, ticket, action, data):
    page = client.get(f"/agent/tickets/{ticket.number}").text
    return client.post(f"/agent/tickets/{ticket.number}/{action}", data={"csrf_token": csrf_token(page), **data})


def test_side_panel_changes_the_requester(as_agent, customer, ticket):
    answer = post(as_agent, ticket, "requester", {"requester_email": "carla@example.test", "requester_name": ""})

    assert answer.status_code == 302
    page = as_agent.get(answer.headers["Location"]).text
    assert "carla@example.test is now the requester." in page
    assert fresh(ticket).requester.email == "carla@example.test"


def test_side_panel_answers_a_staff_address_beside_the_field(as_agent, ticket):
    answer = post(as_agent, ticket, "requester", {"requester_email": "agent@example.test"})

    assert answer.status_code == 400
    assert field_error(answer.text, "requester_email") == \
        "agent@example.test is a staff account; only customers can be requesters."


def test_side_panel_links_the_organisation_and_shows_it(as_agent, ticket, acme):
    answer = post(as_agent, ticket, "organisation", {"organisation": "C-1001"})

    assert answer.status_code == 302
    page = as_agent.get(answer.headers["Location"]).text
    assert "The ticket belongs to Acme Ltd now." in page
    assert '<dd class="organisation"><bdi dir="auto">Acme Ltd</bdi></dd>' in page


def test_side_panel_answers_an_unknown_organisation_beside_the_field(as_agent, ticket):
    answer = post(as_agent, ticket, "organisation", {"organisation": "Nobody Inc"})

    assert answer.status_code == 400
    assert field_error(answer.text, "organisation") == "No organisation has the name or customer number Nobody Inc."
