"""Ownership transfers (issue 19). The owner (a member of the owning account with the services permission) names
the new owner (name, national ID, phone) and states that their ownership ends; the new owner confirms by the link
or the six-digit code sent to that phone by SMS (both stored hashed, single-use, expiring; wrong codes counted);
staff then approve, which moves the device (with its contracts, confirmation and history) to the customer account
holding the new owner's national ID, or refuse. Open debt follows DEVICES_TRANSFER_DEBT. Every step is audited."""
import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts import national_id as national_ids
from helpdesk.accounts.buyers import mask_national_id
from helpdesk.accounts.identity_models import AccountIdentity, account_for_national_id, account_recipients
from helpdesk.accounts.memberships import require_permission
from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.devices import events, registry
from helpdesk.devices.cases import debts_of
from helpdesk.devices.models import Device
from helpdesk.devices.transfer_models import (
    APPROVED,
    AWAITING_APPROVAL,
    AWAITING_CONFIRMATION,
    BY_CODE,
    BY_LINK,
    CANCELLED,
    OPEN_STATUSES,
    REFUSED,
    DeviceTransfer,
)
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify.channels import Notice, Recipient, notify
from helpdesk.phones import InvalidPhone
from helpdesk.phones import normalise as normalise_phone
from helpdesk.sanitize import clean_name, strip_control

ACCEPT_PATH = "/device-transfers/accept"  # the web door's page for the code; the link adds "/<token>"
NAME_MAX, REASON_MAX = 200, 2000
DEBT_STAYS, DEBT_BLOCKS = "stays", "blocks"
STATEMENT = _l("I, the current owner, confirm that my ownership of this device ends when the transfer is approved.")


class NewOwnerHasNoAccount(Conflict):
    """Approval needs the customer account of the new owner's national ID; staff create it first."""

    message = _l("No customer account holds the new owner's national ID. Create the buyer's account with that "
                 "national ID first, then approve the transfer.")


class OldAccountHasDebt(Conflict):
    message = _l("The current owner's account has unpaid case charges; with this deployment's rules the device "
                 "cannot change owner until they are paid.")


class CodeExpired(Conflict):
    message = _l("This confirmation has expired. Ask the current owner to send you a new code.")


# --------------------------------------------------------------------------- secrets

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(transfer_id: int, code: str) -> str:
    # Keyed with the secret key: six digits are a million guesses, which a bare SHA-256 would not stop offline.
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"device-transfer:{transfer_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _link(token: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}{ACCEPT_PATH}/{token}"


def _send_code(actor, transfer: DeviceTransfer) -> None:
    """A new code and link for ``transfer`` (the old ones stop working), texted to the new owner. Never commits."""
    db.session.flush()  # the transfer's id keys its code
    code, token = f"{secrets.randbelow(10 ** 6):06d}", secrets.token_urlsafe(32)
    transfer.code_hash, transfer.token_hash = _code_hash(transfer.id, code), _token_hash(token)
    transfer.code_expires_at = utcnow() + timedelta(hours=current_app.config["DEVICES_TRANSFER_CODE_HOURS"])
    transfer.code_attempts = 0
    transfer.codes_sent = (transfer.codes_sent or 0) + 1
    recipient = Recipient(email=None, name=transfer.new_owner_name, phone=transfer.new_owner_phone,
                          locale=current_app.config["DEFAULT_LOCALE"])
    notify(Notice("devices.transfer_code", (recipient,),
                  {"transfer": transfer, "code": code, "link": _link(token),
                   "code_page": f"{current_app.config['BASE_URL'].rstrip('/')}{ACCEPT_PATH}"}, automatic=True))
    audit.record(actor, "device-transfer", transfer, "code-sent", {"phone": transfer.new_owner_phone},
                 account_id=transfer.from_account_id)


# --------------------------------------------------------------------------- the owner

def _check_request(device, name, national_id, phone, ends_ownership) -> dict:
    errors, clean = {}, {"name": clean_name(name or "", limit=NAME_MAX)}
    if not clean["name"]:
        errors["name"] = _l("Enter the new owner's name.")
    try:
        clean["national_id"] = national_ids.normalise(national_id)
    except national_ids.InvalidNationalId as exc:
        errors["national_id"] = str(exc)
    try:
        clean["phone"] = normalise_phone(phone)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
    if not ends_ownership:
        errors["ends_ownership"] = _l("Tick the statement that your ownership ends to request the transfer.")
    own = db.session.get(AccountIdentity, device.account_id)
    if clean.get("national_id") and own is not None and own.national_id == clean["national_id"]:
        errors["national_id"] = _l("This is your own national ID: name the new owner.")
    if errors:
        raise ValidationFailed(errors)
    return clean


def _open_transfer(device_id) -> DeviceTransfer | None:
    return db.session.scalar(sa.select(DeviceTransfer).where(DeviceTransfer.device_id == device_id,
                                                             DeviceTransfer.status.in_(OPEN_STATUSES)))


def request_transfer(actor, device_id, *, name, national_id, phone, ends_ownership) -> DeviceTransfer:
    """Ask to transfer ``device_id`` to the person named (their national ID checked, their phone as E.164), the
    owner stating that their ownership ends. An owner of the device's account (giving the device away is the
    owner's decision, not any member's); one open transfer per device (Conflict). Texts the new owner a code and
    link. Commits; returns the transfer."""
    device = registry.get_device(actor, device_id)
    if not getattr(actor, "is_customer", False):
        raise NotAllowed()
    if not require_permission(actor, device.account_id, PERM_SERVICES).is_owner:
        raise NotAllowed()
    clean = _check_request(device, name, national_id, phone, ends_ownership)
    begin_write(db.session)
    db.session.scalar(sa.select(Device.id).where(Device.id == device.id).with_for_update())
    if _open_transfer(device.id) is not None:
        raise Conflict(_l("A transfer of this device is under way already."))
    transfer = DeviceTransfer(device_id=device.id, from_account_id=device.account_id, requested_by_id=actor.id,
                              new_owner_name=clean["name"], new_owner_national_id=clean["national_id"],
                              new_owner_phone=clean["phone"], statement=str(STATEMENT),
                              status=AWAITING_CONFIRMATION, created_at=utcnow())
    db.session.add(transfer)
    audit.record(actor, "device-transfer", transfer, "requested",
                 {"device": device.id, "new_owner": clean["name"],
                  "national_id": mask_national_id(clean["national_id"]), "phone": clean["phone"]},
                 account_id=device.account_id)
    _send_code(actor, transfer)
    commit_service_call(db.session)
    return transfer


def transfers_of(actor, device_id) -> tuple[Device, list[DeviceTransfer]]:
    """``device_id`` and the transfers its account requested of it, newest first (staff: every transfer)."""
    device = registry.get_device(actor, device_id)
    statement = sa.select(DeviceTransfer).where(DeviceTransfer.device_id == device.id)
    if not registry.is_staff(actor):
        statement = statement.where(DeviceTransfer.from_account_id == device.account_id)
    return device, list(db.session.scalars(statement.order_by(DeviceTransfer.id.desc()).limit(50)))


def _owners_transfer(actor, device_id, transfer_id) -> DeviceTransfer:
    device = registry.get_device(actor, device_id)
    if not getattr(actor, "is_customer", False):
        raise NotAllowed()
    transfer_id = parse_id(transfer_id)
    transfer = db.session.get(DeviceTransfer, transfer_id) if transfer_id is not None else None
    if transfer is None or transfer.device_id != device.id or transfer.from_account_id != device.account_id:
        raise NotFound()
    return transfer


def resend_code(actor, device_id, transfer_id) -> DeviceTransfer:
    """Text the new owner a new code and link (the old ones stop working, the wrong-code count starts again). The
    owner, while the transfer waits for the new owner. Commits."""
    transfer = _owners_transfer(actor, device_id, transfer_id)
    begin_write(db.session)
    if transfer.status != AWAITING_CONFIRMATION:
        raise Conflict(_l("The new owner has confirmed already, or the transfer is over."))
    _send_code(actor, transfer)
    commit_service_call(db.session)
    return transfer


def cancel_transfer(actor, device_id, transfer_id) -> DeviceTransfer:
    """The owner withdraws an open transfer (before staff decided). Commits."""
    transfer = _owners_transfer(actor, device_id, transfer_id)
    begin_write(db.session)
    if not transfer.is_open:
        raise Conflict(_l("This transfer is over already."))
    transfer.status, transfer.code_hash, transfer.token_hash = CANCELLED, None, None
    transfer.decided_at = utcnow()
    audit.record(actor, "device-transfer", transfer, "cancelled", {"device": transfer.device_id},
                 account_id=transfer.from_account_id)
    commit_service_call(db.session)
    return transfer


# --------------------------------------------------------------------------- the new owner (no login)

def transfer_for_link(token: str) -> DeviceTransfer:
    """The transfer waiting for the new owner that link ``token`` confirms; NotFound for any other token (used,
    replaced, cancelled, unknown), CodeExpired once it expired."""
    token = (token or "").strip()
    if not token or len(token) > 100:
        raise NotFound()
    transfer = db.session.scalar(sa.select(DeviceTransfer).where(DeviceTransfer.token_hash == _token_hash(token)))
    if transfer is None or transfer.status != AWAITING_CONFIRMATION:
        raise NotFound()
    if transfer.code_expires_at is None or transfer.code_expires_at <= utcnow():
        raise CodeExpired()
    return transfer


def _confirmed(actor, transfer, how, ip) -> None:
    transfer.status, transfer.confirmed_at, transfer.confirmed_by = AWAITING_APPROVAL, utcnow(), how
    transfer.confirmed_ip = (ip or "")[:64]
    transfer.code_hash = transfer.token_hash = None  # single use
    audit.record(actor, "device-transfer", transfer, "confirmed", {"by": how, "ip": transfer.confirmed_ip},
                 account_id=transfer.from_account_id)


def confirm_by_link(actor, token: str, ip: str = "") -> DeviceTransfer:
    """The new owner accepts by the link texted to them. ``actor``: whoever opened it (a guest is the system's
    "guest-form"). Commits; returns the transfer, now waiting for staff."""
    begin_write(db.session)
    transfer = transfer_for_link(token)
    _confirmed(actor, transfer, BY_LINK, ip)
    commit_service_call(db.session)
    return transfer


def confirm_by_code(actor, national_id: str, code: str, ip: str = "") -> DeviceTransfer:
    """The new owner accepts by typing their national ID and the code texted to them. A wrong code counts against
    every open transfer to that national ID; after DEVICES_TRANSFER_CODE_ATTEMPTS the code is void. The same
    ValidationFailed whether the ID, the code or its age was wrong (nothing is revealed). Commits."""
    wrong = ValidationFailed({"code": _l("This code is wrong or no longer valid.")})
    try:
        national_id = national_ids.normalise(national_id)
    except national_ids.InvalidNationalId as exc:
        raise ValidationFailed({"national_id": str(exc)}) from None
    code = strip_control(code or "").strip().translate(_ASCII_DIGITS)
    begin_write(db.session)
    now = utcnow()
    waiting = db.session.scalars(
        sa.select(DeviceTransfer).where(DeviceTransfer.new_owner_national_id == national_id,
                                        DeviceTransfer.status == AWAITING_CONFIRMATION,
                                        DeviceTransfer.code_hash.is_not(None),
                                        DeviceTransfer.code_expires_at > now)
        .order_by(DeviceTransfer.id).with_for_update()).all()
    if len(code) == 6 and code.isdigit():
        for transfer in waiting:
            if hmac.compare_digest(_code_hash(transfer.id, code), transfer.code_hash):
                _confirmed(actor, transfer, BY_CODE, ip)
                commit_service_call(db.session)
                return transfer
    limit = current_app.config["DEVICES_TRANSFER_CODE_ATTEMPTS"]
    for transfer in waiting:
        transfer.code_attempts += 1
        if transfer.code_attempts >= limit:
            transfer.code_hash = None  # void: the owner sends a new one
            audit.record(actor, "device-transfer", transfer, "code-void", {"attempts": transfer.code_attempts},
                         account_id=transfer.from_account_id)
    commit_service_call(db.session)
    raise wrong


_ASCII_DIGITS = {**{0x06F0 + i: str(i) for i in range(10)}, **{0x0660 + i: str(i) for i in range(10)}}


# --------------------------------------------------------------------------- staff

def waiting_for_approval(actor) -> list[DeviceTransfer]:
    """Staff: the transfers the new owner confirmed, oldest first."""
    registry.require_staff(actor)
    return list(db.session.scalars(sa.select(DeviceTransfer).where(DeviceTransfer.status == AWAITING_APPROVAL)
                                   .order_by(DeviceTransfer.id)))


def recent_transfers(actor, limit: int = 50) -> list[DeviceTransfer]:
    """Staff: the latest transfers in any state, newest first."""
    registry.require_staff(actor)
    return list(db.session.scalars(sa.select(DeviceTransfer).order_by(DeviceTransfer.id.desc()).limit(limit)))


def get_transfer(actor, transfer_id) -> DeviceTransfer:
    """Staff: one transfer (NotFound for others)."""
    registry.require_staff(actor)
    transfer_id = parse_id(transfer_id)
    transfer = db.session.get(DeviceTransfer, transfer_id) if transfer_id is not None else None
    if transfer is None:
        raise NotFound()
    return transfer


def new_owner_account(transfer: DeviceTransfer):
    """The customer account holding the new owner's national ID, or None (staff must create it first)."""
    return account_for_national_id(transfer.new_owner_national_id)


def open_debt(account_id) -> dict[str, int]:
    """The unpaid part of ``account_id``'s case charges per currency (devices.cases' running debt), debts only."""
    return {currency: amount for currency, amount in debts_of(account_id).items() if amount > 0}


def _decidable(actor, transfer_id) -> DeviceTransfer:
    registry.require_staff(actor)
    begin_write(db.session)
    transfer_id = parse_id(transfer_id)
    transfer = db.session.scalar(sa.select(DeviceTransfer).where(DeviceTransfer.id == transfer_id)
                                 .with_for_update()) if transfer_id is not None else None
    if transfer is None:
        raise NotFound()
    if transfer.status != AWAITING_APPROVAL:
        raise Conflict(_l("This transfer is not waiting for approval."))
    return transfer


def approve_transfer(actor, transfer_id) -> DeviceTransfer:
    """Staff approve a confirmed transfer: the device moves to the account holding the new owner's national ID
    (NewOwnerHasNoAccount when none does), with its contracts, installation confirmation and history; under
    DEVICES_TRANSFER_DEBT = "blocks" not while the old account has unpaid case charges (OldAccountHasDebt). Both
    parties are told. Commits."""
    transfer = _decidable(actor, transfer_id)
    device = db.session.scalar(sa.select(Device).where(Device.id == transfer.device_id).with_for_update())
    if device.account_id != transfer.from_account_id:
        raise Conflict(_l("The device changed owner since this transfer was requested."))
    account = new_owner_account(transfer)
    if account is None:
        raise NewOwnerHasNoAccount()
    if account.id == transfer.from_account_id:
        raise Conflict(_l("The new owner's national ID belongs to the current owner's account."))
    if current_app.config["DEVICES_TRANSFER_DEBT"] == DEBT_BLOCKS and open_debt(transfer.from_account_id):
        raise OldAccountHasDebt()
    old_account_id = transfer.from_account_id
    device.account_id = account.id
    transfer.status, transfer.to_account_id = APPROVED, account.id
    transfer.decided_at, transfer.decided_by_id = utcnow(), actor.id
    audit.record(actor, "device-transfer", transfer, "approved", {"device": device.id, "account": account.id},
                 account_id=old_account_id)
    audit.record(actor, "device", device, "transferred", {"account": [old_account_id, account.id],
                                                          "transfer": transfer.id}, account_id=account.id)
    events.emit("device.transferred", device, {"from_account_id": old_account_id, "to_account_id": account.id,
                                               "transfer_id": transfer.id})
    recipients = (*account_recipients(old_account_id, PERM_SERVICES), *account_recipients(account.id, PERM_SERVICES))
    notify(Notice("devices.transfer_approved", recipients, {"transfer": transfer}))
    commit_service_call(db.session)
    return transfer


def refuse_transfer(actor, transfer_id, reason: str) -> DeviceTransfer:
    """Staff refuse a confirmed transfer with a reason both parties are told. Commits."""
    reason = strip_control(reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise ValidationFailed({"reason": _l("Say why the transfer is refused.")})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": _l("At most %(num)d characters.", num=REASON_MAX)})
    transfer = _decidable(actor, transfer_id)
    transfer.status, transfer.reason = REFUSED, reason
    transfer.decided_at, transfer.decided_by_id = utcnow(), actor.id
    audit.record(actor, "device-transfer", transfer, "refused", {"device": transfer.device_id, "reason": reason},
                 account_id=transfer.from_account_id)
    new_owner = Recipient(email=None, name=transfer.new_owner_name, phone=transfer.new_owner_phone,
                          locale=current_app.config["DEFAULT_LOCALE"])
    notify(Notice("devices.transfer_refused",
                  (*account_recipients(transfer.from_account_id, PERM_SERVICES), new_owner),
                  {"transfer": transfer}))
    commit_service_call(db.session)
    return transfer
