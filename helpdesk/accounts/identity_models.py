"""Identity data of a customer account that staff enter and the customer only reads (issue 19: device buyers):
full name, Iranian national ID (accounts.national_id), phone (E.164), address, the device's operator or company.
One row per account; the customer asks for a correction through a ticket."""
import sqlalchemy as sa

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db


class AccountIdentity(db.Model):
    __tablename__ = "account_identities"

    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), primary_key=True)
    full_name = sa.Column(sa.String(200), nullable=False, default="")
    national_id = sa.Column(sa.String(10), unique=True)  # ten ASCII digits, check digit valid; None: not given
    phone = sa.Column(sa.String(20))  # E.164
    address = sa.Column(sa.String(1000), nullable=False, default="")
    operator = sa.Column(sa.String(200), nullable=False, default="")  # the operator or company using the device
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))


def account_for_national_id(code: str):
    """The customer account whose identity holds the normalised national ID ``code``, or None."""
    from helpdesk.accounts.models import CustomerAccount

    return db.session.scalar(sa.select(CustomerAccount).join(AccountIdentity,
                                                             AccountIdentity.account_id == CustomerAccount.id)
                             .where(AccountIdentity.national_id == code))


def account_recipients(account_id, permission: str | None = None) -> tuple:
    """Who hears about an account's devices, contracts and debts (a ``notify`` Recipient each): its owners, and
    the members holding ``permission`` when one is named (e.g. PERM_SERVICES). Email from the login (or the
    confirmed address for the service purpose), the phone from the account's identity data for the owners (staff
    entered it) or the login's own phone, each in the login's language."""
    from helpdesk.accounts.contacts import PURPOSE_SUPPORT, addresses_for
    from helpdesk.accounts.models import PERMISSIONS, Membership, User
    from helpdesk.notify.channels import Recipient
    from helpdesk.phones import normalise_or_none

    members = sa.select(User, Membership.is_owner).join(Membership, Membership.user_id == User.id).where(
        Membership.account_id == account_id, User.active.is_(True))
    if permission is not None:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        allowed = getattr(Membership, f"can_{permission}")
        members = members.where(sa.or_(Membership.is_owner.is_(True), allowed.is_(True)))
    else:
        members = members.where(Membership.is_owner.is_(True))
    identity = db.session.get(AccountIdentity, account_id)
    recipients = []
    for user, is_owner in db.session.execute(members.order_by(Membership.id)).all():
        phone = (identity.phone if is_owner and identity is not None and identity.phone
                 else normalise_or_none(user.phone))
        addresses = addresses_for(user, PURPOSE_SUPPORT) or [None]
        for index, address in enumerate(addresses):
            recipients.append(Recipient(email=address.email if address else None,
                                        name=(address.name if address else "") or user.full_name or "",
                                        locale=user.locale, user_id=user.id,
                                        phone=phone if index == 0 else None))
    return tuple(recipients)
