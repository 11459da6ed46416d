"""Which customer account a ticket belongs to (issue 18): the one a customer acts for when they open it; the
requester's default account when staff, the system or the mail gateway open it for them, when staff give the
ticket another requester, and when the owner of a guest form's address confirms it; none while a guest form's
ticket is unconfirmed."""
from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_TICKETS
from helpdesk.actors import GUEST_FORM


def acting_account(actor):
    """The customer account a customer opens a ticket for: the one they act for, if their membership there allows
    tickets (NotAllowed otherwise); None for a customer in no account yet, and for staff and the system."""
    if not actor.is_customer:
        return None
    account_id = memberships.acting_account_id(actor)
    if account_id is None:
        return None
    return memberships.require_permission(actor, account_id, PERM_TICKETS).account


def account_for_new_ticket(actor, requester, unconfirmed, acting):
    """The account a new ticket belongs to: ``acting`` (see ``acting_account``) for a customer; the requester's
    (no query for a sender this transaction creates, one per sender and transaction otherwise) when others open
    it for them; none for the guest form's tickets."""
    if actor.is_customer:
        return acting
    if unconfirmed or actor == GUEST_FORM:
        return None
    return requester_account(requester)


def requester_account(requester):
    """The account records made for ``requester`` by someone else belong to: their default account."""
    return memberships.default_account(requester)
