"""Ticket intake as any door uses it (here as an API door would, with source "api"): who may post on a
ticket, what a stranger, a CC, an agent outside the department, a reply to a long-closed ticket, an
unauthenticated sender and an agent's forward do to the ticket store."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import departments, intake, service
from helpdesk.tickets.models import AGENT_REPLY, CLOSED, CUSTOMER_MESSAGE, OPEN, Message, Ticket

LINK = intake.Policy(closed_new_ticket_after_days=30)
DEFAULT = intake.Policy()


@pytest.fixture
def app(app_factory):
    app = app_factory(SMTP_HOST="")
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def ticket(app, department, customer):
    opened = service.open_ticket(SYSTEM, subject="Printer on fire", body_text="Help", department=department,
                                 requester_email=customer.email, cc=["colin@example.test"], source="api")
    return opened


def _receive(sender, ticket=None, policy=DEFAULT, **arrival):
    arrival = {"subject": "About my ticket", "body_text": "More details", "source": "api", **arrival}
    return intake.receive(sender, intake.Arrival(ticket=ticket, **arrival), policy, via=SYSTEM)


def _last(ticket, kind):
    return [m for m in ticket.messages if m.kind == kind][-1]


def _message_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message))


def test_known_customer_posting_on_their_own_ticket_adds_their_message(ticket, customer):
    received = _receive(intake.Sender(customer.email, customer.full_name), ticket)
    assert (received.decision.action, received.ticket) == (intake.CUSTOMER_MESSAGE, ticket)
    last = _last(ticket, CUSTOMER_MESSAGE)
    assert (last.kind, last.author_email, last.body_text, last.source) == (
        CUSTOMER_MESSAGE, customer.email, "More details", "api")


def test_cc_participant_posts_on_the_ticket_and_copies_in_someone_new(ticket):
    received = _receive(intake.Sender("colin@example.test", "Colin"), ticket,
                        cc=("colin@example.test", "dora@example.test"))
    assert received.decision.action == intake.CUSTOMER_MESSAGE
    assert {p.email for p in ticket.participants} >= {"colin@example.test", "dora@example.test"}
    assert _last(ticket, CUSTOMER_MESSAGE).author_email == "colin@example.test"


def test_stranger_gets_a_new_ticket_linked_to_the_one_they_wrote_to(ticket):
    before = len(ticket.messages)
    received = _receive(intake.Sender("sam@example.test", "Sam"), ticket)
    new = received.ticket
    assert received.decision.action == intake.NEW_TICKET
    assert (new.linked_ticket, new.requester.email) == (ticket, "sam@example.test")
    assert len(ticket.messages) == before


def test_stranger_is_refused_and_nothing_written_when_the_policy_says_quarantine(ticket):
    count = _message_count()
    received = _receive(intake.Sender("sam@example.test"), ticket, intake.Policy(stranger_policy=intake.QUARANTINE))
    assert received.ticket is None
    assert (received.decision.reason, received.decision.params) == (
        intake.STRANGER, {"number": ticket.number, "sender": "sam@example.test"})
    assert _message_count() == count


def test_agent_of_the_department_replies_on_the_ticket(ticket, agent):
    received = _receive(intake.Sender(agent.email, agent.full_name, agent=agent), ticket)
    assert received.decision.action == intake.AGENT_REPLY
    assert (_last(ticket, AGENT_REPLY).author, _last(ticket, AGENT_REPLY).body_text.startswith("More details")) == (
        agent, True)


def test_agent_outside_the_department_does_not_speak_on_the_ticket(ticket, make_user):
    billing = departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test")
    outsider = make_user("agent", email="bea@example.test", full_name="Bea Billing")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    before = len(ticket.messages)
    received = _receive(intake.Sender(outsider.email, outsider.full_name, agent=outsider), ticket)
    assert received.decision.action == intake.NEW_TICKET
    assert received.ticket.linked_ticket == ticket
    assert len(ticket.messages) == before


def test_reply_to_a_long_closed_ticket_opens_a_linked_one_and_leaves_it_closed(ticket, customer):
    service.close(SYSTEM, ticket)
    ticket.closed_at = utcnow() - timedelta(days=45)
    db.session.commit()
    received = _receive(intake.Sender(customer.email), ticket, LINK)
    assert received.decision.action == intake.NEW_TICKET
    assert (received.ticket.linked_ticket, ticket.status) == (ticket, CLOSED)


def test_reply_to_a_recently_closed_ticket_reopens_it(ticket, customer):
    service.close(SYSTEM, ticket)
    received = _receive(intake.Sender(customer.email), ticket, LINK)
    assert received.decision.action == intake.CUSTOMER_MESSAGE
    assert ticket.status == OPEN


@pytest.mark.parametrize(("ambiguous", "reason"), [(False, intake.UNAUTHENTICATED), (True, intake.AMBIGUOUS_SENDER)])
def test_unauthenticated_sender_never_speaks_on_an_existing_ticket(ticket, customer, ambiguous, reason):
    count = _message_count()
    tickets = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    received = _receive(intake.Sender(customer.email, authenticated=False, ambiguous=ambiguous), ticket)
    assert (received.decision.reason, received.decision.params, received.ticket) == (
        reason, {"number": ticket.number}, None)
    assert _message_count() == count
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == tickets


def test_agent_forward_opens_a_ticket_for_the_original_sender(app, agent, department):
    received = _receive(intake.Sender(agent.email, agent.full_name, agent=agent),
                        forwarded_from=("Olga Original", "olga@example.test"), department=department,
                        cc=("agent@example.test", "olga@example.test", "pat@example.test"))
    new = received.ticket
    assert received.decision.opened_by_agent
    assert (new.requester.email, new.requester.full_name, new.department) == (
        "olga@example.test", "Olga Original", department)
    # Neither the forwarding agent nor the requester is copied in; the rest are.
    assert {p.email for p in new.participants} == {"olga@example.test", "pat@example.test"}
