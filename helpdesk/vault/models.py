"""The credential vault's table: per customer account, the access data of its services (issue 18)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.accounts.models import CustomerAccount
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

# The fields sealed at rest (see vault.crypto); the secrets among them are shown only through an audited reveal.
SEALED_FIELDS = ("username", "password", "notes")
SECRET_FIELDS = ("password", "notes")


class VaultEntry(db.Model):
    """One line of an account's access data: a service, its address, a login and its password, notes. The
    service and the address are plain (the list is ordered and shown by them); the user name, the password and
    the notes are sealed values (``*_sealed``) whose associated data is this row's place."""

    __tablename__ = "vault_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    service = sa.Column(sa.String(200), nullable=False)
    url = sa.Column(sa.String(500), nullable=False, default="")
    # None: no value (nothing to reveal).
    username_sealed = sa.Column(sa.Text)
    password_sealed = sa.Column(sa.Text)
    notes_sealed = sa.Column(sa.Text)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # Who last changed the entry (the list says so); None once that login is deleted.
    updated_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))

    account = relationship(CustomerAccount)
    updated_by = relationship("User")

    def sealed(self, field: str):
        return getattr(self, f"{field}_sealed")

    def set_sealed(self, field: str, value) -> None:
        setattr(self, f"{field}_sealed", value)
