"""Where to write to a customer, per purpose: invoices and orders, support, abuse (issue 17). Each purpose may
name its own addresses, several of them; each is used once confirmed through a link mailed to it. Until a
purpose has a confirmed address, its mail goes to the login's own address. Every domain asks here instead of
reading ``user.email``. Every public function that changes something is one transaction."""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts import notifications, tokens
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import ContactAddress
from helpdesk.accounts.service import check_email
from helpdesk.db import commit_service_call, parse_id, transaction_cache, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name

PURPOSE_BILLING, PURPOSE_SUPPORT, PURPOSE_ABUSE = "billing", "support", "abuse"
PURPOSES = (PURPOSE_BILLING, PURPOSE_SUPPORT, PURPOSE_ABUSE)
PURPOSE_LABELS = {PURPOSE_BILLING: _l("Invoices and orders"), PURPOSE_SUPPORT: _l("Support"),
                  PURPOSE_ABUSE: _l("Abuse reports")}
MAX_PER_PURPOSE = 10


@dataclass(frozen=True)
class Address:
    email: str
    name: str


def addresses_for(user, purpose: str) -> list[Address]:
    """The addresses that receive ``purpose`` mail for ``user`` (a customer): their confirmed addresses for
    that purpose, else their own. Never empty for a user with an email address."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    confirmed = _confirmed(user, purpose)
    if confirmed:
        return [Address(email, name or user.full_name or "") for email, name in confirmed]
    return [Address(user.email, user.full_name or "")] if user.email else []


def prefetch_confirmed(users, purpose: str):
    """Read the confirmed ``purpose`` addresses of ``users`` (those already stored) in one query into this
    transaction's cache, for a batch that notifies many of them (``addresses_for`` then asks nothing)."""
    cache = transaction_cache(db.session, "contact_addresses")
    ids = [user.id for user in users if sa.inspect(user).identity is not None and (user.id, purpose) not in cache]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found = {user_id: [] for user_id in chunk}
        for user_id, email, name in db.session.execute(
                sa.select(ContactAddress.user_id, ContactAddress.email, ContactAddress.name)
                .where(ContactAddress.user_id.in_(chunk), ContactAddress.purpose == purpose,
                       ContactAddress.confirmed_at.is_not(None)).order_by(ContactAddress.id)):
            found[user_id].append((email, name))
        cache.update({(user_id, purpose): rows for user_id, rows in found.items()})


def _confirmed(user, purpose):
    """(email, name) of ``user``'s confirmed addresses for ``purpose``, read once per transaction (a mail batch
    notifies the same customer many times); none for a user this transaction creates (the mail gateway's new
    senders), without a query."""
    if sa.inspect(user).identity is None:
        return []
    cache = transaction_cache(db.session, "contact_addresses")
    key = (user.id, purpose)
    if key not in cache:
        cache[key] = db.session.execute(
            sa.select(ContactAddress.email, ContactAddress.name)
            .where(ContactAddress.user_id == user.id, ContactAddress.purpose == purpose,
                   ContactAddress.confirmed_at.is_not(None))
            .order_by(ContactAddress.id)).all()
    return cache[key]


def _forget_cached():
    transaction_cache(db.session, "contact_addresses").clear()


def is_confirmed_address(user, purpose: str, email: str) -> bool:
    """Whether ``email`` is one of ``user``'s confirmed addresses for ``purpose`` (mail from it speaks for them
    where mail to it was sent, e.g. a reply to a ticket notice)."""
    return user is not None and user.id is not None and db.session.scalar(
        sa.select(ContactAddress.id).where(ContactAddress.user_id == user.id, ContactAddress.purpose == purpose,
                                           ContactAddress.email == (email or "").lower(),
                                           ContactAddress.confirmed_at.is_not(None))) is not None


# --------------------------------------------------------------------------- the customer's own list

def _require_own(actor, user):
    if not (actor.is_system or actor.is_admin or getattr(actor, "id", None) == user.id):
        raise NotAllowed()


def list_addresses(actor, user) -> list[ContactAddress]:
    """``user``'s notification addresses by purpose, then in the order added (the user themself or an admin)."""
    _require_own(actor, user)
    order = sa.case({purpose: n for n, purpose in enumerate(PURPOSES)}, value=ContactAddress.purpose)
    return db.session.scalars(sa.select(ContactAddress).where(ContactAddress.user_id == user.id)
                              .order_by(order, ContactAddress.id)).all()


def get_address(actor, user, address_id) -> ContactAddress:
    """One of ``user``'s addresses; NotFound for an id that is not theirs (or not an id)."""
    _require_own(actor, user)
    address_id = parse_id(address_id)
    address = db.session.get(ContactAddress, address_id) if address_id else None
    if address is None or address.user_id != user.id:
        raise NotFound()
    return address


def _token_purpose(address) -> str:
    # One purpose per address: a new link for one address leaves the links of the others working.
    return f"contact:{address.id}"


def _send_confirmation(user, address):
    hours = current_app.config["ACTIVATION_TOKEN_HOURS"]
    token = tokens.issue(user, _token_purpose(address), timedelta(hours=hours))
    notifications.send_contact_confirmation(user, address, token, hours, PURPOSE_LABELS[address.purpose])


def add_address(actor, user, *, purpose, email, name="") -> ContactAddress:
    """Name ``email`` as an address for ``purpose`` mail of ``user`` and mail it a confirmation link (the user
    themself or an admin). The login's own address is confirmed already. At most MAX_PER_PURPOSE per purpose;
    an address is listed once per purpose."""
    _require_own(actor, user)
    errors = {}
    if purpose not in PURPOSES:
        errors["purpose"] = _l("Choose what the address is for.")
    email = check_email(errors, "email", email)
    name = clean_name(name, limit=201)
    if len(name) > 200:
        errors["name"] = _l("Use at most %(num)d characters.", num=200)
    if not errors:
        taken = db.session.scalars(sa.select(ContactAddress.email).where(
            ContactAddress.user_id == user.id, ContactAddress.purpose == purpose)).all()
        if email in taken:
            errors["email"] = _l("This address is listed for this purpose already.")
        elif len(taken) >= MAX_PER_PURPOSE:
            errors["email"] = _l("Up to %(num)d addresses can receive this mail.", num=MAX_PER_PURPOSE)
    if errors:
        raise ValidationFailed(errors)
    own = email == user.email
    address = ContactAddress(user_id=user.id, purpose=purpose, email=email, name=name, created_at=utcnow(),
                             confirmed_at=utcnow() if own else None)
    db.session.add(address)
    db.session.flush()
    if not own:
        _send_confirmation(user, address)
    _forget_cached()
    audit.record(actor, "user", user.id, "contact-address-added", {"purpose": purpose, "email": email})
    commit_service_call(db.session)
    return address


def resend_confirmation(actor, user, address_id) -> ContactAddress:
    """Mail a new confirmation link to one of ``user``'s unconfirmed addresses (earlier links stop working)."""
    address = get_address(actor, user, address_id)
    if address.confirmed_at is not None:
        raise ValidationFailed({"email": _l("%(email)s is confirmed already.", email=address.email)})
    _send_confirmation(user, address)
    commit_service_call(db.session)
    return address


def remove_address(actor, user, address_id) -> None:
    """Stop sending mail to one of ``user``'s addresses; its confirmation links stop working."""
    address = get_address(actor, user, address_id)
    _spend_links(address)
    db.session.delete(address)
    _forget_cached()
    audit.record(actor, "user", user.id, "contact-address-removed",
                 {"purpose": address.purpose, "email": address.email})
    commit_service_call(db.session)


def _spend_links(address):
    tokens.revoke(address.user, _token_purpose(address))


def confirmation_is_valid(address_id, token: str) -> bool:
    """Whether an emailed confirmation link can still be used (to show its page or say it expired)."""
    return _address_of_link(address_id, token) is not None


def _address_of_link(address_id, token, lock=False):
    address_id = parse_id(address_id)
    if address_id is None:
        return None
    row = tokens.find_valid(f"contact:{address_id}", token, lock=lock)
    address = db.session.get(ContactAddress, address_id) if row is not None else None
    # A link older than its address was sent for an earlier address that had the same id (SQLite reuses them).
    if address is None or address.user_id != row.user_id or row.created_at < address.created_at:
        return None
    return address


def confirm_address(address_id, token: str) -> ContactAddress:
    """Confirm an address through the link mailed to it: whoever holds the link reads that mailbox. The link
    works once and until ACTIVATION_TOKEN_HOURS after it was sent; LinkExpired otherwise."""
    address = _address_of_link(address_id, token, lock=True)
    if address is None:
        raise LinkExpired()
    tokens.spend(_token_purpose(address), token)
    if address.confirmed_at is None:
        address.confirmed_at = utcnow()
        _forget_cached()
        audit.record(address.user, "user", address.user_id, "contact-address-confirmed",
                     {"purpose": address.purpose, "email": address.email})
    commit_service_call(db.session)
    return address
