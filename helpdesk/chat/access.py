"""Who may do what in a chat: the Visitor actor (the person chatting, proved by the chat's key), and the checks every
operation makes: agents read every chat and write in the ones they have; a visitor reads and writes only their own,
and learns of no other (NotFound, as for a key that fits no chat)."""
import hashlib

import sqlalchemy as sa

from helpdesk.chat.models import ACTIVE, AGENT_SIDE, CUSTOMER_SIDE, ENDED, Chat
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access as ticket_access
from helpdesk.tickets.models import department_agents


class Visitor:
    """The person chatting, known by the chat's visitor key (a guest) or also by login (``user``, a customer).
    Like helpdesk.actors.SystemActor it is no user: no id, not an agent, customer or the system."""

    id = None
    is_agent = False
    is_admin = False
    is_customer = False
    is_system = False

    def __init__(self, chat, user=None):
        self.chat = chat
        self.user = user if user is not None else chat.customer

    @property
    def name(self):
        return self.chat.name

    @property
    def label(self):
        return f"chat-visitor:{self.chat.id}"

    def __repr__(self):
        return f"<Visitor of chat {self.chat.id}>"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def visitor_for_key(key) -> Visitor:
    """The Visitor a chat's key stands for; NotFound for any other string (the key is the visitor's only proof)."""
    if not isinstance(key, str) or not 16 <= len(key) <= 128:
        raise NotFound()
    chat = db.session.scalar(sa.select(Chat).where(Chat.visitor_key_hash == hash_key(key)))
    if chat is None:
        raise NotFound()
    return Visitor(chat)


def is_visitor_of(actor, chat) -> bool:
    return isinstance(actor, Visitor) and actor.chat.id == chat.id


def agent_reaches(agent, chat) -> bool:
    """The tickets' rule for departments: admins reach every chat; an agent the chats of their departments, chats
    sent to no department and chats they have; an agent in no department reaches all (a one-team desk)."""
    return chat.agent_id == agent.id or ticket_access.agent_reaches_department(agent, chat.department_id)


def reachable_by(agent):
    """The SQL condition of agent_reaches, for lists (waiting chats, search)."""
    if getattr(agent, "is_admin", False) or getattr(agent, "is_system", False):
        return sa.true()
    departments = list(db.session.scalars(sa.select(department_agents.c.department_id).where(
        department_agents.c.user_id == agent.id)))
    if not departments:
        return sa.true()
    return sa.or_(Chat.department_id.in_(departments), Chat.department_id.is_(None), Chat.agent_id == agent.id)


def require_reader(actor, chat):
    """Agents read the chats they reach (agent_reaches: the tickets' department rule); a visitor only theirs, a
    customer the chats they started. Anyone else is told the chat does not exist."""
    if (getattr(actor, "is_agent", False) and agent_reaches(actor, chat)) or is_visitor_of(actor, chat):
        return
    if getattr(actor, "is_customer", False) and chat.customer_id is not None and chat.customer_id == actor.id:
        return
    raise NotFound()


def side_in(actor, chat) -> str:
    """The side ``actor`` speaks for in ``chat``: its visitor, or the agent who has it. A visitor of another chat
    does not learn this one exists; an agent who does not have it may read it but not speak in it."""
    if is_visitor_of(actor, chat):
        return CUSTOMER_SIDE
    if isinstance(actor, Visitor):
        raise NotFound()
    if getattr(actor, "is_agent", False):
        if chat.status in (ACTIVE, ENDED) and chat.agent_id == actor.id:
            return AGENT_SIDE  # an ended chat answers Conflict
        raise NotAllowed(_l("Only the agent who has this chat can write in it."))
    raise NotAllowed()
