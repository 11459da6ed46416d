"""Identity verification of individual accounts (issue 18): the verification state on each customer account, the ID
documents uploaded for it (kept apart from ticket attachments), the staff allowed to see them, and the orders held
until an account is verified."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.accounts.models import CustomerAccount, User
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

# The verification states of an account: never asked; asked (by staff, or by its first order); a document waits for
# staff; verified; rejected (with a reason; the customer may upload again).
STATUS_NONE, STATUS_REQUESTED, STATUS_PENDING = "none", "requested", "pending"
STATUS_VERIFIED, STATUS_REJECTED = "verified", "rejected"
STATUSES = (STATUS_NONE, STATUS_REQUESTED, STATUS_PENDING, STATUS_VERIFIED, STATUS_REJECTED)

# The state lives on customer_accounts (one row per account, read with it everywhere). The columns are added to
# the mapped class here, where the feature lives, rather than in accounts/models.py: declarative classes take
# columns assigned after their creation into their table and mapper.
CustomerAccount.verification_status = sa.Column(sa.String(20), nullable=False, default=STATUS_NONE,
                                                server_default=STATUS_NONE)
CustomerAccount.verification_requested_at = sa.Column(UTCDateTime)
CustomerAccount.verification_reason = sa.Column(sa.Text)  # why it was rejected, as staff wrote it to the customer
CustomerAccount.verification_decided_at = sa.Column(UTCDateTime)
CustomerAccount.verification_decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))


class IdentityDocument(db.Model):
    """An ID document (image or PDF) uploaded for an account. Its file lives under the instance's
    identity-documents folder by a random key, never with ticket attachments; the file is deleted
    IDENTITY_DOCUMENT_RETENTION_DAYS after the decision, the row stays as the record that it existed."""

    __tablename__ = "identity_documents"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    uploaded_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    storage_key = sa.Column(sa.String(64), nullable=False, unique=True)
    content_type = sa.Column(sa.String(100), nullable=False)  # from the content (magic bytes), not the name
    size = sa.Column(sa.Integer, nullable=False)
    original_name = sa.Column(sa.String(255), nullable=False)  # cleaned (uploads.clean_filename)
    uploaded_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    decided_at = sa.Column(UTCDateTime, index=True)
    deleted_at = sa.Column(UTCDateTime)
    # The ticket in the verification queue this upload opened.
    ticket_id = sa.Column(sa.Integer, sa.ForeignKey("tickets.id", ondelete="SET NULL"))

    account = relationship(CustomerAccount)
    uploaded_by = relationship(User)


class VerificationStaff(db.Model):
    """Agents who may see ID documents and decide verifications; admins always may (as BillingStaff for
    billing)."""

    __tablename__ = "verification_staff"

    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                        autoincrement=False)
    granted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    granted_by_id = sa.Column(sa.Integer)


class HeldOrder(db.Model):
    """An order put on billing's manual hold because its account's identity was not verified yet; released
    (``released_at``) when staff verify the account. Orders held by staff for other reasons are not here."""

    __tablename__ = "identity_held_orders"

    order_id = sa.Column(sa.Integer, sa.ForeignKey("billing_orders.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    held_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    released_at = sa.Column(UTCDateTime)
