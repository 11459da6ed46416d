"""Permission-checked reads of people for doors that list them (the API's customers, organisations and customer
accounts): selects a caller pages through, and single rows. Staff read every customer and organisation; a customer
reads only the accounts they are a member of. A customer asking for a customer or an organisation gets NotFound
(the staff console hides them the same way); for a list, NotAllowed."""
import sqlalchemy as sa

from helpdesk.accounts import members
from helpdesk.accounts.models import ROLE_CUSTOMER, CustomerAccount, Membership, Organisation, User
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db


def _words(text) -> str:
    return " ".join((text or "").split())[:100].lower()


def _require_staff(actor) -> None:
    if not members.is_staff(actor):
        raise NotAllowed()


def customers(actor, text=""):
    """A select of the customers (logins with the customer role) whose name or address contains ``text``
    (staff only; callers add order and limits)."""
    _require_staff(actor)
    query = sa.select(User).where(User.role == ROLE_CUSTOMER)
    words = _words(text)
    if words:
        query = query.where(sa.or_(sa.func.lower(User.full_name).contains(words, autoescape=True),
                                   sa.func.lower(User.email).contains(words, autoescape=True)))
    return query


def get_customer(actor, user_id) -> User:
    """Customer ``user_id`` (staff only); NotFound for anyone else, and for staff logins."""
    user_id = parse_id(user_id)
    user = db.session.get(User, user_id) if user_id is not None and members.is_staff(actor) else None
    if user is None or not user.is_customer:
        raise NotFound()
    return user


def organisations(actor, text=""):
    """A select of the organisations whose name or customer number contains ``text`` (staff only)."""
    _require_staff(actor)
    query = sa.select(Organisation)
    words = _words(text)
    if words:
        query = query.where(sa.or_(sa.func.lower(Organisation.name).contains(words, autoescape=True),
                                   sa.func.lower(Organisation.customer_number).contains(words, autoescape=True)))
    return query


def get_organisation(actor, organisation_id) -> Organisation:
    """Organisation ``organisation_id`` (staff only); NotFound for anyone else."""
    organisation_id = parse_id(organisation_id)
    found = db.session.get(Organisation, organisation_id) \
        if organisation_id is not None and members.is_staff(actor) else None
    if found is None:
        raise NotFound()
    return found


def accounts(actor, text=""):
    """A select of the customer accounts ``actor`` may open: staff every account (whose name or a member's
    address contains ``text``), a customer the accounts they are a member of."""
    query = sa.select(CustomerAccount)
    if not members.is_staff(actor):
        mine = sa.select(Membership.account_id).where(Membership.user_id == getattr(actor, "id", None))
        query = query.where(CustomerAccount.id.in_(mine))
    words = _words(text)
    if words:
        by_member = sa.select(Membership.account_id).join(User, Membership.user_id == User.id).where(
            sa.func.lower(User.email).contains(words, autoescape=True))
        query = query.where(sa.or_(sa.func.lower(CustomerAccount.name).contains(words, autoescape=True),
                                   CustomerAccount.id.in_(by_member)))
    return query


def member_by_login(actor, account_id, user_id) -> Membership:
    """The membership of login ``user_id`` in ``account_id``, for those who manage its members (staff, members
    with the members permission); NotFound for non-members of the account and for a login that is no member."""
    members.require_manager(actor, account_id)
    user_id = parse_id(user_id)
    found = db.session.scalar(sa.select(Membership).where(Membership.account_id == parse_id(account_id),
                                                          Membership.user_id == user_id)) \
        if user_id is not None else None
    if found is None:
        raise NotFound()
    return found

