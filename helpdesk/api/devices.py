"""Devices in the API (issue 20, issue 19's devices): an account's devices and one device with its status, dates,
days remaining and contract history, for the account's members with the services permission and for staff; staff
correct a device (type, identifiers, dates) through the registry, as the console's device form does, guarded by
If-Match."""
from marshmallow import Schema, fields, validate

from helpdesk.api.core import (
    NOT_MODIFIED,
    PageArgs,
    actor,
    check_if_match,
    keyset_page,
    new_blueprint,
    page_schema,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.devices import contracts, registry
from helpdesk.devices.models import PLANS, Device
from helpdesk.devices.status import SOURCES, STATUSES, status_of
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l

bp = new_blueprint("devices", __name__, _l("Devices customer accounts own, their status and service contracts."))


class DeviceTypeSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    brand = fields.String(required=True)
    model = fields.String(required=True)


class DeviceStatusSchema(Schema):
    code = fields.String(required=True, metadata={"enum": list(STATUSES)})
    label = fields.String(required=True, metadata={"description": "In the token owner's language"})
    days_remaining = fields.Integer(allow_none=True, required=True,
                                    metadata={"description": "Days until the service end (negative once past it; "
                                                             "null without one)"})


class DeviceContractSchema(Schema):
    id = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "Exclusive: the first day without service"})
    years = fields.Integer(allow_none=True, required=True)
    source = fields.String(required=True, metadata={"enum": list(SOURCES)})
    invoice_id = fields.Integer(allow_none=True, required=True, metadata={"description": "A paid renewal's"})
    created_at = fields.DateTime(required=True)


class DeviceSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The customer account that owns it"})
    device_type = fields.Nested(DeviceTypeSchema, required=True)
    serial_number = fields.String(required=True)
    dongle_id = fields.String(required=True)
    installed_on = fields.Date(allow_none=True, required=True)
    warranty_ends_on = fields.Date(allow_none=True, required=True)
    service_ends_on = fields.Date(allow_none=True, required=True,
                                  metadata={"description": "Exclusive: the first day without contract service"})
    plan = fields.String(required=True, metadata={"enum": list(PLANS)})
    status = fields.Nested(DeviceStatusSchema, required=True)
    confirmed_at = fields.DateTime(allow_none=True, required=True,
                                   metadata={"description": "When the buyer confirmed the installation"})
    created_at = fields.DateTime(required=True)


class DeviceDetailSchema(DeviceSchema):
    contracts = fields.List(fields.Nested(DeviceContractSchema), required=True,
                            metadata={"description": "Newest first"})


DevicePage = page_schema(DeviceSchema, "DevicePage")


def device_of(device: Device, day=None, *, with_contracts=False) -> dict:
    status = status_of(device, day)
    found = {"id": device.id, "account_id": device.account_id,
             "device_type": {"id": device.device_type.id, "code": device.device_type.code,
                             "brand": device.device_type.brand, "model": device.device_type.model},
             "serial_number": device.serial_number, "dongle_id": device.dongle_id,
             "installed_on": device.installed_on, "warranty_ends_on": device.warranty_ends_on,
             "service_ends_on": device.service_ends_on, "plan": device.plan,
             "status": {"code": status.code, "label": str(status.label), "days_remaining": status.days_remaining},
             "confirmed_at": device.confirmed_at, "created_at": device.created_at}
    if with_contracts:
        found["contracts"] = [{"id": c.id, "starts_on": c.starts_on, "ends_on": c.ends_on, "years": c.years,
                               "source": c.source, "invoice_id": c.invoice_id, "created_at": c.created_at}
                              for c in contracts.contracts_of(actor(), device.id)]
    return found


def _detail(device: Device) -> dict:
    return DeviceDetailSchema().dump(device_of(device, with_contracts=True))


@bp.route("/accounts/<id:account_id>/devices")
@bp.arguments(PageArgs, location="query")
@bp.response(200, DevicePage)
@scoped("devices:read")
def list_devices(args, account_id):
    """The account's devices, newest first (members with the services permission; staff)."""
    query = registry.account_devices(actor(), account_id)
    page = keyset_page(query, Device.id, after=args.get("after"), before=args.get("before"), limit=args["limit"])
    day = registry.today()
    return {**page, "items": [device_of(device, day) for device in page["items"]]}


@bp.route("/devices/<id:device_id>")
@bp.response(200, DeviceDetailSchema)
@bp.doc(responses=NOT_MODIFIED)
@scoped("devices:read")
def read_device(device_id):
    """One device: its status and days remaining, warranty and service ends, and contract history (ETag)."""
    return with_etag(_detail(registry.get_device(actor(), device_id)))


class DevicePatchSchema(Schema):
    device_type_id = fields.Integer()
    serial_number = fields.String(validate=validate.Length(max=registry.IDENTIFIER_MAX))
    dongle_id = fields.String(validate=validate.Length(max=registry.IDENTIFIER_MAX))
    installed_on = fields.Date(allow_none=True)
    warranty_ends_on = fields.Date(allow_none=True)
    service_ends_on = fields.Date(allow_none=True, metadata={"description": "Exclusive"})


@bp.route("/devices/<id:device_id>", methods=["PATCH"])
@bp.arguments(DevicePatchSchema)
@bp.response(200, DeviceDetailSchema)
@bp.doc(responses=problem_answers(412), parameters=[{
    "in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
    "description": "The ETag of the device as you read it: the change is refused (412) if it changed since."}])
@scoped("devices:write")
def update_device(body, device_id):
    """Correct a device's type, serial number, dongle ID and dates (staff).

    The fields sent change, the rest stay, as in the console's device form. Send the ETag you read as If-Match:
    412 when someone changed the device since."""
    user = actor()
    device = registry.get_device(user, device_id)
    check_if_match(_detail(device))
    values = {"device_type": body.get("device_type_id", device.device_type_id),
              **{name: body.get(name, getattr(device, name))
                 for name in ("serial_number", "dongle_id", "installed_on", "warranty_ends_on", "service_ends_on")}}
    try:
        updated = registry.update_device(user, device.id, **values)
    except ValidationFailed as failed:  # the registry names the type "device_type"; the body "device_type_id"
        failed.errors = {("device_type_id" if key == "device_type" else key): value
                         for key, value in failed.errors.items()}
        raise
    return with_etag(_detail(updated))
