"""The device registry's and contracts' audit actions as sentences (B1), and how the trail names a device (its type
and serial number or dongle ID) and a device type. Registered on import (helpdesk.devices.init_app)."""
import sqlalchemy as sa

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.devices.models import PLAN_LABELS, Device, DeviceType
from helpdesk.devices.status import SOURCE_LABELS
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l


def _devices(ids):
    rows = db.session.execute(sa.select(Device.id, DeviceType.brand, DeviceType.model, Device.serial_number,
                                        Device.dongle_id).join(DeviceType, DeviceType.id == Device.device_type_id)
                              .where(Device.id.in_(ids)))
    return {i: Ref("device", i, f"{brand} {model} ({serial or dongle or '#' + str(i)})", key=i)
            for i, brand, model, serial, dongle in rows}


def _types(ids):
    rows = db.session.execute(sa.select(DeviceType.id, DeviceType.brand, DeviceType.model)
                              .where(DeviceType.id.in_(ids)))
    return {i: Ref("device-type", i, f"{brand} {model}", key=i) for i, brand, model in rows}


def _plan_chosen(reading):
    old, new = pair(reading.changes.get("plan"))
    return reading.sentence(_l("Changed the service plan of %(name)s from “%(old)s” to “%(new)s”."),
                            name=reading.subject, old=str(PLAN_LABELS.get(old, old or "")),
                            new=str(PLAN_LABELS.get(new, new or "")))


def _contract_added(reading):
    source = reading.changes.get("source")
    return reading.sentence(_l("Added a service contract period to %(name)s, up to %(ends_on)s (%(source)s)."),
                            source=str(SOURCE_LABELS.get(source, source or "")))


register_kind("device", name=_l("Device"), describe=_devices)
register_kind("device-type", name=_l("Device type"), describe=_types)
register("device", "registered", _l("Registered the device %(name)s."))
register("device", "updated", _l("Changed the device %(name)s."))
register("device", "renewal-ordered", _l("Ordered a %(years)s-year renewal of the service contract of %(name)s."))
register("device", "contract-added", _contract_added)
register("device", "plan-chosen", _plan_chosen)
register("device-type", "created", _l("Added the device type %(name)s."))
register("device-type", "updated", _l("Changed the device type %(name)s."))
register("device-type", "deactivated", _l("Took the device type %(name)s off the list of new devices."))
