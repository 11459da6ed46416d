"""Who may act for which customer account (issue 18). The one place every domain asks: a door passes the account
a request acts for (the portal's account switcher, an API token's account) and the domain checks it here on every
call, so an account id in a request can never be forged into access. Not a member: NotFound (the account's
existence is not revealed); a member without the permission: NotAllowed."""
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts.models import ACCOUNT_BUSINESS, ACCOUNT_INDIVIDUAL, PERMISSIONS, CustomerAccount, Membership
from helpdesk.db import parse_id, transaction_cache
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
    if user is None or getattr(user, "id", None) is None:
        return None
    chosen = getattr(user, "acting_account_id", None)
    # Read once per transaction (a request's audit rows and checks ask many times); forget_acting_accounts()
    # after a change of memberships in the same transaction.
    cache = transaction_cache(db.session, "acting_account")
    key = (user.id, chosen)
    if key not in cache:
        if chosen is not None and membership(user, chosen) is not None:
            cache[key] = chosen
        else:
            cache[key] = default_account_id(user)
    return cache[key]


def forget_acting_accounts():
    """Forget what ``acting_account_id`` read in this transaction (memberships changed)."""
    transaction_cache(db.session, "acting_account").clear()


def _account_for_audit(actor):
    """The account an audit row of ``actor`` is for: a customer's acting account; nothing (and no query) for
    staff and the helpdesk's own actors."""
    return acting_account_id(actor) if getattr(actor, "is_customer", False) else None


# The audit trail sits below this package: it asks through this hook which account a customer acted for.
audit.find_accounts_with(_account_for_audit)


def ensure_personal_account(user) -> CustomerAccount:
    """``user``'s own account (they are its owner), made on first need for a customer who has none: named after
    their organisation (a business) or themselves (an individual). Never commits."""
    if sa.inspect(user).persistent is False and getattr(user, "_personal_account", None) is not None:
        return user._personal_account  # opened earlier in this transaction, not written yet
    owned = db.session.scalar(sa.select(CustomerAccount).join(Membership)
                              .where(Membership.user_id == user.id, Membership.is_owner.is_(True))
                              .order_by(CustomerAccount.id).limit(1))
    if owned is not None:
        return owned
    return open_personal_account(user)


def open_personal_account(user) -> CustomerAccount:
    """Open ``user``'s own account with them as its owner, without looking for one they have: for a customer
    the caller creates in this transaction (the mail gateway's batches add one per new sender, no query).
    Named after their organisation or the company they registered with (a business), else themselves (an
    individual); ticket sharing as their organisation has it. Never commits."""
    organisation = getattr(user, "organisation", None)
    company = (organisation.name if organisation else None) or getattr(user, "company_name", None)
    account = CustomerAccount(name=(company or user.full_name or user.email)[:200],
                              kind=ACCOUNT_BUSINESS if company else ACCOUNT_INDIVIDUAL,
                              share_tickets=bool(organisation and organisation.share_tickets))
    db.session.add(account)
    db.session.add(Membership(account=account, user=user, is_owner=True,
                              **{f"can_{permission}": True for permission in PERMISSIONS}))
    user._personal_account = account
    forget_acting_accounts()
    return account


def account_name(account_id) -> str | None:
    """The name of account ``account_id`` (for a page that names the acting account), None when it is gone."""
    account_id = parse_id(account_id)
    return db.session.scalar(sa.select(CustomerAccount.name).where(CustomerAccount.id == account_id)) \
        if account_id is not None else None


def default_account(user) -> CustomerAccount | None:
    """The account records someone else makes for ``user`` belong to (staff opening a ticket for them, the mail
    gateway): their default account (as ``default_account_id``), read once per transaction for each user, since a
    mail batch opens many tickets for one sender; for a user this transaction creates, the account made with them
    in this session, if any, without a query."""
    if user is None:
        return None
    if sa.inspect(user).identity is None:
        return getattr(user, "_personal_account", None) or next(
            (row.account for row in db.session.new if isinstance(row, Membership) and row.user is user), None)
    cache = transaction_cache(db.session, "default_accounts")
    if user.id not in cache:
        cache[user.id] = db.session.scalar(
            sa.select(CustomerAccount).join(Membership).where(Membership.user_id == user.id)
            .order_by(Membership.is_owner.desc(), CustomerAccount.name, CustomerAccount.id).limit(1))
    return cache[user.id]


def prefetch_default_accounts(users):
    """Read the default accounts of ``users`` (those already stored) in one query into this transaction's cache,
    for a batch that opens tickets for many of them (``default_account`` then asks nothing)."""
    cache = transaction_cache(db.session, "default_accounts")
    ids = [user.id for user in users if sa.inspect(user).identity is not None and user.id not in cache]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        ranked = (sa.select(Membership.user_id, Membership.account_id, sa.func.row_number().over(
            partition_by=Membership.user_id,
            order_by=(Membership.is_owner.desc(), CustomerAccount.name, CustomerAccount.id)).label("rank"))
                  .join(CustomerAccount, CustomerAccount.id == Membership.account_id)
                  .where(Membership.user_id.in_(chunk)).subquery())
        first = dict(db.session.execute(sa.select(ranked.c.user_id, ranked.c.account_id)
                                        .where(ranked.c.rank == 1)).all())
        accounts = {account.id: account for account in db.session.scalars(
            sa.select(CustomerAccount).where(CustomerAccount.id.in_(set(first.values()))))} if first else {}
        for user_id in chunk:
            cache[user_id] = accounts.get(first.get(user_id))


def owner_id(account_id) -> int | None:
    """The login that owns ``account_id`` (the first, if several do): who its mail goes to by default."""
    return db.session.scalar(sa.select(Membership.user_id).where(Membership.account_id == account_id,
                                                                 Membership.is_owner.is_(True))
                             .order_by(Membership.id).limit(1))
