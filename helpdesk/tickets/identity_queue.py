"""The verification ticket of identity verification (issue 18): an uploaded ID document opens a ticket in the
IDENTITY_VERIFICATION_DEPARTMENT queue, and the staff's decision is noted on it and closes it. Identity verification
lives in the accounts package, below this one, so it calls these through ``verification.follow``: ``register`` wires
them at start-up (tickets' ``init_app``). ``review`` is what staff read on an account's verification page."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from helpdesk.accounts import verification
from helpdesk.accounts.models import CustomerAccount, User
from helpdesk.accounts.verification_models import IdentityDocument
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import CLOSED, Department, Ticket


def register() -> None:
    """Follow identity verification: a ticket per uploaded document, closed by the decision."""
    verification.follow(submitted=open_verification_ticket, decided=record_decision_on_ticket)


def _queue_department() -> Department:
    """The verification queue's department, made on first use. Never commits."""
    name = current_app.config["IDENTITY_VERIFICATION_DEPARTMENT"]
    department = db.session.scalar(sa.select(Department).where(Department.name == name))
    return department or departments.create_department(SYSTEM, name=name)


def open_verification_ticket(actor, account, document, batch) -> Ticket:
    """A document was uploaded: a ticket from the uploader in the verification queue (the document stays apart from
    ticket attachments: staff open it from the verification page). Runs in the upload's transaction (``batch``)."""
    ticket = service.open_ticket(
        actor, subject=_("Identity verification: %(account)s", account=account.name),
        body_text=_("I uploaded an ID document to verify the identity of the account %(account)s.",
                    account=account.name),
        department=_queue_department(), batch=batch)
    document.ticket_id = ticket.id
    return ticket


def record_decision_on_ticket(actor, account, decision) -> None:
    """The decision as a note on the verification ticket, which it closes. Runs in the decision's transaction."""
    ticket = db.session.get(Ticket, decision.document.ticket_id) if decision.document.ticket_id else None
    if ticket is None:
        return
    name = getattr(actor, "display_name", None) or actor.label
    text = (_("Identity verified by %(name)s.", name=name) if decision.approved else
            _("ID document rejected by %(name)s: %(reason)s", name=name, reason=decision.reason))
    service.add_internal_note(SYSTEM, ticket, body_text=text, source="system")
    if ticket.status != CLOSED:
        service.close(SYSTEM, ticket)


@dataclass(frozen=True)
class Review:
    """An account's verification as staff review it: its documents (newest first), each one's ticket by id, and
    who decided last."""

    account: CustomerAccount
    documents: list[IdentityDocument]
    tickets: dict[int, Ticket]
    decided_by: User | None


def review(actor, account_id) -> Review:
    """An account's verification with its tickets, for staff with the verification permission (NotFound for
    anyone else and for an unknown id)."""
    account, documents = verification.account_for_review(actor, account_id)
    ticket_ids = [document.ticket_id for document in documents if document.ticket_id]
    tickets = {ticket.id: ticket for ticket in db.session.scalars(sa.select(Ticket).where(Ticket.id.in_(ticket_ids)))}
    decided_by = (db.session.get(User, account.verification_decided_by_id)
                  if account.verification_decided_by_id else None)
    return Review(account=account, documents=documents, tickets=tickets, decided_by=decided_by)
