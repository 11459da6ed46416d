"""Guest-form tickets in a registered user's name: anyone can type any address on the guest form, so a ticket
given the address of a registered customer or agent is not theirs (not in their ticket list, not written by
them) until the address owner confirms it through a signed, expiring link in the acknowledgement.

Opening the link changes nothing (mail scanners open links); the confirming POST does, once: a confirmed
ticket's link has nothing left to do. Addresses nobody has registered keep the guest behaviour: the ticket is
the address's customer record's, as every guest ticket always was (registering later proves the address,
and the earlier guest tickets come along; see accounts.register_customer)."""
import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk import audit
from helpdesk.actors import GUEST_FORM
from helpdesk.db import commit_service_call
from helpdesk.errors import HelpdeskError
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import ticket_accounts
from helpdesk.tickets.models import CUSTOMER_MESSAGE, SYSTEM_EVENT, Message, Ticket

CONFIRM_PATH = "/tickets/confirm/"
_SALT = "helpdesk.requester-confirmation"


class ConfirmLinkInvalid(HelpdeskError):
    """A confirmation link that was altered, whose ticket is gone or has another requester now, or that expired."""

    message = _l("This confirmation link is not valid.")

    def __init__(self, expired=False):
        self.expired = expired
        super().__init__(_l("This confirmation link has expired.") if expired else None)


def needs_confirmation(actor, requester) -> bool:
    """Whether a ticket that ``actor`` opens for ``requester`` waits for the address owner's confirmation: opened
    on the guest form (no one logged in) with the address of an account someone can log in to, or of staff."""
    if actor != GUEST_FORM:
        return False
    return bool(requester.password_hash) or requester.is_agent


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def confirm_token(ticket) -> str:
    """The signed part of the link: the ticket and the requester it was opened for."""
    return _serializer().dumps({"t": ticket.id, "u": ticket.requester_id})


def confirm_link(ticket) -> str:
    """The absolute URL of the confirmation page for ``ticket``."""
    return current_app.config["BASE_URL"].rstrip("/") + CONFIRM_PATH + confirm_token(ticket)


def read_link(token) -> Ticket:
    """The ticket of a confirmation link; ConfirmLinkInvalid when it was tampered with or expired, or when the
    ticket is gone or has another requester now. Changes nothing."""
    max_age = int(current_app.config["REQUESTER_CONFIRM_LINK_DAYS"]) * 86400
    try:
        data = _serializer().loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise ConfirmLinkInvalid(expired=True) from None
    except BadSignature:
        raise ConfirmLinkInvalid() from None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        raise ConfirmLinkInvalid()
    ticket = db.session.get(Ticket, data["t"])
    if ticket is None or ticket.requester_id != data.get("u"):
        raise ConfirmLinkInvalid()
    return ticket


def confirm_requester(ticket) -> bool:
    """The address owner confirms they sent ``ticket`` (the caller has read the signed link, which stands for
    them): it joins their ticket list, their organisation and their customer account, and its first message
    becomes theirs. Returns False, changing nothing, when it was confirmed already (so the link works once)."""
    locked = db.session.execute(
        sa.update(Ticket).where(Ticket.id == ticket.id, Ticket.requester_unconfirmed.is_(True))
        .values(requester_unconfirmed=False).execution_options(synchronize_session=False)
    ).rowcount
    if not locked:
        db.session.rollback()
        return False
    db.session.refresh(ticket)
    requester = ticket.requester
    ticket.organisation_id = ticket.organisation_id or requester.organisation_id
    ticket.customer_account = ticket.customer_account or ticket_accounts.requester_account(requester)
    first = db.session.scalar(
        sa.select(Message).where(Message.ticket_id == ticket.id, Message.kind == CUSTOMER_MESSAGE)
        .order_by(Message.created_at, Message.id).limit(1))
    if first is not None and first.author_id is None and first.author_email == requester.email:
        first.author_id = requester.id
    db.session.add(Message(ticket=ticket, kind=SYSTEM_EVENT, author_id=requester.id,
                           author_name=requester.full_name or None, body_text="type=requester-confirmed",
                           body_html="", source="web", event={"type": "requester-confirmed"}))
    audit.record(requester, "ticket", ticket, "requester-confirmed", {"email": requester.email})
    commit_service_call(db.session)
    return True
