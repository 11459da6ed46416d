"""The devices' shared tables: the catalogue of device types and the devices buyers own. The tables of contracts,
cases, confirmations, transfers and licences live in the modules that own them (``*_models.py``)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# What the buyer chose for after-sales service once the contract runs out (the status is derived from this, the
# dates and the contracts: see devices.status).
PLAN_CONTRACT, PLAN_PAY_PER_CASE, PLAN_CANCELLED = "contract", "pay_per_case", "cancelled"
PLANS = (PLAN_CONTRACT, PLAN_PAY_PER_CASE, PLAN_CANCELLED)
PLAN_LABELS = {PLAN_CONTRACT: _l("Service contract"), PLAN_PAY_PER_CASE: _l("Pay per case"),
               PLAN_CANCELLED: _l("Service cancelled")}


class DeviceType(db.Model):
    """A brand and model in the seller's catalogue. The knowledge base files articles and videos under it (its
    ``code`` is what an article's product field holds)."""

    __tablename__ = "device_types"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(60), nullable=False, unique=True)  # a short stable key, e.g. "acme-x200"
    brand = sa.Column(sa.String(100), nullable=False)
    model = sa.Column(sa.String(100), nullable=False)
    # Default lengths when staff register a device of this type (months; 0: none).
    warranty_months = sa.Column(sa.Integer, nullable=False, default=12, server_default="12")
    service_months = sa.Column(sa.Integer, nullable=False, default=12, server_default="12")
    active = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    # The billing product (kind DEVICE_CONTRACT) whose yearly, biennial and triennial prices a renewal of this
    # type's devices costs; None: renewals are not sold online for this type.
    contract_product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.brand} {self.model}"


class Device(db.Model):
    """One device a customer account owns. Dates are calendar days in the business time zone; the service
    contract's end is kept here (the latest paid or granted contract's end) so lists need no join."""

    __tablename__ = "devices"
    __table_args__ = (sa.Index("ix_devices_service_ends_on", "service_ends_on"),)

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    device_type_id = sa.Column(sa.Integer, sa.ForeignKey("device_types.id"), nullable=False, index=True)
    serial_number = sa.Column(sa.String(100), nullable=False, default="", index=True)
    dongle_id = sa.Column(sa.String(100), nullable=False, default="")  # dongle or user ID, when there is one
    installed_on = sa.Column(sa.Date)
    warranty_ends_on = sa.Column(sa.Date)
    service_ends_on = sa.Column(sa.Date)  # exclusive: the first day without contract service
    plan = sa.Column(sa.String(20), nullable=False, default=PLAN_CONTRACT, server_default=PLAN_CONTRACT)
    # Where the contract ending on service_ends_on came from ("initial", "renewal", "granted": devices.status), so
    # the status ("renewed") is derived without a query; None while there is none.
    contract_source = sa.Column(sa.String(20))
    # Set once the buyer signed the installation confirmation (devices.installation); service starts then.
    confirmed_at = sa.Column(UTCDateTime)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))

    device_type = relationship(DeviceType)
