"""Delivery diagnostics: the Received chain of an inbound message as hops (sending server and its IP, receiving
server, time, delay since the hop before), so an agent can answer "why did my mail arrive late". mail-parser
splits the headers into clauses and reads their dates; this module picks the servers and adds up the delays.
Computed on demand from the stored raw mail (its headers read by the mail gateway, which knows Outlook files):
nothing is added to ingest or to the ticket page."""
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from mailparser.utils import receiveds_parsing

from helpdesk import storage
from helpdesk.db import parse_id
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.inbound.gateway import gateway
from helpdesk.inbound.models import InboundMessage
from helpdesk.tickets import access
from helpdesk.tickets.models import INTERNAL_NOTE, SYSTEM_EVENT, Message, Ticket

# More Received headers than any real route has: the rest of a looping or padded message is not shown.
MAX_HOPS = 60


@dataclass(frozen=True)
class Hop:
    number: int  # 1 is the first server the message passed through
    sending_server: str | None
    sending_ip: str | None
    receiving_server: str | None
    protocol: str | None
    at: datetime | None  # aware UTC; None when the header has no readable date
    delay: timedelta | None  # since the nearest earlier hop with a time
    raw: str


@dataclass(frozen=True)
class Route:
    hops: tuple[Hop, ...]
    # From the first hop with a time to the last one (the receipt by our own mail server).
    total: timedelta | None

    @property
    def known(self) -> bool:
        return any(hop.sending_server or hop.receiving_server or hop.at for hop in self.hops)


def route(received: list[str]) -> Route:
    """The hops of ``received`` (the Received header values as they stand in the message, newest first),
    oldest first. Headers that say nothing readable still count as hops (shown as they came)."""
    values = [_clean(value) for value in received if value and value.strip()][:MAX_HOPS]
    try:
        parsed = receiveds_parsing(values) if values else []
    except Exception:  # mail-parser gave up on the whole chain: every header is shown as it came
        parsed = [{"raw": value} for value in reversed(values)]
    hops, previous = [], None
    for number, (fields, raw) in enumerate(zip(parsed, reversed(values), strict=False), 1):
        at = _utc(fields.get("date_utc"))
        name, address = _sender(fields.get("from") or "")
        hops.append(Hop(number=number, sending_server=name, sending_ip=address,
                        receiving_server=_first_word(fields.get("by") or "") or None,
                        protocol=_first_word(fields.get("with") or "") or None, at=at,
                        delay=at - previous if at is not None and previous is not None else None, raw=raw))
        previous = at or previous
    times = [hop.at for hop in hops if hop.at is not None]
    total = times[-1] - times[0] if len(times) > 1 else None
    return Route(tuple(hops), total)


def _clean(value: str) -> str:
    """One line, and text a page can show: folding removed, undecodable bytes replaced."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(value.split())


def _utc(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return None


def _first_word(value: str) -> str:
    word = value.split(None, 1)[0] if value.split() else ""
    return word.rstrip(";,").rstrip(".")


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_-]+)+\.?$")
# "(rdns.example [192.0.2.1])" (Postfix, Sendmail, Gmail): the name the receiving server looked up.
_LOOKED_UP = re.compile(r"\(\s*([^\s()\[\]]+)\s*\[")
# "(helo=laptop.example)" (Exim), "(HELO mail.example)" (qmail), "(EHLO host)".
_HELO = re.compile(r"\((?:helo|ehlo)[= ]\s*([^\s()]+)\s*\)", re.I)
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]", re.I)
_PARENTHESISED_IP = re.compile(r"\(\s*([0-9A-Fa-f:.]+)\s*\)")
_BARE_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")


def _sender(clause: str) -> tuple[str | None, str | None]:
    """(name, IP address) of the sending server from a Received header's "from" clause."""
    address = None
    for pattern in (_BRACKETED_IP, _PARENTHESISED_IP, _BARE_IPV4):
        for candidate in pattern.findall(clause):
            try:
                address = str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
            break
        if address:
            break
    names = [match.group(1) for match in (_LOOKED_UP.search(clause),) if match]
    names.append(_first_word(clause))
    names += _HELO.findall(clause)
    for name in names:
        name = name.rstrip(".")
        if name.lower() != "unknown" and _HOSTNAME.match(name) and not _is_ip(name):
            return name.lower(), address
    return None, address


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- reading it for an agent

@dataclass(frozen=True)
class Delivery:
    message: Message
    ticket: Ticket
    inbound: InboundMessage | None  # None: the stored mail of this message was not found
    route: Route


def for_message(actor, message_id) -> Delivery:
    """The delivery route of ticket message ``message_id`` as its stored raw mail tells it, for an actor who may
    see the ticket (NotFound otherwise, as for the ticket itself). Messages that came by mail only; agents only."""
    access.require_agent(actor)
    message_id = parse_id(message_id)
    message = db.session.get(Message, message_id) if message_id is not None else None
    if message is None or message.kind in (INTERNAL_NOTE, SYSTEM_EVENT) or not access.can_view(actor, message.ticket):
        raise NotFound()
    if message.source != "email":
        raise NotFound()
    row = _inbound_for(message)
    received = gateway().received_headers(storage.get(row.raw_key)) if row is not None else []
    return Delivery(message, message.ticket, row, route(received))


def _inbound_for(message) -> InboundMessage | None:
    """The stored inbound mail a ticket message was made from: by its Message-ID, on its ticket or a ticket merged
    into it. A .msg file's Message-ID is known only inside it, so rows without one are opened to compare."""
    tickets = [message.ticket_id, *db.session.scalars(
        sa.select(Ticket.id).where(Ticket.merged_into_id == message.ticket_id))]
    on_ticket = sa.select(InboundMessage).where(InboundMessage.ticket_id.in_(tickets)).order_by(InboundMessage.id)
    if message.message_id:
        found = db.session.scalars(on_ticket.where(InboundMessage.message_id == message.message_id).limit(1)).first()
        if found is not None:
            return found
        for row in db.session.scalars(on_ticket.where(InboundMessage.message_id.is_(None)).limit(20)):
            if gateway().message_id_inside(storage.get(row.raw_key)) == message.message_id:
                return row
    return None
