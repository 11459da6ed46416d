"""The customer side of tickets: who requests a ticket, which organisation it is for, and a customer's new
address carried onto their tickets. Agents (and the system) only."""
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import Organisation, User
from helpdesk.db import commit_service_call
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access, ticket_accounts
from helpdesk.tickets.changes import lock, reindex_ids_after_commit, system_event
from helpdesk.tickets.models import CC, REQUESTER, Participant, Ticket

# --------------------------------------------------------------------------- the requester


def _check_requester(user):
    """A customer User, or a free address (str) for a new customer; ValidationFailed for anything else."""
    errors = {}
    if not isinstance(user, User):
        email = accounts.check_email(errors, "requester", user)
        if email:
            user = accounts.users_by_email([email]).get(email) or email
    if isinstance(user, User) and not user.is_customer:
        errors["requester"] = _l("%(email)s is a staff account; only customers can be requesters.",
                                 email=user.email)
    if errors:
        raise ValidationFailed(errors)
    return user


def _make_requester(ticket, user):
    """``user`` becomes the ticket's requester participant; the one before stays in copy."""
    for participant in ticket.participants:
        if participant.role == REQUESTER:
            participant.role = CC
    joined = next((p for p in ticket.participants if p.email == user.email), None)
    if joined is None:
        db.session.add(Participant(ticket=ticket, email=user.email, name=user.full_name, role=REQUESTER, user=user))
    else:
        joined.role, joined.user = REQUESTER, user
    ticket.requester = user


def change_requester(actor, ticket, user, name="") -> Ticket:
    """Make a customer the ticket's requester (agents only). ``user`` is a User or an email address; an
    unknown address gets a new customer record. The previous requester stays on the ticket in copy, and the
    ticket takes the new requester's organisation and customer account. Staff accounts cannot be requesters."""
    access.require_agent(actor)
    access.require(actor, ticket, "edit")
    user = _check_requester(user)
    if isinstance(user, str):
        user = accounts.find_or_create_customer(user, name)
        db.session.flush()
    old = ticket.requester
    if user.id == old.id:
        raise ValidationFailed({"requester": _l("%(email)s is already the requester.", email=user.email)})
    lock(ticket)
    _make_requester(ticket, user)
    if user.organisation_id != ticket.organisation_id:
        ticket.organisation = user.organisation
    if not ticket.requester_unconfirmed:
        ticket.customer_account = ticket_accounts.requester_account(user)
    system_event(ticket, actor, {"type": "requester", "from": old.email, "to": user.email})
    audit.record(actor, "ticket", ticket.id, "requester-changed", {"requester": [old.id, user.id]})
    commit_service_call(db.session)
    return ticket


# --------------------------------------------------------------------------- the organisation

def find_organisation(query):
    """The organisation whose customer number is ``query``, else the one of that name (any case); None
    when there is none, ValidationFailed when several share the name."""
    query = " ".join((query or "").split())
    if not query:
        return None
    found = db.session.scalar(sa.select(Organisation).where(Organisation.customer_number == query))
    if found is not None:
        return found
    named = db.session.scalars(sa.select(Organisation).where(sa.func.lower(Organisation.name) == query.lower())
                               .limit(2)).all()
    if len(named) > 1:
        raise ValidationFailed({"organisation": _l(
            "Several organisations are called %(name)s; enter the customer number instead.", name=query[:100])})
    return named[0] if named else None


def _check_organisation(organisation):
    """An Organisation, or the one a customer number or name stands for; None for None or ""."""
    if organisation not in (None, "") and not isinstance(organisation, Organisation):
        query = str(organisation)
        organisation = find_organisation(query)
        if organisation is None:
            raise ValidationFailed({"organisation": _l(
                "No organisation has the name or customer number %(query)s.", query=query.strip()[:100])})
    return organisation or None


def set_organisation(actor, ticket, organisation) -> Ticket:
    """Link the ticket to an organisation (agents only): an Organisation, or its customer number or name;
    None or "" unlinks it. A requester who belongs to no organisation yet joins this one."""
    access.require_agent(actor)
    access.require(actor, ticket, "edit")
    organisation = _check_organisation(organisation)
    old = ticket.organisation
    if organisation is old:
        raise ValidationFailed({"organisation": _l("The ticket already has this organisation.")})
    lock(ticket)
    ticket.organisation = organisation
    system_event(ticket, actor, {"type": "organisation", "from": old.name if old else "",
                                 "to": organisation.name if organisation else ""})
    audit.record(actor, "ticket", ticket.id, "organisation-changed",
                 {"organisation": [old.id if old else None, organisation.id if organisation else None]})
    requester = ticket.requester
    if organisation is not None and requester.organisation_id is None:
        requester.organisation = organisation
        audit.record(actor, "user", requester.id, "organisation-linked", {"organisation": organisation.id})
    commit_service_call(db.session)
    return ticket


# --------------------------------------------------------------------------- a customer's address

def change_customer_email(actor, user, email) -> User:
    """Give a customer a new email address. Agents and admins only (customers cannot change their own).
    The address must be free; the customer's place on their tickets moves to it, so replies reach it."""
    if not (actor.is_system or actor.is_agent):
        raise NotAllowed()
    errors = {}
    new = accounts.check_email(errors, "email", email)
    if new and new != user.email and accounts.users_by_email([new]):
        errors["email"] = _l("A user with this email address already exists.")
    if errors:
        raise ValidationFailed(errors)
    old = user.email
    if new != old:
        user.email = new
        db.session.execute(sa.update(Participant).where(Participant.user_id == user.id).values(email=new))
        # Their tickets' index entries list the address.
        reindex_ids_after_commit(
            db.session.scalars(sa.select(Participant.ticket_id).where(Participant.user_id == user.id)))
        audit.record(actor, "user", user.id, "email-changed", {"email": [old, new]})
    commit_service_call(db.session)
    return user
