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
