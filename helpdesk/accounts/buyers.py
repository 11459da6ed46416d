"""Customer accounts that staff create for device buyers (issue 19): the login (a username besides the address,
no password), its own customer account and the identity data staff enter (full name, national ID, phone, address,
operator), which the customer only reads. The buyer chooses a password through a single-use link mailed to them
(SET_PASSWORD_LINK_DAYS); staff may send a new one, which ends the old. Staff never see nor set a password."""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from helpdesk import audit
from helpdesk.accounts import memberships, notifications, tokens
from helpdesk.accounts import service as accounts_service
from helpdesk.accounts.identity_models import AccountIdentity, account_for_national_id
from helpdesk.accounts.models import ROLE_CUSTOMER, AccountToken, CustomerAccount, Membership, User
from helpdesk.accounts.national_id import InvalidNationalId
from helpdesk.accounts.national_id import normalise as normalise_national_id
from helpdesk.accounts.service import check_email
from helpdesk.actors import CLI, SYSTEM
from helpdesk.db import commit_service_call, parse_id, utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.phones import InvalidPhone
from helpdesk.phones import normalise as normalise_phone
from helpdesk.sanitize import clean_name, strip_control

LINK_PURPOSE = "set-password"  # the token purpose of the mailed set-your-password link (accounts.tokens)
LINK_PATH = "/set-password/"  # the web door's page the link opens
ADDRESS_MAX = 1000
NAME_MAX = 200
USERNAME_MAX = 80
IDENTITY_FIELDS = ("full_name", "national_id", "phone", "address", "operator")


def _require_staff(actor) -> None:
    # The guest form is a system actor too: only staff, the helpdesk itself and the command line create buyers.
    if not (getattr(actor, "is_agent", False) or actor in (SYSTEM, CLI)):
        raise NotAllowed()


def mask_national_id(code: str | None) -> str:
    """A national ID for the audit trail and other places that need not show it whole: all but the last four
    digits hidden."""
    if not code:
        return ""
    return "*" * max(len(code) - 4, 0) + code[-4:]


def _link_lifetime() -> timedelta:
    return timedelta(days=int(current_app.config["SET_PASSWORD_LINK_DAYS"]))


# --------------------------------------------------------------------------- checking what staff typed

def _check_text(errors, field, value, limit, multiline=False) -> str:
    text = strip_control(value or "").strip() if multiline else clean_name(value, limit=limit + 1)
    if len(text) > limit:
        errors[field] = _l("Use at most %(num)d characters.", num=limit)
    return text


def _check_identity(errors, *, full_name, national_id, phone, address, operator, account_id=None) -> dict:
    """The identity fields cleaned (national ID normalised and not another account's, phone in E.164); every
    problem goes into ``errors``. A national ID another account holds is refused naming that account (only
    staff call this)."""
    values = {"full_name": clean_name(full_name, limit=NAME_MAX + 1),
              "address": _check_text(errors, "address", address, ADDRESS_MAX, multiline=True),
              "operator": _check_text(errors, "operator", operator, NAME_MAX)}
    if not values["full_name"]:
        errors["full_name"] = _l("Enter the buyer's full name.")
    elif len(values["full_name"]) > NAME_MAX:
        errors["full_name"] = _l("Use at most %(num)d characters.", num=NAME_MAX)
    try:
        values["national_id"] = normalise_national_id(national_id)
    except InvalidNationalId as exc:
        errors["national_id"] = exc.args[0]
    else:
        holder = account_for_national_id(values["national_id"])
        if holder is not None and holder.id != account_id:
            errors["national_id"] = _l("This national ID is already recorded for the account %(account)s (#%(id)s).",
                                       account=holder.name, id=holder.id)
    try:
        values["phone"] = normalise_phone(phone)
    except InvalidPhone as exc:
        errors["phone"] = exc.args[0]
    return values


def _check_username(errors, username) -> str | None:
    username = (username or "").strip()
    if not username:
        return None
    if "@" in username or len(username) > USERNAME_MAX or any(c.isspace() for c in username) \
            or strip_control(username) != username:
        errors["username"] = _l("Use up to 80 characters without spaces or @.")
    elif db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        errors["username"] = _l("This username is taken.")
    return username


def _check_login(errors, email, username, locale):
    """(normalised email, username, the passwordless customer record to take over or None)."""
    email = check_email(errors, "email", email or "")
    username = _check_username(errors, username)
    if locale and locale not in LANGUAGES:
        errors["locale"] = _l("Unsupported language.")
    existing = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if existing is not None:
        if existing.password_hash or not existing.is_customer:
            errors["email"] = _l("A user with this email address already exists.")
        elif _owned_identity(existing) is not None:
            errors["email"] = _l("This address already has a buyer account: send the link again from its page.")
    return email, username, existing


def _owned_identity(user):
    return db.session.scalar(sa.select(AccountIdentity).join(Membership, Membership.account_id ==
                                                             AccountIdentity.account_id)
                             .where(Membership.user_id == user.id, Membership.is_owner.is_(True)).limit(1))


# --------------------------------------------------------------------------- staff create and change

def create_buyer_account(actor, *, email, full_name, national_id, phone, address="", operator="", locale=None,
                         username=None) -> CustomerAccount:
    """Create a device buyer's login (role customer, no password, ``username`` besides ``email``), its own customer
    account (the login its owner, allowed everything) and the account's identity data, and mail the
    set-your-password link. Staff only. Every field error at once: the national ID's check digit and that no
    other account has it, the phone (E.164), the address not another login's (a passwordless customer record from
    earlier tickets is taken over, with its tickets). Audited."""
    _require_staff(actor)
    errors = {}
    email, username, existing = _check_login(errors, email, username, locale)
    identity = _check_identity(errors, full_name=full_name, national_id=national_id, phone=phone, address=address,
                               operator=operator)
    if errors:
        raise ValidationFailed(errors)
    user = existing or User(email=email, role=ROLE_CUSTOMER)
    user.full_name, user.username, user.locale = identity["full_name"], username, locale or None
    db.session.add(user)
    db.session.flush()
    account = memberships.ensure_personal_account(user)
    db.session.flush()
    db.session.add(AccountIdentity(account_id=account.id, updated_by_id=getattr(actor, "id", None), **identity))
    audit.record(actor, "customer-account", account.id, "buyer-created",
                 {"login": user.id, "email": email, "username": username,
                  "national_id": mask_national_id(identity["national_id"]), "taken_over": existing is not None},
                 account_id=account.id)
    _send_link(actor, user, account.id)
    user.welcomed_at = user.welcomed_at or utcnow()  # the link's mail is their welcome
    commit_service_call(db.session)
    return account


def _send_link(actor, user, account_id) -> None:
    days = int(current_app.config["SET_PASSWORD_LINK_DAYS"])
    token = tokens.issue(user, LINK_PURPOSE, _link_lifetime())  # an earlier link stops working
    notifications._send(user, "set_password",
                        lambda: gettext("Choose your %(brand)s password", brand=current_app.config["BRAND_NAME"]),
                        link=notifications._link(LINK_PATH + token), days=days,
                        login_name=user.username or user.email, portal_link=notifications._link("/"))
    audit.record(actor, "customer-account", account_id, "set-password-link-sent", {"login": user.id},
                 account_id=account_id)


def _buyer_login(account_id) -> User:
    """The login owning ``account_id`` (its first owner); NotFound for an account that is gone or has none."""
    owner = memberships.owner_id(account_id)
    if owner is None:
        raise NotFound()
    return db.session.get(User, owner)


def send_set_password_link(actor, account_id) -> User:
    """Mail the owner of ``account_id`` a new set-your-password link (the one sent before stops working). Staff
    only; Conflict once the owner has chosen a password (they use "Forgot your password?" from then on)."""
    _require_staff(actor)
    account = _account(account_id)
    user = _buyer_login(account.id)
    if user.password_hash:
        raise Conflict(_l("%(name)s has chosen a password already; they can ask for a reset link on the login "
                          "page.", name=user.display_name))
    if not user.active:
        raise Conflict(_l("%(name)s is deactivated.", name=user.display_name))
    _send_link(actor, user, account.id)
    commit_service_call(db.session)
    return user


def _account(account_id) -> CustomerAccount:
    account_id = parse_id(account_id)
    account = db.session.get(CustomerAccount, account_id) if account_id is not None else None
    if account is None:
        raise NotFound()
    return account


def update_identity(actor, account_id, *, full_name, national_id, phone, address="", operator="") -> AccountIdentity:
    """Change (or first enter) the identity data of ``account_id``. Staff only; checked as at creation; audited
    with each changed field's old and new value (the national ID masked to its last four digits)."""
    _require_staff(actor)
    account = _account(account_id)
    errors = {}
    values = _check_identity(errors, full_name=full_name, national_id=national_id, phone=phone, address=address,
                             operator=operator, account_id=account.id)
    if errors:
        raise ValidationFailed(errors)
    identity = db.session.get(AccountIdentity, account.id)
    if identity is None:
        identity = AccountIdentity(account_id=account.id, full_name="", address="", operator="")
        db.session.add(identity)
    changes = {}
    for name in IDENTITY_FIELDS:
        old, new = getattr(identity, name), values[name]
        if (old or "") != (new or ""):
            changes[name] = ([mask_national_id(old), mask_national_id(new)] if name == "national_id"
                             else [old, new])
            setattr(identity, name, new)
    if changes:
        identity.updated_by_id = getattr(actor, "id", None)
        identity.updated_at = utcnow()
        audit.record(actor, "customer-account", account.id, "identity-changed", changes, account_id=account.id)
    commit_service_call(db.session)
    return identity


# --------------------------------------------------------------------------- reading

def identity_of(actor, account_id) -> AccountIdentity | None:
    """The identity data of ``account_id`` (None when staff entered none). Staff: any account's; a customer: only
    an account they own (NotFound for an account they are not a member of, NotAllowed for a member who is not an
    owner: the national ID is the owner's own)."""
    if not getattr(actor, "is_agent", False):
        found = memberships.membership(actor, account_id)
        if found is None:
            raise NotFound()
        if not found.is_owner:
            raise NotAllowed()
        return db.session.get(AccountIdentity, found.account_id)
    return db.session.get(AccountIdentity, _account(account_id).id)


@dataclass(frozen=True)
class Buyer:
    """A customer account as the console's buyer page shows it: the account, its identity data (None when none was
    entered), its owning login, and until when the set-password link works (None: none waiting)."""

    account: CustomerAccount
    identity: AccountIdentity | None
    login: User | None
    link_expires_at: object

    @property
    def password_chosen(self) -> bool:
        return bool(self.login is not None and self.login.password_hash)


def buyer(actor, account_id) -> Buyer:
    """The console's view of ``account_id`` as a buyer's account. Staff only (customers: NotFound)."""
    if not getattr(actor, "is_agent", False):
        raise NotFound()
    account = _account(account_id)
    owner = memberships.owner_id(account.id)
    login = db.session.get(User, owner) if owner is not None else None
    expires = None
    if login is not None:
        expires = db.session.scalar(
            sa.select(sa.func.max(AccountToken.expires_at))
            .where(AccountToken.user_id == login.id, AccountToken.purpose == LINK_PURPOSE,
                   AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow()))
    return Buyer(account=account, identity=db.session.get(AccountIdentity, account.id), login=login,
                 link_expires_at=expires)


# --------------------------------------------------------------------------- the buyer's link

def link_is_valid(token: str) -> bool:
    """Whether a mailed set-password link can still be used (to show the form, or the page that it expired)."""
    return accounts_service.link_is_valid(LINK_PURPOSE, token)


def set_password_with_link(token: str, password: str) -> User:
    """The buyer chooses their password through the mailed link and is returned, active, for the door to log in.
    The link works once and until it expires (LinkExpired otherwise, also for a deactivated login); the password
    meets the site's rules; other sessions end and the login's throttle is cleared."""
    user = accounts_service.set_password_through_link(LINK_PURPOSE, token, password)
    user.activated_at = user.activated_at or utcnow()
    audit.record(user, "user", user.id, "password-set-by-link", {})
    commit_service_call(db.session)
    return user
