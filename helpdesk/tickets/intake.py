"""Ticket intake: what a message arriving through any door (mail, API, chat) does to the ticket store.
The door proves who sent it; the rules here decide whether it is a reply on a ticket, a new (maybe linked)
ticket or refused, and ``receive`` carries that out through the ticket service."""
from dataclasses import dataclass, field
from datetime import timedelta

from helpdesk.accounts import contacts
from helpdesk.db import utcnow
from helpdesk.tickets import access
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import CLOSED

# What a message does (Decision.action).
AGENT_REPLY = "agent_reply"
CUSTOMER_MESSAGE = "customer_message"
NEW_TICKET = "new_ticket"
REFUSE = "refuse"

# Why a message is refused (Decision.reason); the doors word them (the gateway as quarantine reasons).
UNAUTHENTICATED = "unauthenticated"
AMBIGUOUS_SENDER = "ambiguous_sender"
STRANGER = "stranger"

# MAIL_STRANGER_POLICY: what a message from someone not on the ticket does.
LINK_NEW_TICKET = "new_ticket"
QUARANTINE = "quarantine"

CC_MAX = 20  # copied-in addresses taken from one message


@dataclass(frozen=True)
class Policy:
    """The intake settings, read from the configuration once by the door."""

    closed_new_ticket_after_days: int = 0  # 0: a reply reopens a closed ticket however old
    stranger_policy: str = LINK_NEW_TICKET

    @classmethod
    def from_config(cls, config):
        return cls(closed_new_ticket_after_days=int(config.get("MAIL_CLOSED_NEW_TICKET_AFTER_DAYS") or 0),
                   stranger_policy=config.get("MAIL_STRANGER_POLICY") or LINK_NEW_TICKET)


@dataclass(frozen=True)
class Sender:
    """Who really sent a message, as far as the door could prove it."""

    email: str
    name: str = ""
    agent: object = None  # the agent (a User) when the door proved the message is theirs
    authenticated: bool = True  # the door vouches for the address (e.g. DMARC for mail, a login for the API)
    ambiguous: bool = False  # the message names more than one sender


@dataclass(frozen=True)
class Arrival:
    """What arrived: the ticket it threads to (None: none), its content and how to record it."""

    ticket: object = None
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    attachments: tuple = ()
    cc: tuple = ()  # addresses copied in, in order (the door leaves out its own addresses)
    message_id: str | None = None
    in_reply_to: str | None = None
    events: tuple = ()  # system events recorded with the message
    source: str = "web"
    acknowledge: bool = True  # whether a new ticket's requester is sent an acknowledgement
    forwarded_from: tuple | None = None  # (name, address) of the original sender when this is a forward
    department: object = None  # the department a new ticket goes to


@dataclass(frozen=True)
class Decision:
    """What a message does: ``action`` on ``ticket`` (for a new ticket: the one it is linked to, if any)."""

    action: str
    ticket: object = None
    requester_email: str | None = None
    requester_name: str = ""
    opened_by_agent: bool = False  # an agent's forward: the agent opens it for the original sender
    reason: str = ""
    params: dict = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.action == REFUSE


@dataclass(frozen=True)
class Received:
    """What ``receive`` did: the decision and the ticket written to (None when refused)."""

    decision: Decision
    ticket: object = None


# --------------------------------------------------------------------------- the rules, one decision each

def may_write(ticket, sender: Sender) -> bool:
    """An agent writes on tickets in their scope; anyone else only on a ticket they take part in
    (requester or CC, or a support address the requester confirmed), and only when the door vouches for
    their address."""
    if not sender.authenticated:
        return False
    if sender.agent is not None:
        return access.agent_in_scope(sender.agent, ticket)
    return any(p.email == sender.email for p in ticket.participants) or _requester_support_address(ticket, sender)


def _requester_support_address(ticket, sender: Sender) -> bool:
    """Ticket mail goes to the support addresses the requester confirmed; a reply from one of them is theirs."""
    requester = ticket.requester
    return (requester is not None and requester.is_customer and not ticket.requester_unconfirmed
            and contacts.is_confirmed_address(requester, contacts.PURPOSE_SUPPORT, sender.email))


def closed_too_long(ticket, policy: Policy, now=None) -> bool:
    """A ticket closed longer than the policy's days ago takes no more messages: they open a linked one."""
    days = policy.closed_new_ticket_after_days
    return bool(days and ticket.status == CLOSED and ticket.closed_at
                and ticket.closed_at < (now or utcnow()) - timedelta(days=days))


def refuse_unauthenticated(ticket, sender: Sender) -> Decision | None:
    """A sender the door could not vouch for never speaks on an existing ticket, nor opens a linked one
    (its acknowledgement would go to the forged address's real owner): an agent decides."""
    if sender.authenticated:
        return None
    reason = AMBIGUOUS_SENDER if sender.ambiguous else UNAUTHENTICATED
    return Decision(REFUSE, ticket, reason=reason, params={"number": ticket.number})


def stranger_action(ticket, sender: Sender, policy: Policy) -> Decision:
    """Someone not on the ticket: a new ticket linked to it, or refused if the policy says quarantine."""
    if policy.stranger_policy == QUARANTINE:
        return Decision(REFUSE, ticket, reason=STRANGER, params={"number": ticket.number, "sender": sender.email})
    return Decision(NEW_TICKET, ticket, requester_email=sender.email, requester_name=sender.name)


def reply_or_link(ticket, sender: Sender, policy: Policy, now=None) -> Decision:
    """On a ticket the sender may write on: a reply, or a linked new ticket when it was closed too long ago."""
    if closed_too_long(ticket, policy, now):
        return Decision(NEW_TICKET, ticket, requester_email=sender.email, requester_name=sender.name)
    return Decision(AGENT_REPLY if sender.agent is not None else CUSTOMER_MESSAGE, ticket)


def forward_requester(sender: Sender, forwarded_from) -> Decision:
    """A new ticket is the sender's own, but for an agent's forward: that opens it for the original sender."""
    if sender.agent is not None and forwarded_from is not None:
        name, address = forwarded_from
        return Decision(NEW_TICKET, requester_email=address, requester_name=name, opened_by_agent=True)
    return Decision(NEW_TICKET, requester_email=sender.email, requester_name=sender.name)


def decide(sender: Sender, arrival: Arrival, policy: Policy, now=None) -> Decision:
    """What a message from ``sender`` does: the rules above, in order. Writes nothing."""
    ticket = arrival.ticket
    if ticket is None:
        return forward_requester(sender, arrival.forwarded_from)
    if may_write(ticket, sender):
        return reply_or_link(ticket, sender, policy, now)
    return refuse_unauthenticated(ticket, sender) or stranger_action(ticket, sender, policy)


def cc_for(arrival: Arrival, exclude) -> list[str]:
    """The addresses a message copies in, but the sender's and the requester's, at most CC_MAX."""
    exclude = {e.lower() for e in exclude if e}
    result = []
    for address in arrival.cc:
        if address not in exclude and address not in result:
            result.append(address)
    return result[:CC_MAX]


# --------------------------------------------------------------------------- carrying it out

def prefetch_senders(users):
    """Before a batch of arrivals from ``users`` (already stored ones): the accounts their new tickets belong to
    and the addresses their acknowledgements go to, each kind in one query instead of one per sender."""
    from helpdesk.accounts import memberships

    users = [user for user in users if user is not None]
    memberships.prefetch_default_accounts(users)
    contacts.prefetch_confirmed(users, contacts.PURPOSE_SUPPORT)


def receive(sender: Sender, arrival: Arrival, policy: Policy, *, via, now=None, batch=None) -> Received:
    """Take in a message from ``sender`` by the rules of ``decide``; ``via`` is the door's system actor,
    which writes a customer's message or a new ticket on their behalf. A refusal writes nothing and is
    returned (its reason and params) for the door to report. ``batch``: the door's ``helpdesk.db.Batch``,
    if it takes in many messages in one."""
    decision = decide(sender, arrival, policy, now)
    if decision.refused:
        return Received(decision)
    if decision.action == AGENT_REPLY:
        tickets.add_agent_reply(sender.agent, decision.ticket, **_content(arrival), source=arrival.source,
                                message_id=arrival.message_id, in_reply_to=arrival.in_reply_to,
                                events=list(arrival.events), batch=batch)
        return Received(decision, decision.ticket)
    if decision.action == CUSTOMER_MESSAGE:
        cc, dropped = tickets.usable_addresses(cc_for(arrival, exclude={sender.email}))
        tickets.add_customer_message(
            via, decision.ticket, **_content(arrival), source=arrival.source, message_id=arrival.message_id,
            in_reply_to=arrival.in_reply_to, author_email=sender.email, author_name=sender.name,
            events=[*arrival.events, *dropped], cc=cc, batch=batch)
        return Received(decision, decision.ticket)
    return Received(decision, _open(sender, arrival, decision, via, batch))


def _open(sender, arrival, decision, via, batch):
    cc, dropped = tickets.usable_addresses(cc_for(arrival, exclude={sender.email, decision.requester_email}))
    return tickets.open_ticket(
        sender.agent if decision.opened_by_agent else via, subject=arrival.subject, **_content(arrival),
        requester_email=decision.requester_email, requester_name=decision.requester_name,
        department=arrival.department, cc=cc, source=arrival.source, message_id=arrival.message_id,
        in_reply_to=arrival.in_reply_to, acknowledge=arrival.acknowledge, linked_ticket=decision.ticket,
        events=[*arrival.events, *dropped], batch=batch,
    )


def _content(arrival):
    return {"body_text": arrival.body_text, "body_html": arrival.body_html, "attachments": list(arrival.attachments)}
