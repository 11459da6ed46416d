"""Who may see and do what to which ticket, and permission-checked reads for every door."""
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_TICKETS, User
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.tickets.models import (
    AGENT_REPLY,
    CUSTOMER_MESSAGE,
    IN_PROGRESS,
    INTERNAL_NOTE,
    Attachment,
    Message,
    Participant,
    Ticket,
    department_agents,
)

# What a customer who can see a ticket may also do to it.
CUSTOMER_ACTIONS = frozenset({"reply", "cc", "edit", "close", "reopen"})
AGENT_ACTIONS = frozenset({"reply", "agent_reply", "note", "cc", "edit", "status", "assign", "close", "reopen"})


def _agent_department_ids(agent) -> set:
    return set(db.session.scalars(
        sa.select(department_agents.c.department_id).where(department_agents.c.user_id == agent.id)
    ))


def agent_in_scope(agent, ticket) -> bool:
    """Admins reach every ticket. An agent reaches tickets of their departments, tickets assigned to
    them and tickets without a department; an agent in no department reaches all (a one-team desk)."""
    if agent.is_admin:
        return True
    departments = _agent_department_ids(agent)
    return (not departments or ticket.department_id is None or ticket.department_id in departments
            or ticket.assignee_id == agent.id)


def agent_reaches_department(agent, department_id) -> bool:
    """Whether ``agent`` reaches what was sent to department ``department_id`` (None: to no department), by the
    tickets' rule: admins (and the system) reach all, an agent in no department reaches all."""
    if agent.is_system or agent.is_admin:
        return True
    departments = _agent_department_ids(agent)
    return not departments or department_id is None or department_id in departments


def shared_account_id(user) -> int | None:
    """The customer account whose tickets ``user`` sees beside their own (issue 18): the one they act for, when it
    shares tickets and their membership there allows tickets; None otherwise."""
    account_id = memberships.acting_account_id(user)
    if account_id is None:
        return None
    found = memberships.membership(user, account_id)
    if found is None or not found.account.share_tickets or not found.allows(PERM_TICKETS):
        return None
    return account_id


def customer_can_see(user, ticket) -> bool:
    if ticket.requester_unconfirmed:  # a guest typed someone's address: no customer's until confirmed
        return False
    if ticket.requester_id == user.id:
        return True
    if any(p.user_id == user.id or p.email == user.email for p in ticket.participants):
        return True
    if ticket.customer_account_id is not None and ticket.customer_account_id == shared_account_id(user):
        return True
    # Colleagues of an organisation that shares tickets, until its members share one customer account.
    org = user.organisation
    return bool(org and org.share_tickets and ticket.organisation_id == org.id)


def customer_may_move(ticket) -> bool:
    """Whether a customer may still move ``ticket`` to another department: only until an agent takes it up
    (answers it, is assigned it, or sets it in progress). After that the department's agents are working on
    it, and a move would take it out of their sight without telling them."""
    return ticket.first_response_at is None and ticket.assignee_id is None and ticket.status != IN_PROGRESS


def can_view(actor, ticket) -> bool:
    if actor.is_system:
        return True
    if actor.is_agent:
        return agent_in_scope(actor, ticket)
    if actor.is_customer:
        return customer_can_see(actor, ticket)
    return False


def require(actor, ticket, action: str):
    """Raise NotFound if ``actor`` may not see ``ticket``, NotAllowed if they may not do ``action``."""
    if not can_view(actor, ticket):
        raise NotFound()
    if actor.is_system:
        return
    allowed = AGENT_ACTIONS if actor.is_agent else CUSTOMER_ACTIONS
    if action not in allowed:
        raise NotAllowed()


def get_ticket(actor, number, *, for_update=False) -> Ticket:
    """The ticket with ``number`` if ``actor`` may see it; NotFound otherwise (existence is not revealed).
    ``for_update``: locked until the transaction ends, so a door can compare it with what its client read and
    change it without another change slipping in between (an API's If-Match)."""
    number = parse_id(number)
    if number is None:
        raise NotFound()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    if ticket is None or not can_view(actor, ticket):
        raise NotFound()
    if for_update:
        from helpdesk.tickets.changes import lock

        lock(ticket)
    return ticket


def visible_messages(actor, ticket):
    """A select of the messages of ``ticket`` that ``actor`` may read (callers add order and limits): replies,
    customer messages and, for agents and the system, internal notes; never the system events. The caller has
    read ``ticket`` through ``get_ticket``."""
    if not can_view(actor, ticket):
        raise NotFound()
    kinds = [CUSTOMER_MESSAGE, AGENT_REPLY]
    if actor.is_system or actor.is_agent:
        kinds.append(INTERNAL_NOTE)
    return sa.select(Message).where(Message.ticket_id == ticket.id, Message.kind.in_(kinds))


def get_attachment(actor, attachment_id) -> Attachment:
    """The attachment if ``actor`` may see its ticket and its message: customers never get the files of
    internal notes (nor files no longer tied to a message). NotFound otherwise."""
    attachment_id = parse_id(attachment_id)
    attachment = db.session.get(Attachment, attachment_id) if attachment_id is not None else None
    if attachment is None or not can_view(actor, attachment.ticket):
        raise NotFound()
    if not (actor.is_system or actor.is_agent):
        message = attachment.message
        if message is None or message.kind == INTERNAL_NOTE:
            raise NotFound()
    return attachment


def visible_tickets(actor):
    """A select of the tickets ``actor`` may see (for lists; callers add order and limits)."""
    query = sa.select(Ticket)
    if actor.is_system or actor.is_admin:
        return query
    if actor.is_agent:
        departments = _agent_department_ids(actor)
        if not departments:
            return query
        return query.where(sa.or_(
            Ticket.department_id.in_(departments), Ticket.department_id.is_(None), Ticket.assignee_id == actor.id,
        ))
    if actor.is_customer:
        as_participant = sa.select(Participant.ticket_id).where(
            sa.or_(Participant.user_id == actor.id, Participant.email == actor.email)
        )
        clauses = [Ticket.requester_id == actor.id, Ticket.id.in_(as_participant)]
        shared = shared_account_id(actor)
        if shared is not None:
            clauses.append(Ticket.customer_account_id == shared)
        org = actor.organisation
        if org is not None and org.share_tickets:
            clauses.append(Ticket.organisation_id == org.id)
        return query.where(sa.or_(*clauses), Ticket.requester_unconfirmed.is_(False))
    return query.where(sa.false())


def is_agent_user(user) -> bool:
    return isinstance(user, User) and user.is_agent


def require_agent(actor):
    if not (actor.is_system or actor.is_agent):
        raise NotAllowed()
