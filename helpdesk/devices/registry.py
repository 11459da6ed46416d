"""The devices buyers own: staff register a device to a customer account (and edit it); customers read their
account's devices (members with the services permission), staff read and search all. Every change is audited and
told to the followers (``devices.events``)."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from helpdesk import audit
from helpdesk.accounts.memberships import require_permission
from helpdesk.accounts.models import PERM_SERVICES, CustomerAccount
from helpdesk.billing.invoices import business_date
from helpdesk.billing.services import add_months
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.devices import events
from helpdesk.devices.contract_models import DeviceContract
from helpdesk.devices.models import PLAN_CONTRACT, Device, DeviceType
from helpdesk.devices.status import SOURCE_INITIAL, STATUSES, status_of
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

IDENTIFIER_MAX = 100
PAGE_SIZE = 50


def today() -> date:
    """The business day (BUSINESS_TIMEZONE): what a device's dates and status are measured against."""
    return business_date(utcnow())


def is_staff(actor) -> bool:
    return bool(getattr(actor, "is_agent", False) or getattr(actor, "is_system", False))


def require_staff(actor) -> None:
    """NotFound for anyone but staff and the helpdesk itself (staff pages are not revealed to customers)."""
    if not is_staff(actor):
        raise NotFound()


def get_device(actor, device_id) -> Device:
    """A device ``actor`` may see: staff any; a customer one of an account they are a member of with the services
    permission (NotFound for another account's or none, NotAllowed for a member without the permission)."""
    device_id = parse_id(device_id)
    device = db.session.get(Device, device_id) if device_id is not None else None
    if device is None:
        raise NotFound()
    if not is_staff(actor):
        require_permission(actor, device.account_id, PERM_SERVICES)
    return device


def devices_of(actor, account_id) -> list[Device]:
    """The devices of ``account_id``, oldest first. Staff; or a member of the account with the services
    permission."""
    account_id = parse_id(account_id)
    if account_id is None:
        raise NotFound()
    if not is_staff(actor):
        require_permission(actor, account_id, PERM_SERVICES)
    return list(db.session.scalars(sa.select(Device).where(Device.account_id == account_id)
                                   .options(joinedload(Device.device_type)).order_by(Device.id)))


def account_devices(actor, account_id):
    """A select of the devices of ``account_id`` (with their types) for a door that pages them itself; callers add
    the order. Staff (NotFound for an account there is not); or a member of the account with the services
    permission (NotFound for a non-member, NotAllowed without the permission)."""
    account_id = parse_id(account_id)
    if account_id is None:
        raise NotFound()
    if is_staff(actor):
        if db.session.get(CustomerAccount, account_id) is None:
            raise NotFound()
    else:
        require_permission(actor, account_id, PERM_SERVICES)
    return sa.select(Device).where(Device.account_id == account_id).options(joinedload(Device.device_type))


def account_has_devices(account_id) -> bool:
    """Whether ``account_id`` owns any device (for showing the portal's Devices entry); no access check."""
    account_id = parse_id(account_id)
    return account_id is not None and db.session.scalar(
        sa.select(Device.id).where(Device.account_id == account_id).limit(1)) is not None


@dataclass(frozen=True)
class SearchPage:
    devices: list
    page: int
    pages: int
    total: int


def search_devices(actor, *, query: str = "", status: str = "", account_id=None, device_type_id=None,
                   page: int = 1, day: date | None = None) -> SearchPage:
    """Staff: devices whose serial number or dongle ID contains ``query`` (or whose account name does), of an
    account and device type when given, with the derived ``status`` when given (one of STATUSES), newest first."""
    require_staff(actor)
    statement = sa.select(Device).join(CustomerAccount, CustomerAccount.id == Device.account_id) \
        .options(joinedload(Device.device_type))
    query = strip_control(query or "").strip()[:IDENTIFIER_MAX]
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(sa.or_(sa.func.lower(Device.serial_number).like(pattern),
                                           sa.func.lower(Device.dongle_id).like(pattern),
                                           sa.func.lower(CustomerAccount.name).like(pattern)))
    if parse_id(account_id) is not None:
        statement = statement.where(Device.account_id == parse_id(account_id))
    if parse_id(device_type_id) is not None:
        statement = statement.where(Device.device_type_id == parse_id(device_type_id))
    statement = statement.order_by(Device.id.desc())
    page = max(1, int(page or 1))
    if status in STATUSES:
        # The status is derived in Python (dates, plan, confirmation); a seller's device list fits in memory.
        day = day or today()
        found = [d for d in db.session.scalars(statement) if status_of(d, day).code == status]
        total = len(found)
        devices = found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()))
        devices = list(db.session.scalars(statement.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return SearchPage(devices=devices, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)


def _device_type(device_type, errors, *, active_only=True) -> DeviceType | None:
    if not isinstance(device_type, DeviceType):
        type_id = parse_id(device_type)
        device_type = db.session.get(DeviceType, type_id) if type_id is not None else None
    if device_type is None or (active_only and not device_type.active):
        errors["device_type"] = _l("Choose a device type from the list.")
        return None
    return device_type


def _identifier(text) -> str:
    return strip_control(text or "").strip()


def _check_identifiers(errors, serial_number, dongle_id, device_type, exclude_id=None):
    if not serial_number and not dongle_id:
        errors["serial_number"] = _l("Enter the serial number, the dongle or user ID, or both.")
    for field, value in (("serial_number", serial_number), ("dongle_id", dongle_id)):
        if len(value) > IDENTIFIER_MAX:
            errors[field] = _l("At most %(num)d characters.", num=IDENTIFIER_MAX)
    if serial_number and device_type is not None and "serial_number" not in errors:
        taken = sa.select(Device.id).where(Device.device_type_id == device_type.id,
                                           sa.func.lower(Device.serial_number) == serial_number.lower())
        if exclude_id is not None:
            taken = taken.where(Device.id != exclude_id)
        if db.session.scalar(taken.limit(1)) is not None:
            errors["serial_number"] = _l("A device of this type with this serial number is registered already.")


def _check_dates(errors, installed_on, warranty_ends_on, service_ends_on):
    for field, value in (("warranty_ends_on", warranty_ends_on), ("service_ends_on", service_ends_on)):
        if installed_on is not None and value is not None and value < installed_on:
            errors[field] = _l("This date cannot be before the installation date.")


def _snapshot(device) -> dict:
    return {"device_type": device.device_type_id, "serial_number": device.serial_number,
            "dongle_id": device.dongle_id, "installed_on": device.installed_on,
            "warranty_ends_on": device.warranty_ends_on, "service_ends_on": device.service_ends_on}


def register_device(actor, account_id, *, device_type, serial_number="", dongle_id="", installed_on=None,
                    warranty_ends_on=None, service_ends_on=None) -> Device:
    """Register a device to customer account ``account_id``. Staff only. A serial number or a dongle/user ID (or
    both); the warranty and service ends default to the type's months from the installation date. The service
    end starts the device's contract history (an initial contract). ValidationFailed lists every problem.
    Commits; returns the device."""
    require_staff(actor)
    account_id = parse_id(account_id)
    if account_id is None or db.session.get(CustomerAccount, account_id) is None:
        raise NotFound()
    errors = {}
    device_type = _device_type(device_type, errors)
    serial_number, dongle_id = _identifier(serial_number), _identifier(dongle_id)
    _check_identifiers(errors, serial_number, dongle_id, device_type)
    if device_type is not None and installed_on is not None:
        if warranty_ends_on is None and device_type.warranty_months:
            warranty_ends_on = add_months(installed_on, device_type.warranty_months)
        if service_ends_on is None and device_type.service_months:
            service_ends_on = add_months(installed_on, device_type.service_months)
    _check_dates(errors, installed_on, warranty_ends_on, service_ends_on)
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    device = Device(account_id=account_id, device_type=device_type, serial_number=serial_number,
                    dongle_id=dongle_id, installed_on=installed_on, warranty_ends_on=warranty_ends_on,
                    service_ends_on=service_ends_on, plan=PLAN_CONTRACT, created_by_id=getattr(actor, "id", None),
                    contract_source=SOURCE_INITIAL if service_ends_on is not None else None)
    db.session.add(device)
    if service_ends_on is not None:
        db.session.add(DeviceContract(device=device, starts_on=installed_on or today(), ends_on=service_ends_on,
                                      source=SOURCE_INITIAL, created_by_id=getattr(actor, "id", None)))
    audit.record(actor, "device", device, "registered", {**_snapshot(device), "account": account_id},
                 account_id=account_id)
    events.emit("device.registered", device, {"account_id": account_id})
    commit_service_call(db.session)
    return device


def update_device(actor, device_id, *, device_type, serial_number="", dongle_id="", installed_on=None,
                  warranty_ends_on=None, service_ends_on=None) -> Device:
    """Correct a device's type, identifiers and dates. Staff only. A changed service end is recorded as it is
    (contracts add periods: devices.contracts). Commits; returns the device."""
    require_staff(actor)
    device = get_device(actor, device_id)
    errors = {}
    device_type = _device_type(device_type, errors, active_only=False)
    serial_number, dongle_id = _identifier(serial_number), _identifier(dongle_id)
    _check_identifiers(errors, serial_number, dongle_id, device_type, exclude_id=device.id)
    _check_dates(errors, installed_on, warranty_ends_on, service_ends_on)
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    before, status_before = _snapshot(device), status_of(device).code
    device.device_type, device.serial_number, device.dongle_id = device_type, serial_number, dongle_id
    device.installed_on, device.warranty_ends_on = installed_on, warranty_ends_on
    device.service_ends_on = service_ends_on
    after = _snapshot(device)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit.record(actor, "device", device, "updated", changes, account_id=device.account_id)
        events.emit("device.updated", device, changes)
        status_changed(device, status_before)
    commit_service_call(db.session)
    return device


def status_changed(device, before: str, day: date | None = None) -> None:
    """Tell the followers when ``device``'s derived status is no longer ``before`` (a code). Never commits."""
    after = status_of(device, day).code
    if after != before:
        events.emit("device.status_changed", device, {"status": [before, after]})
