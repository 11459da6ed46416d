"""The domains' tables: cached availability answers, and the customers' domain requests."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

AVAILABLE, TAKEN, UNKNOWN = "available", "taken", "unknown"
AVAILABILITY_LABELS = {AVAILABLE: _l("Available"), TAKEN: _l("Taken"), UNKNOWN: _l("Unknown")}

REGISTER, TRANSFER = "register", "transfer"
ACTION_LABELS = {REGISTER: _l("Registration"), TRANSFER: _l("Transfer")}

REQUEST_OPEN, REQUEST_DONE, REQUEST_REJECTED = "open", "done", "rejected"
REQUEST_STATUS_LABELS = {REQUEST_OPEN: _l("Submitted, in progress"), REQUEST_DONE: _l("Done"),
                         REQUEST_REJECTED: _l("Rejected")}


class DomainCheck(db.Model):
    """The last answer about one name (ASCII), kept until ``expires_at`` (short for "unknown") so that repeated
    checks do not ask the registries again; shared by every web process."""

    __tablename__ = "domain_checks"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(253), nullable=False, unique=True)
    status = sa.Column(sa.String(20), nullable=False)
    source = sa.Column(sa.String(20), nullable=False, default="")  # rdap, whois, or "" when nobody answered
    checked_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)


class DomainRequest(db.Model):
    """A customer account's request to register or transfer a domain, filed on an active service that entitles
    it (a domain bought, or a package with a free domain; one open or done request per service). Staff mark it
    done or reject it with a reason, or send it to the registrar; the customer sees its status."""

    __tablename__ = "domain_requests"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), nullable=False, index=True)
    requested_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    name = sa.Column(sa.String(253), nullable=False)  # ASCII (an IDN in punycode)
    display_name = sa.Column(sa.String(253), nullable=False)  # as people read it (Unicode)
    action = sa.Column(sa.String(20), nullable=False, default=REGISTER)
    # The transfer's authorisation code: given to the registrar, wiped once the request is decided.
    auth_code = sa.Column(sa.String(255), nullable=False, default="")
    registrant_name = sa.Column(sa.String(200), nullable=False)
    registrant_organisation = sa.Column(sa.String(200), nullable=False, default="")
    registrant_email = sa.Column(sa.String(254), nullable=False)
    registrant_phone = sa.Column(sa.String(50), nullable=False, default="")
    registrant_address = sa.Column(sa.String(1000), nullable=False, default="")
    registrant_country = sa.Column(sa.String(2), nullable=False, default="")
    nameservers = sa.Column(sa.JSON, nullable=False, default=list)
    status = sa.Column(sa.String(20), nullable=False, default=REQUEST_OPEN, index=True)
    reason = sa.Column(sa.String(2000), nullable=False, default="")  # why it was rejected (the customer reads it)
    registrar_reference = sa.Column(sa.String(200), nullable=False, default="")
    registrar_error = sa.Column(sa.String(500), nullable=False, default="")  # the last failure, for staff
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    decided_at = sa.Column(UTCDateTime)
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))

    service = relationship("Service")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
