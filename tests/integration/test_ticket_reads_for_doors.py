"""The permission-checked reads the API door added to tickets.access: a ticket's messages as each reader may see
them, and a ticket read under a row lock for a check-then-change."""
import pytest
import sqlalchemy as sa

from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.tickets import access, service


@pytest.fixture
def ticket(customer, agent, department):
    ticket = service.open_ticket(customer, subject="Router", body_text="It blinks.", department=department,
                                 acknowledge=False)
    service.add_agent_reply(agent, ticket, body_text="Unplug it.")
    service.add_internal_note(agent, ticket, body_text="Third time this month.")
    service.change_priority(agent, ticket, "high")  # a system event in the thread
    return ticket


def _kinds(actor, ticket):
    return [m.kind for m in db.session.scalars(access.visible_messages(actor, ticket).order_by(sa.text("id")))]


def test_customers_read_replies_and_messages_agents_notes_too_and_nobody_system_events(customer, agent, ticket):
    assert _kinds(customer, ticket) == ["customer", "agent_reply"]
    assert _kinds(agent, ticket) == ["customer", "agent_reply", "internal_note"]


def test_a_stranger_reads_no_messages(make_user, ticket):
    with pytest.raises(NotFound):
        access.visible_messages(make_user("customer"), ticket)


def test_a_ticket_read_for_update_is_the_same_ticket_and_hidden_from_strangers(customer, make_user, ticket):
    assert access.get_ticket(customer, ticket.number, for_update=True).id == ticket.id
    db.session.rollback()
    with pytest.raises(NotFound):
        access.get_ticket(make_user("customer"), ticket.number, for_update=True)
