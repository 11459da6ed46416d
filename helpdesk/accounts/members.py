"""Who belongs to a customer account and what each may do (issue 18): the members list, a member's permissions,
removing a member, leaving, and staff adding an existing customer. Invitations by email: accounts.invitations.

The rules: members with the members permission (and owners) manage members; only an owner makes or unmakes
owners or changes an owner's membership, and a manager who is no owner grants only permissions they hold
themselves; staff (agents) manage members from the console; an account always keeps at least one owner. A
removed member loses the account at once (every request checks the membership) and their login sessions end.
Every public function that changes something is one transaction."""
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts import memberships, sessions
from helpdesk.accounts import service as accounts
from helpdesk.accounts.member_sentences import PERMISSION_LABELS, permission_words  # noqa: F401 (registers)
from helpdesk.accounts.models import PERM_MEMBERS, PERMISSIONS, CustomerAccount, Membership, User
from helpdesk.db import commit_service_call, parse_id
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l


class LastOwner(Conflict):
    """The change would leave the account without an owner."""

    message = _l("An account needs at least one owner. Make someone else an owner first.")


def is_staff(actor) -> bool:
    return bool(getattr(actor, "is_agent", False) or getattr(actor, "is_system", False))


def get_account(actor, account_id) -> CustomerAccount:
    """Account ``account_id`` for staff or one of its members; NotFound for anyone else."""
    account_id = parse_id(account_id)
    account = db.session.get(CustomerAccount, account_id) if account_id is not None else None
    if account is None or not (is_staff(actor) or memberships.membership(actor, account_id) is not None):
        raise NotFound()
    return account


def require_manager(actor, account_id) -> Membership | None:
    """The actor's membership when it may manage members of ``account_id`` (None for staff); NotFound for
    non-members and unknown accounts, NotAllowed for a member without the members permission."""
    if is_staff(actor):
        get_account(actor, account_id)
        return None
    return memberships.require_permission(actor, account_id, PERM_MEMBERS)


def granted(membership) -> list[str]:
    """The permissions ``membership`` has (all of them for an owner)."""
    return [p for p in PERMISSIONS if membership.allows(p)]


def check_grant(errors: dict, manager, permissions, owner=False, field="permissions") -> list[str]:
    """The known permissions among ``permissions``; a field error when ``manager`` (None: staff) may not
    grant them: a manager who is no owner grants only what they have, and never ownership."""
    wanted = [p for p in PERMISSIONS if p in set(permissions or ())]
    if len(wanted) != len(set(permissions or ())):
        errors[field] = _l("Choose from the permissions listed.")
    elif manager is not None and not manager.is_owner:
        if owner:
            errors["owner"] = _l("Only an owner can make someone an owner.")
        if not set(wanted) <= set(granted(manager)):
            errors[field] = _l("You can only give permissions you have yourself.")
    return wanted


def list_members(actor, account_id) -> list[Membership]:
    """The members of ``account_id``, owners first, then by name (managers and staff)."""
    require_manager(actor, account_id)
    return list(db.session.scalars(
        sa.select(Membership).join(User, Membership.user_id == User.id).where(Membership.account_id == account_id)
        .order_by(Membership.is_owner.desc(), sa.func.lower(User.full_name), User.email, Membership.id)))


def get_member(actor, account_id, membership_id) -> Membership:
    """One membership of ``account_id``; NotFound for an id of another account (or not an id)."""
    require_manager(actor, account_id)
    membership_id = parse_id(membership_id)
    found = db.session.get(Membership, membership_id) if membership_id is not None else None
    if found is None or found.account_id != parse_id(account_id):
        raise NotFound()
    return found


def _lock_owners(account_id) -> int:
    """How many owners ``account_id`` has, its memberships locked so two removals cannot both pass the check."""
    owners = db.session.scalars(sa.select(Membership.id).where(Membership.account_id == account_id,
                                                               Membership.is_owner.is_(True))
                                .with_for_update()).all()
    return len(owners)


def _keeps_an_owner(target):
    if target.is_owner and _lock_owners(target.account_id) <= 1:
        raise LastOwner()


def _apply(target, permissions, owner):
    target.is_owner = bool(owner)
    for permission in PERMISSIONS:
        setattr(target, f"can_{permission}", permission in permissions)


def set_permissions(actor, account_id, membership_id, *, permissions, owner=False) -> Membership:
    """Change what a member may do in ``account_id``. Owners only change owners and ownership; the last owner
    stays one (LastOwner)."""
    manager = require_manager(actor, account_id)
    target = get_member(actor, account_id, membership_id)
    if manager is not None and not manager.is_owner and target.is_owner:
        raise NotAllowed()
    errors = {}
    wanted = check_grant(errors, manager, permissions, owner)
    if errors:
        raise ValidationFailed(errors)
    if target.is_owner and not owner:
        _keeps_an_owner(target)
    old = {"owner": target.is_owner, "permissions": granted(target) if not target.is_owner else list(PERMISSIONS)}
    _apply(target, wanted, owner)
    memberships.forget_acting_accounts()
    audit.record(actor, "customer-account", target.account_id, "member-permissions-changed",
                 {"member": target.user_id, "owner": [old["owner"], bool(owner)],
                  "permissions": [old["permissions"], wanted]}, account_id=target.account_id)
    commit_service_call(db.session)
    return target


def remove_member(actor, account_id, membership_id) -> None:
    """Take a member out of ``account_id``: they lose it at once, and every login session of theirs ends (they
    log in again to go on in their other accounts). Only an owner (or staff) removes an owner; never the last."""
    manager = require_manager(actor, account_id)
    target = get_member(actor, account_id, membership_id)
    if manager is not None and not manager.is_owner and target.is_owner:
        raise NotAllowed()
    _keeps_an_owner(target)
    user = target.user
    db.session.delete(target)
    if user.id != getattr(actor, "id", None):
        sessions.end_other_sessions(user)
    memberships.forget_acting_accounts()
    audit.record(actor, "customer-account", target.account_id, "member-removed",
                 {"member": user.id, "email": user.email}, account_id=target.account_id)
    commit_service_call(db.session)


def leave(actor, account_id) -> None:
    """``actor`` stops being a member of ``account_id`` (the last owner cannot: LastOwner)."""
    own = memberships.membership(actor, account_id)
    if own is None:
        raise NotFound()
    _keeps_an_owner(own)
    db.session.delete(own)
    memberships.forget_acting_accounts()
    audit.record(actor, "customer-account", own.account_id, "member-left", {"member": actor.id},
                 account_id=own.account_id)
    commit_service_call(db.session)


def add_member(actor, account_id, *, email, permissions, owner=False) -> Membership:
    """Staff make an existing customer (by their login's address) a member of ``account_id``."""
    if not is_staff(actor):
        raise NotAllowed()
    account = get_account(actor, account_id)
    errors = {}
    wanted = check_grant(errors, None, permissions, owner)
    email = accounts.check_email(errors, "email", email)
    user = accounts.get_by_email(email) if email else None
    if email and (user is None or not user.is_customer):
        errors["email"] = _l("No customer has this address.")
    elif user is not None and memberships.membership(user, account.id) is not None:
        errors["email"] = _l("%(email)s is a member already.", email=email)
    if errors:
        raise ValidationFailed(errors)
    joined = join(account, user, wanted, owner)
    audit.record(actor, "customer-account", account.id, "member-added",
                 {"member": user.id, "owner": bool(owner), "permissions": wanted}, account_id=account.id)
    commit_service_call(db.session)
    return joined


def join(account, user, permissions, owner=False) -> Membership:
    """Make ``user`` a member of ``account`` with ``permissions`` (checked by the caller). Never commits."""
    joined = Membership(account=account, user=user, is_owner=bool(owner))
    _apply(joined, permissions, owner)
    db.session.add(joined)
    db.session.flush()
    memberships.forget_acting_accounts()
    return joined


def search_accounts(actor, text="", limit=50) -> list[CustomerAccount]:
    """Customer accounts whose name or a member's address contains ``text``, by name (staff only)."""
    if not is_staff(actor):
        raise NotAllowed()
    query = sa.select(CustomerAccount)
    words = " ".join((text or "").split())[:100].lower()
    if words:
        by_member = sa.select(Membership.account_id).join(User, Membership.user_id == User.id).where(
            sa.func.lower(User.email).contains(words, autoescape=True))
        query = query.where(sa.or_(sa.func.lower(CustomerAccount.name).contains(words, autoescape=True),
                                   CustomerAccount.id.in_(by_member)))
    return list(db.session.scalars(query.order_by(CustomerAccount.name, CustomerAccount.id).limit(limit)))
