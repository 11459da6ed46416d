"""Links to a ticket in the mail about it: registered customers get its portal page (login required), agents its
console page, and people without an account (guest requesters and copied addresses) a signed link that shows
that one ticket, to read and answer, without logging in.

A guest link is stateless: HMAC-signed (itsdangerous, the app's SECRET_KEY) over the ticket, the participant and
the ticket's link generation, with the time it was made; it expires after GUEST_LINK_DAYS. Nothing is stored per
link: every mail renders a fresh one, so a later mail (a reply, an acknowledgement) always carries a link that
works for the full period. Revoking bumps the ticket's generation, the one thing stored: every link issued
before stops working at once, and the next mail carries a link of the new generation."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk import audit
from helpdesk.actors import SystemActor
from helpdesk.db import UTCDateTime, commit_service_call, transaction_cache, utcnow
from helpdesk.errors import HelpdeskError, NotAllowed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access
from helpdesk.tickets.changes import lock
from helpdesk.tickets.models import Participant, Ticket

GUEST_PATH = "/guest/"
# The actor of what a guest does through their link (the message itself names the guest's address).
GUEST_LINK = SystemActor("guest-link")
_SALT = "helpdesk.guest-link"
INVALID, EXPIRED, REVOKED, HAS_ACCOUNT = "invalid", "expired", "revoked", "account"


class TicketGuestLinks(db.Model):
    """A ticket's guest-link generation: links of an older generation were revoked (no row: generation 0)."""

    __tablename__ = "ticket_guest_links"

    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True,
                          autoincrement=False)
    generation = sa.Column(sa.Integer, nullable=False, default=0)
    revoked_at = sa.Column(UTCDateTime)


class GuestLinkInvalid(HelpdeskError):
    """A guest link that was altered (INVALID), is too old (EXPIRED), was revoked by staff (REVOKED), whose
    ticket or participant is gone (INVALID), or whose address has an account now (HAS_ACCOUNT). ``visit`` is
    what an expired or revoked link stood for."""

    message = _l("This link is not valid.")

    def __init__(self, reason=INVALID, visit=None):
        self.reason, self.visit = reason, visit
        super().__init__()


@dataclass(frozen=True)
class GuestVisit:
    """Who a guest link stands for: a participant of a ticket without an account."""

    ticket: Ticket
    participant: Participant

    @property
    def email(self):
        return self.participant.email

    @property
    def name(self):
        return self.participant.name or None


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _max_age():
    return int(current_app.config["GUEST_LINK_DAYS"]) * 86400


_NONE_STORED = "guest-links:none-stored"  # transaction cache: ids of tickets read to have no generation row


def generation(ticket) -> int:
    if ticket.id in transaction_cache(db.session, _NONE_STORED):
        return 0
    row = db.session.get(TicketGuestLinks, ticket.id)
    return row.generation if row is not None else 0


def prefetch_generations(ticket_ids) -> list:
    """Read the link generations of ``ticket_ids`` in one query (for mail about many tickets): ``generation``
    then asks nothing, for those with a row (the session holds it while the caller keeps the returned list)
    and for those without (most tickets: never revoked)."""
    ticket_ids = set(ticket_ids)
    rows = db.session.scalars(sa.select(TicketGuestLinks).where(TicketGuestLinks.ticket_id.in_(ticket_ids))).all()
    transaction_cache(db.session, _NONE_STORED).update(dict.fromkeys(ticket_ids - {row.ticket_id for row in rows}))
    return rows


def revoked_at(ticket):
    """When staff last revoked the ticket's guest links (None: never)."""
    row = db.session.get(TicketGuestLinks, ticket.id)
    return row.revoked_at if row is not None else None


def is_guest(participant) -> bool:
    """Whether ``participant`` reads the ticket through a guest link: no account they can log in to."""
    user = participant.user
    return user is None or (not user.password_hash and not user.is_agent and user.active)


def guest_link(ticket, participant) -> str:
    """A fresh signed link for ``participant`` (a guest) of ``ticket``, valid for GUEST_LINK_DAYS."""
    token = _serializer().dumps({"t": ticket.id, "p": participant.id, "g": generation(ticket)})
    return current_app.config["BASE_URL"].rstrip("/") + GUEST_PATH + token


@dataclass(frozen=True)
class TicketLink:
    """The link to a ticket in one recipient's mail: ``kind`` is AGENT_PAGE, PORTAL_PAGE or GUEST_PAGE."""

    kind: str
    url: str


AGENT_PAGE, PORTAL_PAGE, GUEST_PAGE = "agent", "portal", "guest"


def ticket_link(ticket, email) -> TicketLink | None:
    """The link to ``ticket`` for mail to ``email``: the console page for an agent, the portal page for a customer
    who can log in and see it, a guest link for a participant without an account; None for anyone else (an
    address that is not on the ticket, a disabled account, the owner of an address a guest typed before they
    confirmed the ticket)."""
    participant = next((p for p in ticket.participants if p.email.lower() == (email or "").lower()), None)
    if participant is None:
        return None
    base = current_app.config["BASE_URL"].rstrip("/")
    user = participant.user
    if user is not None and user.is_agent:
        return TicketLink(AGENT_PAGE, f"{base}/agent/tickets/{ticket.number}") if user.active else None
    if is_guest(participant):
        return None if ticket.requester_unconfirmed else TicketLink(GUEST_PAGE, guest_link(ticket, participant))
    if user.active and access.customer_can_see(user, ticket):
        return TicketLink(PORTAL_PAGE, f"{base}/tickets/{ticket.number}")
    return None


def read_link(token) -> GuestVisit:
    """What the guest link ``token`` stands for; GuestLinkInvalid (with its reason) when it was altered, was
    revoked or expired, or when its ticket or participant is gone or the participant has an account now.
    Changes nothing (mail scanners open links)."""
    serializer = _serializer()
    expired = False
    try:
        data = serializer.loads(token or "", max_age=_max_age())
    except SignatureExpired:
        expired = True
        data = serializer.loads(token)  # the signature holds: read what it stood for
    except BadSignature:
        raise GuestLinkInvalid() from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in "tpg"):
        raise GuestLinkInvalid()
    participant = db.session.get(Participant, data["p"])
    if participant is None or participant.ticket_id != data["t"]:
        raise GuestLinkInvalid()
    if not is_guest(participant):  # registered since (or staff): their account shows the ticket
        raise GuestLinkInvalid(HAS_ACCOUNT)
    ticket = participant.ticket
    if ticket.requester_unconfirmed:
        raise GuestLinkInvalid()
    visit = GuestVisit(ticket, participant)
    if data["g"] != generation(ticket):
        raise GuestLinkInvalid(REVOKED, visit)
    if expired:
        raise GuestLinkInvalid(EXPIRED, visit)
    return visit


def link_for_merged(visit):
    """A guest link to the ticket ``visit``'s ticket was merged into, when the same guest is on it; else None."""
    target = visit.ticket.merged_into
    while target is not None and target.merged_into is not None:
        target = target.merged_into
    if target is None:
        return None, None
    participant = next((p for p in target.participants if p.email.lower() == visit.email.lower()), None)
    if participant is None or not is_guest(participant) or target.requester_unconfirmed:
        return target, None
    return target, guest_link(target, participant)


def revoke(actor, ticket) -> int:
    """Invalidate every guest link of ``ticket`` issued so far; the next mail about it carries a new one. Agents
    who may change the ticket (and the system). Returns the new generation."""
    if not (actor.is_system or actor.is_agent):
        raise NotAllowed()
    access.require(actor, ticket, "edit")
    lock(ticket)  # two revocations at once: one after the other, each a new generation
    row = db.session.get(TicketGuestLinks, ticket.id)
    if row is None:
        row = TicketGuestLinks(ticket_id=ticket.id, generation=0)
        db.session.add(row)
        transaction_cache(db.session, _NONE_STORED).pop(ticket.id, None)
    row.generation = (row.generation or 0) + 1
    row.revoked_at = utcnow()
    audit.record(actor, "ticket", ticket, "guest-links-revoked", {"generation": row.generation})
    commit_service_call(db.session)
    return row.generation
