"""Ticket tokens that tie mail to a ticket: the signed token in a Reply-To address and the subject tag."""
import base64
import functools
import hashlib
import hmac
import re
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets.models import Message, Ticket

_SIG_LEN = 8
# A reply address sent to one agent proves, when mail comes back through it, that the agent (or someone
# reading their mail) wrote it: it lets an agent reply by mail without a DMARC pass, so it is longer.
_AGENT_SIG_LEN = 16
_TOKEN_RE = re.compile(
    r"^(?P<base>[^+@]+)\+(?P<number>\d{1,12})\.(?:a(?P<agent>\d{1,12})\.)?(?P<sig>[a-z2-7]{%d,%d})@(?P<domain>.+)$"
    % (_SIG_LEN, _AGENT_SIG_LEN), re.I
)
_SUBJECT_TAG_RE = re.compile(r"\[#(\d{1,12})\]")


def _signature(number: int, agent_id: int | None = None) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    if agent_id is None:
        digest = hmac.new(key, f"ticket-reply:{number}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().lower()[:_SIG_LEN]
    digest = hmac.new(key, f"ticket-reply:{number}:agent:{agent_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:_AGENT_SIG_LEN]


def reply_token(number: int, agent_id: int | None = None) -> str:
    if agent_id is None:
        return f"{number}.{_signature(number)}"
    return f"{number}.a{agent_id}.{_signature(number, agent_id)}"


def reply_address(address: str, number: int, agent_id: int | None = None) -> str:
    """``support@example.com`` -> ``support+1042.k3x9abcd@example.com`` (the signed reply address); for
    mail to an agent, one that also names and proves that agent (``support+1042.a7.<16 letters>@…``)."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{reply_token(number, agent_id)}@{domain}"


@functools.lru_cache(maxsize=4096)
def _token_of(address: str):
    """(number, agent id or None, signature) an address claims, unverified, or None. A pure function of the
    text, cached: the gateway reads each recipient of a batch twice (to prefetch its tickets, then to thread),
    and an address without a "+" (most of them) carries no token at all."""
    if "+" not in address:
        return None
    match = _TOKEN_RE.match(parseaddr(address)[1] or "")
    if not match:
        return None
    return int(match["number"]), int(match["agent"]) if match["agent"] else None, match["sig"].lower()


def _verified_token(address: str):
    """(number, agent id or None) of a signed reply address, or None if absent or forged."""
    claimed = _token_of(address or "")
    if claimed is None:
        return None
    number, agent_id, signature = claimed
    if not hmac.compare_digest(signature, _signature(number, agent_id)):
        return None
    return number, agent_id


def number_from_address(address: str):
    """The ticket number carried by a signed reply address, or None if absent or forged."""
    token = _verified_token(address)
    return token[0] if token else None


def agent_from_address(address: str, number: int):
    """The id of the agent a signed reply address for ticket ``number`` was sent to, or None."""
    token = _verified_token(address)
    return token[1] if token and token[0] == number else None


def subject_tag(number: int) -> str:
    return f"[#{number}]"


def number_from_subject(subject: str):
    """The ticket number in a ``[#1042]`` tag anywhere in the subject (after Re:/AW:/Fwd: and the like)."""
    match = _SUBJECT_TAG_RE.search(subject or "")
    return int(match.group(1)) if match else None


def ticket_for_message_ids(message_ids, batch=None):
    """The ticket that any of ``message_ids`` (newest first) belongs to: a message stored on a ticket
    or a mail the helpdesk sent. None when none is known."""
    ids = [i for i in dict.fromkeys(message_ids) if i][:50]
    if not ids:
        return None
    known = _index(batch, "message_id")
    checked = _index(batch, "message_id_checked")
    for position, message_id in enumerate(ids):
        if message_id in known:
            return follow_merges(known[message_id])
        if message_id not in checked:  # the database decides from here on
            ids = ids[position:]
            break
    else:
        return None
    found = _tickets_of_message_ids(ids)
    for message_id in ids:
        if message_id in known:
            return follow_merges(known[message_id])
        if message_id in found:
            return follow_merges(db.session.get(Ticket, found[message_id]))
    return None


def _tickets_of_message_ids(ids) -> dict:
    """{Message-ID: ticket id} for those of ``ids`` stored on a ticket or sent by the helpdesk."""
    found = dict(db.session.execute(
        sa.select(Message.message_id, Message.ticket_id).where(Message.message_id.in_(ids))
    ).all())
    found.update({k: v for k, v in db.session.execute(
        sa.select(OutboxEmail.message_id, OutboxEmail.ticket_id)
        .where(OutboxEmail.message_id.in_(ids), OutboxEmail.ticket_id.is_not(None))
    ).all() if k not in found})
    return found


def ticket_by_number(number, batch=None):
    """The ticket with ``number``, or the ticket it was merged into (mail to a merged ticket lands there)."""
    if not number:
        return None
    known = _index(batch, "number")
    if number in known:
        return follow_merges(known[number])
    if number in _index(batch, "number_checked"):
        return None
    return follow_merges(db.session.scalar(sa.select(Ticket).where(Ticket.number == number)))


def remember(ticket, *, number=None, message_id=None, batch=None):
    """In a deferred ``batch``, let the lookups above find a ticket (or a Message-ID of it) the batch has
    not written yet, so a reply later in the same batch threads to it. Outside one: nothing to do."""
    if batch is None or not batch.deferred:
        return
    if number is not None:
        batch.index("number")[number] = ticket
    if message_id:
        batch.index("message_id").setdefault(message_id, ticket)


def _index(batch, kind) -> dict:
    return (batch.index(kind) if batch is not None else None) or {}


def _unchecked(values, index, checked):
    """``values`` once each, less the empty ones and those the batch knows or looked up already."""
    return [v for v in dict.fromkeys(values) if v and v not in index and v not in checked]


def _prefetch_query(batch):
    """The query for the tickets, and the batch's index of locked tickets (None on SQLite: no row locks)."""
    query = sa.select(Ticket).options(selectinload(Ticket.participants), selectinload(Ticket.customer_account)) \
        .order_by(Ticket.id)
    if db.session.get_bind().dialect.name == "sqlite":
        return query, None
    # Read them under a row lock, in id order, as the ticket service would one at a time.
    return query.with_for_update(of=Ticket), batch.index("locked_tickets")


def _read_by_number(query, numbers, by_number):
    for chunk in _chunks(numbers, 500):
        for ticket in db.session.scalars(query.where(Ticket.number.in_(chunk))):
            by_number[ticket.number] = ticket


def _ticket_ids_of(message_ids):
    """Message-ID → ticket id of the stored ``message_ids``."""
    found = {}
    for chunk in _chunks(message_ids, 500):
        found.update(_tickets_of_message_ids(chunk))
    return found


def _read_by_message_id(query, found, by_message_id):
    """The tickets of ``found`` (Message-ID → ticket id), by id."""
    tickets = {}
    for chunk in _chunks(list(set(found.values())), 500):
        tickets.update((t.id, t) for t in db.session.scalars(query.where(Ticket.id.in_(chunk))))
    for message_id, ticket_id in found.items():
        if ticket_id in tickets:
            by_message_id.setdefault(message_id, tickets[ticket_id])
    return tickets


def prefetch(numbers, message_ids, batch):
    """In a deferred ``batch``, read every ticket the batch's mail may thread to (by number or by
    Message-ID), with its participants, in a few queries instead of a few per message."""
    if batch is None or not batch.deferred:
        return
    by_number = batch.index("number")
    numbers_checked = batch.index("number_checked")
    by_message_id = batch.index("message_id")
    ids_checked = batch.index("message_id_checked")
    numbers = _unchecked(numbers, by_number, numbers_checked)
    message_ids = _unchecked(message_ids, by_message_id, ids_checked)
    found = _ticket_ids_of(message_ids)
    query, locked = _prefetch_query(batch)
    _read_by_number(query, numbers, by_number)
    tickets = _read_by_message_id(query, found, by_message_id)
    numbers_checked.update(dict.fromkeys(numbers, True))
    ids_checked.update(dict.fromkeys(message_ids, True))
    if locked is not None:
        locked.update(dict.fromkeys([t.id for t in by_number.values() if t.id] + list(tickets), True))


def _chunks(values, size):
    for start in range(0, len(values), size):
        yield values[start:start + size]


MAX_MERGE_HOPS = 20


def follow_merges(ticket):
    """The ticket that ``ticket`` was (perhaps in several steps) merged into, or ``ticket`` itself. A loop,
    which merging refuses to make, stops at the last ticket before it repeats."""
    seen = set()
    while ticket is not None and ticket.merged_into_id is not None and len(seen) < MAX_MERGE_HOPS:
        seen.add(ticket.id)
        if ticket.merged_into_id in seen:
            break
        following = db.session.get(Ticket, ticket.merged_into_id)
        if following is None:
            break
        ticket = following
    return ticket
