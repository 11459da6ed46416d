"""Service cases on devices (issue 19): which new tickets a device may have (the gate the ticket store asks through
``helpdesk.tickets.device_gate``), the ticket↔device link, pay-per-case charges from the staff's price list (each a
billing invoice), the account's running debt (the unpaid part of those invoices) and its ceiling: crossing it warns
the account once (portal, email, SMS), and above it new cases wait for staff approval.

Rules: a customer opens a ticket about a device of the account they act for only while its contract service runs
(active, expiring, renewed), or under pay-per-case (then above the ceiling it awaits approval); an unconfirmed
installation, an expired contract or a cancelled service is refused with what to do. Staff are not gated. Prices,
charges and decisions on awaiting cases are billing staff's (billing.access)."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from helpdesk import audit
from helpdesk.accounts.memberships import owner_id
from helpdesk.accounts.models import PERM_BILLING, User
from helpdesk.billing.access import may_manage, require_manager
from helpdesk.billing.invoices import create_charge_invoice
from helpdesk.billing.models import PROFORMA, BillingAccount, Invoice
from helpdesk.billing.money import CURRENCIES, MAX_AMOUNT
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.devices import case_notices, events
from helpdesk.devices.case_models import (
    CASE_APPROVED,
    CASE_AWAITING,
    CASE_OPEN,
    CASE_REFUSED,
    DIFFICULTIES,
    DIFFICULTY_LABELS,
    VOLUME_LABELS,
    VOLUMES,
    CaseCharge,
    CasePrice,
    DebtCrossing,
    DeviceCase,
)
from helpdesk.devices.models import Device
from helpdesk.devices.registry import is_staff
from helpdesk.devices.status import (
    AWAITING_CONFIRMATION,
    CANCELLED,
    EXPIRED,
    PAY_PER_CASE,
    service_is_active,
    status_of,
)
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import format_day
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import device_gate
from helpdesk.tickets.changes import set_status
from helpdesk.tickets.models import CLOSED, Ticket

NOTE_MAX = 2000


# --------------------------------------------------------------------------- debt and its ceiling

def ceiling_for(currency: str) -> int | None:
    """DEVICES_DEBT_CEILING for ``currency`` (minor units): one amount for all, or a dict per currency; None: no
    ceiling in that currency."""
    setting = current_app.config.get("DEVICES_DEBT_CEILING")
    if isinstance(setting, dict):
        setting = setting.get(currency)
    return int(setting) if setting is not None else None


def _unpaid(account_id):
    return (sa.select(Invoice.currency, sa.func.coalesce(sa.func.sum(Invoice.total - Invoice.amount_paid), 0))
            .join(CaseCharge, CaseCharge.invoice_id == Invoice.id)
            .where(CaseCharge.account_id == account_id, Invoice.status == PROFORMA)
            .group_by(Invoice.currency))


def debts_of(account_id) -> dict[str, int]:
    """The running debt of customer account ``account_id`` per currency: the unpaid part of its case charges'
    invoices (a cancelled or credited invoice owes nothing). No access check: callers check."""
    return {currency: int(amount) for currency, amount in db.session.execute(_unpaid(account_id)) if amount}


@dataclass(frozen=True)
class Debt:
    currency: str
    amount: int
    ceiling: int | None

    @property
    def above_ceiling(self) -> bool:
        return self.ceiling is not None and self.amount >= self.ceiling


def debt_warnings(account_id) -> list[Debt]:
    """The account's debts at or above their ceiling (the portal's warning banner); no access check."""
    found = [Debt(currency, amount, ceiling_for(currency)) for currency, amount in debts_of(account_id).items()]
    return [debt for debt in found if debt.above_ceiling]


def account_debts(account_id) -> list[Debt]:
    """The account's running debt in each currency it owes in (and the price list's, even at zero), with its
    ceiling; no access check."""
    owed = debts_of(account_id)
    currencies = sorted(set(owed) | {current_app.config["DEVICES_CASE_CURRENCY"]})
    return [Debt(currency, owed.get(currency, 0), ceiling_for(currency)) for currency in currencies]


def _above_ceiling(account_id) -> bool:
    return bool(debt_warnings(account_id))


# --------------------------------------------------------------------------- the gate

def _device_label(device) -> str:
    ident = device.serial_number or device.dongle_id
    return f"{device.device_type.label} · {ident}" if ident else device.device_type.label


@dataclass(frozen=True)
class Verdict:
    """Whether a customer may open a case on a device now: allowed (maybe awaiting approval) or the reason."""

    allowed: bool
    awaiting_approval: bool = False
    reason: object = ""


def verdict_for(device, status=None, above_ceiling=None) -> Verdict:
    """The rule for a customer's new case on ``device`` (its status now, the account's debt: ``above_ceiling``
    when the caller knows it)."""
    status = status or status_of(device)
    if service_is_active(status):
        return Verdict(True)
    if status.code == PAY_PER_CASE:
        if _above_ceiling(device.account_id) if above_ceiling is None else above_ceiling:
            return Verdict(True, True, _l("Your unpaid case charges are above the limit: a new ticket waits for "
                                          "our approval before we work on it."))
        return Verdict(True)
    if status.code == AWAITING_CONFIRMATION:
        return Verdict(False, reason=_l("Service for this device starts once its installation is confirmed. "
                                        "Confirm the installation first."))
    if status.code == EXPIRED:
        return Verdict(False, reason=_l("The service contract of this device ended on %(day)s. Renew it, or "
                                        "choose pay-per-case service, to open a ticket about it.",
                                        day=format_day(device.service_ends_on)))
    if status.code == CANCELLED:
        return Verdict(False, reason=_l("Service for this device was cancelled. Renew its contract to open a "
                                        "ticket about it."))
    return Verdict(False, reason=_l("No ticket can be opened about this device now."))


def _account_device(account_id, ref):
    device_id = parse_id(ref)
    device = db.session.get(Device, device_id) if device_id is not None else None
    if device is None or account_id is None or device.account_id != account_id:
        return None
    return device


class _Gate:
    """The devices package's answers to the ticket store (tickets.device_gate)."""

    def choices(self, actor, account_id):
        if not getattr(actor, "is_customer", False):
            return []
        devices = db.session.scalars(sa.select(Device).where(Device.account_id == account_id).order_by(Device.id))
        choices, above = [], None
        for device in devices:
            above = _above_ceiling(account_id) if above is None else above
            status = status_of(device)
            verdict = verdict_for(device, status, above)
            reason = str(status.label) if not verdict.allowed else (
                _("awaits approval") if verdict.awaiting_approval else "")
            choices.append(device_gate.DeviceChoice(str(device.id), _device_label(device), reason))
        return choices

    def check(self, actor, account_id, ref):
        if is_staff(actor):
            device_id = parse_id(ref)
            if device_id is None or db.session.get(Device, device_id) is None:
                raise device_gate.DeviceRefused(_l("There is no such device."))
            return device_gate.DeviceGrant(str(device_id))
        device = _account_device(account_id, ref) if getattr(actor, "is_customer", False) else None
        if device is None:
            raise device_gate.DeviceRefused(_l("Choose one of your devices from the list."))
        verdict = verdict_for(device)
        if not verdict.allowed:
            raise device_gate.DeviceRefused(verdict.reason)
        return device_gate.DeviceGrant(str(device.id), verdict.awaiting_approval)

    def link(self, actor, ticket, grant):
        device = db.session.get(Device, int(grant.ref))
        db.session.flush()  # the ticket's id
        case = DeviceCase(ticket_id=ticket.id, device_id=device.id, account_id=device.account_id,
                          device_status=status_of(device).code, state=CASE_AWAITING if grant.awaiting_approval
                          else CASE_OPEN, created_by_id=getattr(actor, "id", None), created_at=utcnow())
        db.session.add(case)
        audit.record(actor, "device-case", case, "opened", {"ticket": ticket.number, "device": device.id,
                                                            "state": case.state}, account_id=device.account_id)

    def note(self, ticket):
        state = db.session.scalar(sa.select(DeviceCase.state).where(DeviceCase.ticket_id == ticket.id))
        if state == CASE_AWAITING:
            return _("Your account's unpaid case charges are above the limit, so this ticket waits for our staff's "
                     "approval. Paying your open invoices lifts the limit for new tickets.")
        return None


device_gate.provide(_Gate())


# --------------------------------------------------------------------------- reads

def case_for_ticket(ticket_id) -> DeviceCase | None:
    """The case of ticket ``ticket_id``, if it is about a device (no access check: the caller has the ticket)."""
    return db.session.scalar(sa.select(DeviceCase).where(DeviceCase.ticket_id == ticket_id))


def get_case(actor, case_id) -> DeviceCase:
    """A case, for staff (NotFound for anyone else and for none)."""
    if not is_staff(actor):
        raise NotFound()
    case_id = parse_id(case_id)
    case = db.session.get(DeviceCase, case_id) if case_id is not None else None
    if case is None:
        raise NotFound()
    return case


def may_charge(case) -> bool:
    """Whether ``case`` can be charged now (the rules of ``charge_case`` but the actor's)."""
    return (case.charge is None and case.state in (CASE_OPEN, CASE_APPROVED)
            and PAY_PER_CASE in (case.device_status, status_of(case.device).code))


def case_currency(case) -> str:
    """The currency a charge on ``case`` is made in: its account's billing currency, or the price list's."""
    found = db.session.scalar(sa.select(BillingAccount.currency).where(
        BillingAccount.customer_account_id == case.account_id))
    return found or current_app.config["DEVICES_CASE_CURRENCY"]


def device_tickets(actor, device):
    """The tickets about ``device`` that ``actor`` may read, newest first, each with its case."""
    from helpdesk.tickets.access import visible_tickets

    query = (visible_tickets(actor) if actor.is_customer else sa.select(Ticket))
    query = query.add_columns(DeviceCase).join(DeviceCase, DeviceCase.ticket_id == Ticket.id).where(
        DeviceCase.device_id == device.id)
    return db.session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc())).all()


def charges_of(actor, account_id, limit=100):
    """The case charges billed to ``account_id`` (newest first) with their invoices: staff, or a member of the
    account allowed to see its billing."""
    _require_billing_reader(actor, account_id)
    return db.session.scalars(sa.select(CaseCharge).where(CaseCharge.account_id == account_id)
                              .order_by(CaseCharge.id.desc()).limit(limit)).all()


def may_see_charges(actor, account_id) -> bool:
    try:
        _require_billing_reader(actor, account_id)
    except (NotFound, NotAllowed):
        return False
    return True


def _require_billing_reader(actor, account_id):
    if is_staff(actor):
        return
    from helpdesk.accounts.memberships import require_permission

    require_permission(actor, account_id, PERM_BILLING)


def awaiting_cases(actor):
    """The cases waiting for approval, oldest first (staff)."""
    if not is_staff(actor):
        raise NotFound()
    return db.session.scalars(sa.select(DeviceCase).where(DeviceCase.state == CASE_AWAITING)
                              .order_by(DeviceCase.id)).all()


# --------------------------------------------------------------------------- the price list

def price_list(currency: str) -> dict[tuple[str, str], int]:
    """{(difficulty, volume): amount} of ``currency`` (those set)."""
    rows = db.session.scalars(sa.select(CasePrice).where(CasePrice.currency == currency))
    return {(row.difficulty, row.volume): row.amount for row in rows}


def set_prices(actor, currency: str, amounts: dict) -> dict:
    """Set the price list of ``currency``: {(difficulty, volume): amount in minor units, or None to remove}.
    Billing staff; every amount checked (all errors at once, keyed "<difficulty>_<volume>"). Audited."""
    require_manager(actor)
    errors = {}
    if currency not in CURRENCIES:
        errors["currency"] = _l("Choose a currency from the list.")
    for (difficulty, volume), amount in amounts.items():
        if difficulty not in DIFFICULTIES or volume not in VOLUMES:
            raise ValueError(f"no such price list cell: {difficulty}/{volume}")
        if amount is not None and (not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT):
            errors[f"{difficulty}_{volume}"] = _l("Enter an amount above zero.")
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    existing = {(row.difficulty, row.volume): row for row in
                db.session.scalars(sa.select(CasePrice).where(CasePrice.currency == currency))}
    now, changed = utcnow(), {}
    for key, amount in amounts.items():
        row = existing.get(key)
        if amount is None and row is not None:
            db.session.delete(row)
            changed["/".join(key)] = [row.amount, None]
        elif amount is not None and row is None:
            db.session.add(CasePrice(difficulty=key[0], volume=key[1], currency=currency, amount=amount,
                                     updated_at=now, updated_by_id=actor.id))
            changed["/".join(key)] = [None, amount]
        elif amount is not None and row.amount != amount:
            changed["/".join(key)] = [row.amount, amount]
            row.amount, row.updated_at, row.updated_by_id = amount, now, actor.id
    if changed:
        audit.record(actor, "device-case-prices", None, "prices-set", {"currency": currency, "prices": changed})
    commit_service_call(db.session)
    return price_list(currency)


# --------------------------------------------------------------------------- charging a case

def _billing_account(customer_account_id) -> BillingAccount:
    """The customer account's billing account, opened for its owner when it has none (billing.customers)."""
    # Locked: charges for one account wait for each other, so each sees the debt the one before it made.
    found = db.session.scalar(sa.select(BillingAccount).where(BillingAccount.customer_account_id ==
                                                              customer_account_id).with_for_update())
    if found is not None:
        return found
    from helpdesk.billing.customers import ensure_account

    owner = db.session.get(User, owner_id(customer_account_id))
    if owner is None:
        raise Conflict(_l("This account has no owner to bill."))
    owner.acting_account_id = customer_account_id  # the account ensure_account opens billing for
    return ensure_account(owner)


def _case_currency(account: BillingAccount) -> str:
    return account.currency or current_app.config["DEVICES_CASE_CURRENCY"]


def _check_charge(case, difficulty, volume, note):
    errors = {}
    if difficulty not in DIFFICULTIES:
        errors["difficulty"] = _l("Choose a difficulty from the list.")
    if volume not in VOLUMES:
        errors["volume"] = _l("Choose a volume from the list.")
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = _l("At most %(num)d characters.", num=NOTE_MAX)
    if errors:
        raise ValidationFailed(errors)
    if case.charge is not None:
        raise Conflict(_l("This case was charged already."))
    if case.state in (CASE_AWAITING, CASE_REFUSED):
        raise Conflict(_l("Approve this case before charging it."))
    if not may_charge(case):
        raise Conflict(_l("Only cases on pay-per-case devices are charged."))
    return note


def charge_case(actor, ticket_id, *, difficulty, volume, note="") -> CaseCharge:
    """Charge the case of ticket ``ticket_id`` (on a pay-per-case device; once) at the price list's amount for
    ``difficulty`` × ``volume`` in the account's currency: a billing invoice for the device's account, audited,
    told to the device's followers ("case.charged"); when the charge takes the account's debt to the ceiling or
    over it, the account is warned (once per crossing). Billing staff."""
    if not is_staff(actor):
        raise NotFound()
    require_manager(actor)
    case = case_for_ticket(parse_id(ticket_id))
    if case is None:
        raise NotFound()
    note = _check_charge(case, difficulty, volume, note)
    begin_write(db.session)
    account = _billing_account(case.account_id)
    currency = _case_currency(account)
    amount = price_list(currency).get((difficulty, volume))
    if amount is None:
        raise ValidationFailed({"difficulty": _l("The price list has no price for this difficulty and volume in "
                                                 "%(currency)s.", currency=currency)})
    debt_before = debts_of(case.account_id).get(currency, 0)
    device, number = case.device, case.ticket.number
    description = _l("Service case #%(number)s on %(device)s (%(difficulty)s, %(volume)s)", number=number,
                     device=_device_label(device), difficulty=DIFFICULTY_LABELS[difficulty],
                     volume=VOLUME_LABELS[volume])
    invoice = create_charge_invoice(actor, account, [(description, amount)], currency=currency)
    charge = CaseCharge(case_id=case.id, account_id=case.account_id, invoice_id=invoice.id, difficulty=difficulty,
                        volume=volume, amount=invoice.total, currency=currency, note=note, created_at=utcnow(),
                        created_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(charge)
    except sa.exc.IntegrityError:  # charged at the same moment by someone else
        raise Conflict(_l("This case was charged already.")) from None
    audit.record(actor, "device-case", case, "charged", {"ticket": number, "amount": invoice.total,
                                                         "currency": currency, "invoice": invoice.id},
                 account_id=case.account_id)
    events.emit("case.charged", device, {"ticket": number, "amount": invoice.total, "currency": currency,
                                         "invoice": invoice.reference})
    _watch_ceiling(charge, debt_before, debt_before + invoice.total)
    commit_service_call(db.session)
    return charge


def _watch_ceiling(charge, debt_before, debt_after):
    """One warning per crossing: an open crossing row closes when a charge finds the debt paid back below the
    ceiling; a charge that takes the debt to it or over it with no open crossing opens one and warns."""
    ceiling = ceiling_for(charge.currency)
    crossing = db.session.scalar(sa.select(DebtCrossing).where(
        DebtCrossing.account_id == charge.account_id, DebtCrossing.currency == charge.currency,
        DebtCrossing.cleared_at.is_(None)))
    if crossing is not None and (ceiling is None or debt_before < ceiling):
        crossing.cleared_at = utcnow()
        db.session.flush()
        crossing = None
    if ceiling is None or debt_after < ceiling or crossing is not None:
        return
    db.session.flush()
    crossing = DebtCrossing(account_id=charge.account_id, currency=charge.currency, debt=debt_after,
                            ceiling=ceiling, charge_id=charge.id, crossed_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(crossing)
    except sa.exc.IntegrityError:  # another charge crossed at the same moment and warned
        return
    case_notices.warn_debt_ceiling(crossing)


# --------------------------------------------------------------------------- approving cases above the ceiling

def decide_case(actor, case_id, *, approve: bool, note: str = "") -> DeviceCase:
    """Approve a case that awaits approval (work on it goes ahead) or refuse it (its ticket is closed; the note
    is kept with the case, which the device's ticket panel shows). Billing staff; only awaiting cases (Conflict
    otherwise). Audited."""
    case = get_case(actor, case_id)
    if not may_manage(actor):
        raise NotAllowed()
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed({"note": _l("At most %(num)d characters.", num=NOTE_MAX)})
    begin_write(db.session)
    if case.state != CASE_AWAITING:
        raise Conflict(_l("This case was decided already."))
    case.state = CASE_APPROVED if approve else CASE_REFUSED
    case.decided_at, case.decided_by_id, case.decision_note = utcnow(), actor.id, note
    ticket = case.ticket
    if not approve and ticket.status != CLOSED:
        set_status(ticket, actor, CLOSED)
    audit.record(actor, "device-case", case, "approved" if approve else "refused",
                 {"ticket": ticket.number, "note": note}, account_id=case.account_id)
    commit_service_call(db.session)
    return case
