"""Who may act for which customer account (issue 18). The one place every domain asks: a door passes the account
a request acts for (the portal's account switcher, an API token's account) and the domain checks it here on every
call, so an account id in a request can never be forged into access. Not a member: NotFound (the account's
existence is not revealed); a member without the permission: NotAllowed."""
import sqlalchemy as sa

from helpdesk.accounts.models import ACCOUNT_BUSINESS, ACCOUNT_INDIVIDUAL, CustomerAccount, Membership
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db


def memberships_of(user) -> list[Membership]:
    """``user``'s memberships, the accounts they own first, then by name."""
    if user is None or getattr(user, "id", None) is None:
        return []
    return list(db.session.scalars(
        sa.select(Membership).join(CustomerAccount).where(Membership.user_id == user.id)
        .order_by(Membership.is_owner.desc(), CustomerAccount.name, CustomerAccount.id)))


def membership(user, account_id) -> Membership | None:
    """``user``'s membership of ``account_id`` (any form of id a request carries), None when there is none."""
    account_id = parse_id(account_id)
    if account_id is None or user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(sa.select(Membership).where(Membership.account_id == account_id,
                                                         Membership.user_id == user.id))


def has_permission(user, account_id, permission: str) -> bool:
    found = membership(user, account_id)
    return found is not None and found.allows(permission)


def require_permission(actor, account_id, permission: str) -> Membership:
    """``actor``'s membership of ``account_id`` when it allows ``permission``; NotFound for a non-member,
    NotAllowed for a member without it. Staff are not members: domains decide what staff may do themselves."""
    found = membership(actor, account_id)
    if found is None:
        raise NotFound()
    if not found.allows(permission):
        raise NotAllowed()
    return found


def default_account_id(user) -> int | None:
    """The account a login acts for until it picks another: the first it owns, else the first it belongs to."""
    found = memberships_of(user)
    return found[0].account_id if found else None


def acting_account_id(user) -> int | None:
    """The account ``user`` acts for in this request: the one the door checked and set on the user object
    (``user.acting_account_id``, e.g. the portal's account switcher) when it is still a membership, else their
    default account. Domains call this instead of reading a request."""
    chosen = getattr(user, "acting_account_id", None)
    if chosen is not None and membership(user, chosen) is not None:
        return chosen
    return default_account_id(user)


def ensure_personal_account(user) -> CustomerAccount:
    """``user``'s own account (they are its owner), made on first need for a customer who has none: named after
    their organisation (a business) or themselves (an individual). Never commits."""
    owned = db.session.scalar(sa.select(CustomerAccount).join(Membership)
                              .where(Membership.user_id == user.id, Membership.is_owner.is_(True))
                              .order_by(CustomerAccount.id).limit(1))
    if owned is not None:
        return owned
    organisation = getattr(user, "organisation", None)
    account = CustomerAccount(name=(organisation.name if organisation else None) or user.full_name or user.email,
                              kind=ACCOUNT_BUSINESS if organisation else ACCOUNT_INDIVIDUAL)
    db.session.add(account)
    db.session.add(Membership(account=account, user=user, is_owner=True, can_tickets=True, can_billing=True,
                              can_services=True, can_vault_view=True, can_vault_edit=True, can_members=True))
    return account
