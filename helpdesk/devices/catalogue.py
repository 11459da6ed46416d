"""The seller's catalogue of device types (brand and model): staff create, edit and deactivate them; a type's
warranty and service months are the defaults of a device registered with it, and its contract product (billing,
kind DEVICE_CONTRACT) prices the renewals of its devices."""
import re

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.billing.catalogue_models import DEVICE_CONTRACT, Product
from helpdesk.db import begin_write, commit_service_call, parse_id
from helpdesk.devices.models import DeviceType
from helpdesk.devices.registry import require_staff
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name

_CODE = re.compile(r"[a-z0-9][a-z0-9\-_.]{0,59}")
MONTHS_MAX = 240
FIELDS = ("code", "brand", "model", "warranty_months", "service_months", "contract_product_id", "active")


def device_types(actor=None, *, active_only=False) -> list[DeviceType]:
    """The device types by brand and model (only those still offered when ``active_only``). Anyone may read the
    catalogue (the knowledge base files articles under it)."""
    statement = sa.select(DeviceType).order_by(DeviceType.brand, DeviceType.model, DeviceType.id)
    if active_only:
        statement = statement.where(DeviceType.active.is_(True))
    return list(db.session.scalars(statement))


def get_device_type(actor, type_id) -> DeviceType:
    """One device type, for staff (NotFound for anyone else or an unknown id)."""
    require_staff(actor)
    type_id = parse_id(type_id)
    found = db.session.get(DeviceType, type_id) if type_id is not None else None
    if found is None:
        raise NotFound()
    return found


def contract_products() -> list[Product]:
    """The billing products a device type's renewals may be priced by (kind DEVICE_CONTRACT)."""
    return list(db.session.scalars(sa.select(Product).where(Product.kind == DEVICE_CONTRACT).order_by(Product.code)))


def _months(errors, field, value) -> int:
    try:
        months = int(value)
    except (TypeError, ValueError):
        months = -1
    if not 0 <= months <= MONTHS_MAX:
        errors[field] = _l("Enter a number of months from 0 to %(num)d.", num=MONTHS_MAX)
    return months


def _check(values: dict, current: DeviceType | None = None) -> dict:
    errors, clean = {}, {}
    clean["code"] = (values.get("code") or "").strip().lower()
    if not _CODE.fullmatch(clean["code"]):
        errors["code"] = _l("Use lower-case letters, digits and - _ . (at most 60).")
    elif db.session.scalar(sa.select(DeviceType.id).where(
            DeviceType.code == clean["code"], DeviceType.id != (current.id if current else -1))) is not None:
        errors["code"] = _l("Another device type has this code.")
    for field in ("brand", "model"):
        clean[field] = clean_name(values.get(field) or "", limit=100)
        if not clean[field]:
            errors[field] = _l("This field is required.")
    clean["warranty_months"] = _months(errors, "warranty_months", values.get("warranty_months"))
    clean["service_months"] = _months(errors, "service_months", values.get("service_months"))
    product_id = parse_id(values.get("contract_product_id")) if values.get("contract_product_id") else None
    if product_id is not None and product_id not in {p.id for p in contract_products()}:
        errors["contract_product_id"] = _l("Choose a service contract product from the list.")
    clean["contract_product_id"] = product_id
    clean["active"] = bool(values.get("active", True))
    if errors:
        raise ValidationFailed(errors)
    return clean


def create_device_type(actor, **values) -> DeviceType:
    """Add a device type (code, brand, model, warranty and service months, contract product). Staff only.
    ValidationFailed lists every problem. Commits."""
    require_staff(actor)
    clean = _check(values)
    begin_write(db.session)
    device_type = DeviceType(**clean)
    db.session.add(device_type)
    audit.record(actor, "device-type", device_type, "created", clean)
    commit_service_call(db.session)
    return device_type


def update_device_type(actor, type_id, **values) -> DeviceType:
    """Change a device type; ``active`` False takes it off the list new devices are registered with (existing
    devices keep it). Staff only. Commits."""
    device_type = get_device_type(actor, type_id)
    clean = _check(values, device_type)
    begin_write(db.session)
    changes = {key: [getattr(device_type, key), value] for key, value in clean.items()
               if getattr(device_type, key) != value}
    for key, value in clean.items():
        setattr(device_type, key, value)
    if changes:
        audit.record(actor, "device-type", device_type,
                     "deactivated" if changes.get("active") == [True, False] else "updated", changes)
    commit_service_call(db.session)
    return device_type
