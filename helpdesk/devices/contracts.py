"""A device's service contracts and what its buyer chooses when one ends: renew for 1, 2 or 3 years (a billing order
of the device type's contract product, paid through billing's payment pages; billing hands the paid order back to
``fulfil`` here through billing.fulfilment), switch to pay-per-case, or cancel. Staff add (grant) periods.

A renewal extends the contract from its current end, or from today when it has ended already; a billing service
is fulfilled once (its id is unique among contracts), so a replayed payment changes nothing. The renewal is the
buyer's choice on the device page: billing's automatic renewal of the service is switched off when it is
fulfilled (its next due date cleared)."""
import logging
import re
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts.memberships import acting_account_id, require_permission
from helpdesk.accounts.models import PERM_BILLING, PERM_SERVICES
from helpdesk.billing import customers, orders
from helpdesk.billing.catalogue_models import BIENNIAL, DEVICE_CONTRACT, TRIENNIAL, YEARLY, Product
from helpdesk.billing.invoices import business_date
from helpdesk.billing.models import SERVICE_PENDING, BillingAccount, Service
from helpdesk.billing.pricing import CartItem
from helpdesk.billing.services import add_months
from helpdesk.db import Batch, begin_write, commit_service_call, in_batch
from helpdesk.devices import events
from helpdesk.devices.contract_models import DeviceContract
from helpdesk.devices.models import PLAN_CANCELLED, PLAN_CONTRACT, PLAN_PAY_PER_CASE, Device
from helpdesk.devices.registry import get_device, is_staff, require_staff, status_changed, today
from helpdesk.devices.status import SOURCE_GRANTED, SOURCE_RENEWAL, may_choose_plan, status_of
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

log = logging.getLogger(__name__)

CYCLE_YEARS = {YEARLY: 1, BIENNIAL: 2, TRIENNIAL: 3}
YEARS_CYCLE = {years: cycle for cycle, years in CYCLE_YEARS.items()}
GRANT_YEARS_MAX = 10
NOTE_MAX = 500
_IDENTIFIER = re.compile(r"#(\d+)(?:\s|$)")


@dataclass(frozen=True)
class RenewalOffer:
    """Renewing for ``years`` (billing ``cycle``) costs ``amount`` (minor units of ``currency``, before tax)."""

    years: int
    cycle: str
    amount: int
    currency: str


def contract_currency() -> str:
    """DEVICES_CONTRACT_CURRENCY: the currency renewals are sold in (IRR: paid at Zarinpal)."""
    return current_app.config.get("DEVICES_CONTRACT_CURRENCY") or "IRR"


def contracts_of(actor, device_id) -> list[DeviceContract]:
    """The device's contract history, newest first (as ``get_device`` allows)."""
    device = get_device(actor, device_id)
    return list(db.session.scalars(sa.select(DeviceContract).where(DeviceContract.device_id == device.id)
                                   .order_by(DeviceContract.ends_on.desc(), DeviceContract.id.desc())))


def order_identifier(device: Device) -> str:
    """What a renewal's order item (and the invoice line) names the device by: "#12 SN-4711"."""
    return f"#{device.id} {device.serial_number or device.dongle_id}".strip()[:200]


def device_id_of(identifier: str) -> int | None:
    found = _IDENTIFIER.match(identifier or "")
    return int(found.group(1)) if found else None


def renewal_offers(device: Device) -> list[RenewalOffer]:
    """What renewing ``device`` for 1, 2 or 3 years costs: its type's contract product's prices in the contract
    currency (a year count without a price is not offered)."""
    product_id = device.device_type.contract_product_id
    product = db.session.get(Product, product_id) if product_id is not None else None
    if product is None or not product.active:
        return []
    currency = contract_currency()
    offers = []
    for cycle, years in CYCLE_YEARS.items():
        price = product.price_for(cycle, currency)
        if price is not None:
            offers.append(RenewalOffer(years=years, cycle=cycle, amount=price.amount, currency=currency))
    return offers


def _require_choice(actor, device, *permissions):
    """A customer choosing for ``device``: a member of its account with ``permissions``, acting for it."""
    if is_staff(actor):
        return
    for permission in permissions:
        require_permission(actor, device.account_id, permission)
    if acting_account_id(actor) != device.account_id:
        raise NotAllowed(_l("Switch to the device's account to choose for it."))


def pending_renewal(device: Device):
    """The unpaid renewal order of ``device``, if one waits (the newest)."""
    return db.session.scalar(
        sa.select(Service).join(Product, Product.id == Service.product_id)
        .join(BillingAccount, BillingAccount.id == Service.account_id)
        .where(Product.kind == DEVICE_CONTRACT, Service.status == SERVICE_PENDING,
               BillingAccount.customer_account_id == device.account_id,
               Service.identifier == order_identifier(device))
        .order_by(Service.id.desc()).limit(1))


def order_renewal(actor, device_id, *, years, payment_method) -> object:
    """The buyer renews ``device_id`` for ``years`` (1, 2 or 3): a billing order of the type's contract product,
    whose invoice they pay through billing's payment pages. Members with the services and billing permissions,
    acting for the device's account; only while the contract is expiring or over (Conflict otherwise). An unpaid
    renewal order for the same years is returned rather than doubled. Commits; returns the Order."""
    device = get_device(actor, device_id)
    if is_staff(actor):
        raise NotAllowed()  # the buyer orders (and pays); staff grant a period instead
    _require_choice(actor, device, PERM_SERVICES, PERM_BILLING)
    if not may_choose_plan(status_of(device)):
        raise Conflict(_l("This device's contract is not expiring yet."))
    offer = next((o for o in renewal_offers(device) if str(o.years) == str(years)), None)
    if offer is None:
        raise ValidationFailed({"years": _l("Choose 1, 2 or 3 years from the list.")})
    waiting = pending_renewal(device)
    if waiting is not None and waiting.cycle == offer.cycle:
        return waiting.order
    # One transaction: billing's order call (which ends its own call) and the device's audit row commit together.
    with nullcontext() if in_batch(db.session) else Batch(db.session):
        account = customers.ensure_account(actor)
        placed = orders.place_order(actor, account, [CartItem(device.device_type.contract_product_id, offer.cycle,
                                                              identifier=order_identifier(device))],
                                    payment_method=payment_method, currency=offer.currency)
        audit.record(actor, "device", device, "renewal-ordered", {"years": offer.years, "order": placed.id},
                     account_id=device.account_id)
    return placed


def _extend(actor, device, *, years, source, service=None, invoice=None, starts_on=None, ends_on=None, note="",
            day=None) -> DeviceContract:
    """Add a contract period to ``device`` (its row locked by the caller) and move its service end. Never
    commits."""
    day = day or today()
    before = status_of(device, day).code
    if starts_on is None:
        starts_on = device.service_ends_on if device.service_ends_on and device.service_ends_on > day else day
    if ends_on is None:
        ends_on = add_months(starts_on, 12 * years)
    contract = DeviceContract(device=device, starts_on=starts_on, ends_on=ends_on, years=years, source=source,
                              service_id=getattr(service, "id", None), invoice_id=getattr(invoice, "id", None),
                              note=note, created_by_id=getattr(actor, "id", None))
    db.session.add(contract)
    previous = device.service_ends_on
    if previous is None or ends_on >= previous:
        device.service_ends_on, device.contract_source = ends_on, source
    device.plan = PLAN_CONTRACT
    audit.record(actor, "device", device, "contract-added",
                 {"source": source, "years": years, "starts_on": starts_on, "ends_on": ends_on,
                  "service_ends_on": [previous, device.service_ends_on], "invoice": getattr(invoice, "id", None)},
                 account_id=device.account_id)
    events.emit("contract.added", device, {"source": source, "years": years, "starts_on": starts_on.isoformat(),
                                           "ends_on": ends_on.isoformat()})
    status_changed(device, before, day)
    return contract


def check_order_items(actor, account, drafts) -> None:
    """Billing's check of DEVICE_CONTRACT items before an order is placed: each must name a device of the buying
    account (what ``order_renewal`` writes), so a contract product reached through the catalogue cannot be bought
    for no device."""
    for draft in drafts:
        device_id = device_id_of(draft.identifier)
        device = db.session.get(Device, device_id) if device_id is not None else None
        if device is None or device.account_id != account.customer_account_id:
            raise ValidationFailed({"items": _l("A service contract is renewed from its device's page.")})


def fulfil(actor, services, invoice, now) -> None:
    """Billing's fulfiller of DEVICE_CONTRACT services (just paid and activated, under the invoice's lock): each
    extends the device its identifier names by the years bought, from the contract's end (or today once it has
    ended). A service naming no device of its account is left to staff (logged), never failing the payment.
    Once per service: a second call finds the contract and does nothing."""
    day = business_date(now)
    for service in services:
        years = CYCLE_YEARS.get(service.cycle)
        device_id = device_id_of(service.identifier)
        device = db.session.scalar(sa.select(Device).where(Device.id == device_id).with_for_update()) \
            if device_id is not None else None
        if device is None or years is None or service.account.customer_account_id != device.account_id:
            log.warning("device contract service %s names no device of its account (%r)", service.id,
                        service.identifier)
            continue
        if db.session.scalar(sa.select(DeviceContract.id).where(DeviceContract.service_id == service.id)):
            continue
        _extend(actor, device, years=years * max(1, service.quantity or 1), source=SOURCE_RENEWAL,
                service=service, invoice=invoice, day=day)
        # The next renewal is the buyer's choice again (reminders, the device page), not an automatic invoice.
        service.next_due_date = None


def add_contract(actor, device_id, *, years=None, starts_on: date | None = None, ends_on: date | None = None,
                 note="") -> DeviceContract:
    """Staff grant a contract period: ``years`` (1-10) from ``starts_on`` (default: the current end, or today
    once it has ended), or up to ``ends_on``. Commits; returns the contract."""
    require_staff(actor)
    device = get_device(actor, device_id)
    errors = {}
    note = strip_control(note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = _l("At most %(num)d characters.", num=NOTE_MAX)
    if ends_on is None:
        try:
            years = int(years)
        except (TypeError, ValueError):
            years = 0
        if not 1 <= years <= GRANT_YEARS_MAX:
            errors["years"] = _l("Enter a number of years from 1 to %(num)d, or the end date.", num=GRANT_YEARS_MAX)
    else:
        years = None
        start = starts_on or (device.service_ends_on if device.service_ends_on and device.service_ends_on > today()
                              else today())
        if ends_on <= start:
            errors["ends_on"] = _l("The end must be after the start (%(start)s).", start=start.isoformat())
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    db.session.refresh(device, with_for_update=True)
    contract = _extend(actor, device, years=years, source=SOURCE_GRANTED, starts_on=starts_on, ends_on=ends_on,
                       note=note)
    commit_service_call(db.session)
    return contract


CHOICES = (PLAN_PAY_PER_CASE, PLAN_CANCELLED)


def choose_plan(actor, device_id, plan: str) -> Device:
    """The buyer (services permission, acting for the device's account) or staff switch ``device_id`` to
    pay-per-case or cancel its service, once the contract is expiring or over (it takes effect at the end of what
    was paid for). Commits; returns the device."""
    device = get_device(actor, device_id)
    if plan not in CHOICES:
        raise ValidationFailed({"plan": _l("Choose pay-per-case or cancellation.")})
    _require_choice(actor, device, PERM_SERVICES)
    status = status_of(device)
    if not is_staff(actor) and not may_choose_plan(status):
        raise Conflict(_l("This device's contract is not expiring yet."))
    if device.plan == plan:
        return device
    begin_write(db.session)
    db.session.refresh(device, with_for_update=True)
    previous, device.plan = device.plan, plan
    audit.record(actor, "device", device, "plan-chosen", {"plan": [previous, plan]}, account_id=device.account_id)
    events.emit("device.updated", device, {"plan": [previous, plan]})
    status_changed(device, status.code)
    commit_service_call(db.session)
    return device

