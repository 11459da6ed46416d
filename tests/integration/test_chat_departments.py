"""Chats follow the tickets' department rule, on both databases: an agent of another department does not see a
chat sent to Billing waiting, cannot open, accept or find it, and the customer panel beside a chat lists only the
tickets the agent may open; the department's own agent, an agent in no department and an admin reach it."""
import pytest

from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.chat import service
from helpdesk.errors import NotFound
from helpdesk.tickets import departments
from helpdesk.tickets import service as tickets
from tests.conftest import log_in


@pytest.fixture
def billing(app):
    return departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test",
                                         reply_from_address="billing@example.test")


def test_an_agent_of_another_department_neither_sees_nor_reaches_the_chat(app, agent, billing, make_user):
    biller = make_user("agent", email="bea@example.test", full_name="Bea Biller")
    departments.add_agent_to_department(SYSTEM, billing, biller)
    loner = make_user("agent", email="lou@example.test", full_name="Lou Loner")  # in no department: reaches all
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    chat, _ = service.start_chat(GUEST_FORM, name="Gina Guest", email="gina@example.test", department=billing,
                                 message="My invoice 2026-0042 is charged twice")
    chat_id = chat.id

    assert [c.id for c in service.waiting_chats(agent)] == []
    with pytest.raises(NotFound):
        service.get_chat(agent, chat_id)
    with pytest.raises(NotFound):
        service.accept(agent, service.get_chat(biller, chat_id))
    assert service.search_chats(agent, "invoice") == []

    for reacher in (biller, loner, admin):
        assert [c.id for c in service.waiting_chats(reacher)] == [chat_id]
        assert [c.id for c in service.search_chats(reacher, "invoice")] == [chat_id]
    service.accept(biller, service.get_chat(biller, chat_id))
    assert service.get_chat(biller, chat_id).agent_id == biller.id


def test_the_customer_panel_lists_only_tickets_the_agent_may_open(app, client, agent, department, billing,
                                                                   customer):
    tickets.open_ticket(customer, subject="Server down", body_text="Help", department=department, acknowledge=False)
    tickets.open_ticket(customer, subject="Refund my card", body_text="Please", department=billing,
                        acknowledge=False)
    chat, _ = service.start_chat(customer, message="Hello")
    service.set_availability(agent, "online")
    service.accept(agent, service.get_chat(agent, chat.id))
    chat_id = chat.id

    log_in(client, agent.email)
    answer = client.get(f"/chat/desk/chats/{chat_id}")
    assert answer.status_code == 200
    assert [t["subject"] for t in answer.get_json()["customer"]["tickets"]] == ["Server down"]
