"""The installation confirmation (issue 19): the buyer (a member of the owning account with the services permission)
signs it once per device: the checklist, the installation day, free remarks and an explicit "everything is done".
Signing starts the service (``Device.confirmed_at``); the record is immutable afterwards: the service refuses a
second one (Conflict), the models refuse any update, and its SHA-256 over the canonical JSON of its content (with the
signer, the time and the client IP) shows whether the stored record is still what was signed. Staff only add
counter-signed notes."""
import hashlib
import hmac
import json
from datetime import date

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts.memberships import require_permission
from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.devices import events, registry
from helpdesk.devices.installation_models import InstallationConfirmation, InstallationNote
from helpdesk.devices.models import Device
from helpdesk.devices.status import status_of
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

# The checklist, each a required tick, in the order the form shows it.
CHECKLIST = (
    ("device_installed", _l("The device is installed completely.")),
    ("connections_checked", _l("The drivers, the compressor and the connections are installed and checked.")),
    ("training_received", _l("I received the initial training.")),
)
CHECKLIST_KEYS = tuple(key for key, _label in CHECKLIST)
# How many years before the device's registration an installation day may be (devices installed before the portal).
YEARS_BEFORE_REGISTRATION = 10
NOTE_MAX = 4000
CONTENT_VERSION = 1


def canonical_json(content: dict) -> str:
    """One spelling of ``content``: keys sorted, no spaces, UTF-8 text as it is."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check(device, checklist, installed_on, remarks, everything_done) -> tuple[dict, str]:
    errors = {}
    ticked = {key: bool((checklist or {}).get(key)) for key in CHECKLIST_KEYS}
    for key, done in ticked.items():
        if not done:
            errors[key] = _l("Tick this to confirm it, or tell us what is missing before you sign.")
    if not everything_done:
        errors["everything_done"] = _l("Tick “everything is done” to sign the confirmation.")
    earliest = date((device.created_at or utcnow()).year - YEARS_BEFORE_REGISTRATION, 1, 1)
    if not isinstance(installed_on, date):
        errors["installed_on"] = _l("Enter the installation date.")
    elif installed_on > registry.today():
        errors["installed_on"] = _l("The installation date cannot be in the future.")
    elif installed_on < earliest:
        errors["installed_on"] = _l("This installation date is too long before the device was registered.")
    remarks = strip_control(remarks or "").replace("\r\n", "\n").strip()
    limit = current_app.config["DEVICES_INSTALLATION_REMARKS_MAX"]
    if len(remarks) > limit:
        errors["remarks"] = _l("At most %(num)d characters.", num=limit)
    if errors:
        raise ValidationFailed(errors)
    return ticked, remarks


def confirm_installation(actor, device_id, *, checklist, installed_on, remarks, everything_done,
                         ip) -> InstallationConfirmation:
    """Sign ``device_id``'s installation confirmation as ``actor`` from client address ``ip``. A customer member of
    the owning account with the services permission (staff cannot sign for the buyer: NotAllowed); every checklist
    item and "everything is done" ticked, the day not in the future (ValidationFailed lists every problem); once per
    device (Conflict). Sets the device's ``confirmed_at`` (and its installation day when it had none), audits and
    tells the followers ("installation.confirmed"). Commits; returns the record."""
    device = registry.get_device(actor, device_id)
    if not getattr(actor, "is_customer", False):
        raise NotAllowed(_l("Only the buyer signs the installation confirmation."))
    require_permission(actor, device.account_id, PERM_SERVICES)
    ticked, remarks = _check(device, checklist, installed_on, remarks, everything_done)
    begin_write(db.session)
    db.session.scalar(sa.select(Device.id).where(Device.id == device.id).with_for_update())
    if _record_of(device.id) is not None:
        raise Conflict(_l("The installation confirmation of this device is signed already; it cannot be changed."))
    now, status_before = utcnow(), status_of(device).code
    content = {"version": CONTENT_VERSION, "device": {"id": device.id, "serial_number": device.serial_number,
                                                      "dongle_id": device.dongle_id,
                                                      "type": device.device_type.label},
               "account_id": device.account_id, "checklist": ticked, "installed_on": installed_on.isoformat(),
               "remarks": remarks, "everything_done": True,
               "signed_by": {"id": actor.id, "login": actor.email}, "signed_at": now.isoformat(),
               "ip": (ip or "")[:64]}
    text = canonical_json(content)
    record = InstallationConfirmation(device_id=device.id, account_id=device.account_id, content=text,
                                      content_hash=content_hash(text), signed_at=now, signed_by_id=actor.id,
                                      signed_by_login=actor.email, ip=content["ip"])
    db.session.add(record)
    device.confirmed_at = now
    if device.installed_on is None:
        device.installed_on = installed_on
    audit.record(actor, "device", device, "installation-confirmed",
                 {"installed_on": installed_on, "hash": record.content_hash, "ip": record.ip},
                 account_id=device.account_id)
    events.emit("installation.confirmed", device, {"installed_on": installed_on.isoformat(),
                                                   "confirmed_at": now.isoformat()})
    registry.status_changed(device, status_before)
    try:
        commit_service_call(db.session)
    except sa.exc.IntegrityError:  # signed a moment ago in another window (the unique device id)
        db.session.rollback()
        raise Conflict(_l("The installation confirmation of this device is signed already; it cannot be "
                          "changed.")) from None
    return record


def _record_of(device_id) -> InstallationConfirmation | None:
    return db.session.scalar(sa.select(InstallationConfirmation).where(InstallationConfirmation.device_id == device_id))


def confirmation_of(actor, device_id) -> tuple[Device, InstallationConfirmation | None]:
    """``device_id`` and its signed confirmation (None before it is signed), for whoever may see the device."""
    device = registry.get_device(actor, device_id)
    return device, _record_of(device.id)


def content_of(record: InstallationConfirmation) -> dict:
    """The signed content as a dict (what the pages show)."""
    return json.loads(record.content)


def hash_verified(record: InstallationConfirmation) -> bool:
    """Whether the stored record is what was signed: the SHA-256 of its content matches the stored hash, and the
    columns beside the content say what the content says."""
    if not hmac.compare_digest(content_hash(record.content), record.content_hash or ""):
        return False
    try:
        content = content_of(record)
    except ValueError:
        return False
    return (content.get("device", {}).get("id") == record.device_id and content.get("ip") == record.ip
            and content.get("signed_by", {}).get("id") == record.signed_by_id
            and content.get("signed_by", {}).get("login") == record.signed_by_login
            and content.get("account_id") == record.account_id)


def add_note(actor, device_id, text: str) -> InstallationNote:
    """Counter-sign a note on ``device_id``'s confirmation. Staff only (NotFound for others); the confirmation must
    be signed (Conflict); the note is plain text, required, at most NOTE_MAX characters. Commits; returns it."""
    registry.require_staff(actor)
    device, record = confirmation_of(actor, device_id)
    if record is None:
        raise Conflict(_l("The buyer has not signed the installation confirmation yet."))
    text = strip_control(text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed({"text": _l("Write the note.")})
    if len(text) > NOTE_MAX:
        raise ValidationFailed({"text": _l("At most %(num)d characters.", num=NOTE_MAX)})
    begin_write(db.session)
    note = InstallationNote(confirmation_id=record.id, author_id=actor.id, author_login=actor.email, text=text,
                            created_at=utcnow())
    db.session.add(note)
    audit.record(actor, "device", device, "installation-note-added", {"note": text[:200]},
                 account_id=device.account_id)
    commit_service_call(db.session)
    return note
