"""Dunning, the daily run's second half: the mails about an unpaid renewal invoice (the invoice itself, then a
reminder before its due date, on it, and three overdue notices, BILLING_REMINDER_DAYS), its late fee (an invoice of
its own, BILLING_LATE_FEES), the suspension of its service (an overdue hold, BILLING_SUSPEND_AFTER_DAYS) and its
termination (BILLING_TERMINATE_AFTER_DAYS). Each happens once: a reminder row per (invoice, kind), a late fee per
invoice, a hold per (service, invoice), all unique in the database.

Only the latest reminder whose day has come is sent, and only if its day is after the day the invoice itself was
mailed: a run that missed days sends one reminder, not a backlog, and an invoice made late (a short lead time) is
not followed by the reminders its own mail already stood for."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.accounts.contacts import addresses_for
from helpdesk.billing import money
from helpdesk.billing.catalogue_models import ONE_OFF
from helpdesk.billing.invoices import cancel_proforma, create_proforma
from helpdesk.billing.models import (
    PROFORMA,
    SERVICE_ACTIVE,
    SERVICE_CANCELLED,
    SERVICE_SUSPENDED,
    BillingAccount,
    Invoice,
    Service,
    ServicePeriod,
)
from helpdesk.billing.pricing import DraftLine, Quote
from helpdesk.billing.renewal_models import (
    REMINDER_BEFORE,
    REMINDER_DUE,
    REMINDER_INVOICE,
    REMINDER_OVERDUE_1,
    REMINDER_OVERDUE_2,
    REMINDER_OVERDUE_3,
    BillingReminder,
    LateFee,
    ServiceHold,
)
from helpdesk.billing.suspensions import place_overdue_hold
from helpdesk.billing.taxes import TaxDecision
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.extensions import db
from helpdesk.notify.channels import Notice, Recipient, notify

CHUNK = 500
NOTICE_KIND = "billing.reminder"
_NO_TAX = TaxDecision(rate_bp=0, name="", reverse_charge=False, home_rate_bp=0)


def _chunks(items):
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def open_renewal_invoices(*where) -> list:
    """(invoice id, due date, currency, service id) of the renewal invoices still unpaid whose service runs on
    (active or suspended: a service staff cancelled is not dunned), oldest first."""
    return db.session.execute(
        sa.select(Invoice.id, Invoice.due_date, Invoice.currency, ServicePeriod.service_id)
        .join(ServicePeriod, ServicePeriod.invoice_id == Invoice.id)
        .join(Service, Service.id == ServicePeriod.service_id)
        .where(Invoice.status == PROFORMA, ServicePeriod.paid_at.is_(None),
               Service.status.in_((SERVICE_ACTIVE, SERVICE_SUSPENDED)), *where).order_by(Invoice.id)).all()


# --------------------------------------------------------------------------- reminders

def reminder_schedule() -> list[tuple[int, str]]:
    """(days from the due date, kind) of the reminders, in order: "before" counts days before the due date, the
    others days after it (BILLING_REMINDER_DAYS; a kind set to None is not sent)."""
    days = current_app.config["BILLING_REMINDER_DAYS"]
    schedule = []
    for kind in (REMINDER_BEFORE, REMINDER_DUE, REMINDER_OVERDUE_1, REMINDER_OVERDUE_2, REMINDER_OVERDUE_3):
        value = days.get(kind)
        if value is not None:
            schedule.append((-value if kind == REMINDER_BEFORE else value, kind))
    return sorted(schedule)


def wanted_reminder(due, sent: dict, day, schedule) -> str | None:
    """The mail an unpaid invoice due on ``due`` should get on ``day``, given ``sent`` ({kind: day sent}): the
    invoice itself first; then the latest reminder whose day has come, if it was not sent and its day is after
    the invoice's own mail."""
    if REMINDER_INVOICE not in sent:
        return REMINDER_INVOICE
    latest = None
    for offset, kind in schedule:
        when = due + timedelta(days=offset)
        if when <= day:
            latest = (kind, when)
    if latest is None or latest[0] in sent or latest[1] <= sent[REMINDER_INVOICE]:
        return None
    return latest[0]


def _insert_new(table, rows, *returning):
    """INSERT ``rows``, skipping those a unique key already holds (ON CONFLICT DO NOTHING): what this transaction
    claimed, as rows of ``returning``. Two runs at once each get their own share, never the same row."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(rows).on_conflict_do_nothing().returning(*returning)
    return db.session.execute(statement).all()


def send_reminders(day, report, *, actor):
    """Mail each unpaid renewal invoice what ``day`` brings it (``wanted_reminder``), CHUNK invoices per
    transaction: the reminder rows are claimed first, and only the claimed ones are mailed."""
    schedule = reminder_schedule()
    for chunk in _chunks(open_renewal_invoices()):
        begin_write(db.session)
        ids = [row[0] for row in chunk]
        sent = {}
        for invoice_id, kind, when in db.session.execute(
                sa.select(BillingReminder.invoice_id, BillingReminder.kind, BillingReminder.day)
                .where(BillingReminder.invoice_id.in_(ids))):
            sent.setdefault(invoice_id, {})[kind] = when
        wanted = [(invoice_id, kind) for invoice_id, due, _currency, _service in chunk
                  if (kind := wanted_reminder(due, sent.get(invoice_id, {}), day, schedule))]
        if report.dry_run or not wanted:
            report.reminders.extend(wanted)
            db.session.rollback()
            continue
        now = utcnow()
        claimed = _insert_new(BillingReminder.__table__,
                              [{"invoice_id": i, "kind": k, "day": day, "created_at": now} for i, k in wanted],
                              BillingReminder.invoice_id, BillingReminder.kind)
        _mail(actor, claimed)
        report.reminders.extend((invoice_id, kind) for invoice_id, kind in claimed)
        commit_service_call(db.session)


def recipients_of(account) -> tuple[Recipient, ...]:
    """Who reads an account's billing mail: its invoice addresses (accounts.contacts), in the customer's language."""
    user = account.user
    return tuple(Recipient(email=address.email, name=address.name, locale=getattr(user, "locale", None),
                           user_id=user.id) for address in addresses_for(user, "billing"))


def _mail(actor, claimed):
    if not claimed:
        return
    invoices = {invoice.id: invoice for invoice in db.session.scalars(
        sa.select(Invoice).where(Invoice.id.in_({invoice_id for invoice_id, _kind in claimed}))
        .options(selectinload(Invoice.account).selectinload(BillingAccount.user)))}
    for invoice_id, kind in claimed:
        invoice = invoices[invoice_id]
        notify(Notice(NOTICE_KIND, recipients_of(invoice.account), {"invoice": invoice, "kind": kind},
                      automatic=True))
        audit.record(actor, "billing-invoice", invoice_id, "reminder-sent", {"kind": kind})


# --------------------------------------------------------------------------- late fees, suspension, termination

def _thresholds():
    config = current_app.config
    fees = config["BILLING_LATE_FEES"] or {}
    return (config["BILLING_LATE_FEE_AFTER_DAYS"] if fees else None, fees, config["BILLING_SUSPEND_AFTER_DAYS"],
            config["BILLING_TERMINATE_AFTER_DAYS"])


def _due_actions(overdue, currency, has_fee, has_hold, thresholds):
    fee_after, fees, suspend_after, terminate_after = thresholds
    terminate = terminate_after is not None and overdue >= terminate_after
    return {"fee": (fee_after is not None and overdue >= fee_after and bool(fees.get(currency)) and not has_fee
                    and not terminate),
            "suspend": suspend_after is not None and overdue >= suspend_after and not has_hold,
            "terminate": terminate}


def settle_overdue(day, report, *, actor):
    """Charge late fees, suspend and terminate what ``day`` makes due, for the overdue renewal invoices: read in
    one query, written CHUNK invoices per transaction, each invoice locked before its service (the payments' order),
    so a payment arriving meanwhile is seen and nothing is suspended for an invoice just paid."""
    thresholds = _thresholds()
    days = [value for value in (thresholds[0], thresholds[2], thresholds[3]) if value is not None]
    if not days:
        return
    rows = open_renewal_invoices(Invoice.due_date <= day - timedelta(days=min(days)))
    for chunk in _chunks(rows):
        ids = [row[0] for row in chunk]
        fees = set(db.session.scalars(sa.select(LateFee.invoice_id).where(LateFee.invoice_id.in_(ids))))
        holds = set(db.session.scalars(sa.select(ServiceHold.invoice_id).where(ServiceHold.invoice_id.in_(ids))))
        todo = [(invoice_id, service_id) for invoice_id, due, currency, service_id in chunk
                if any(_due_actions((day - due).days, currency, invoice_id in fees, invoice_id in holds,
                                    thresholds).values())]
        db.session.rollback()
        if not todo:
            continue
        if report.dry_run:
            _report_dry(chunk, todo, fees, holds, day, thresholds, report)
            continue
        _overdue_chunk(todo, day, report, actor, thresholds)


def _report_dry(chunk, todo, fees, holds, day, thresholds, report):
    wanted = {invoice_id for invoice_id, _service in todo}
    for invoice_id, due, currency, service_id in chunk:
        if invoice_id in wanted:
            actions = _due_actions((day - due).days, currency, invoice_id in fees, invoice_id in holds, thresholds)
            if actions["fee"]:
                report.late_fees.append((invoice_id, None))
            if actions["suspend"]:
                report.suspensions.append(service_id)
            if actions["terminate"]:
                report.terminations.append(service_id)


def _overdue_chunk(todo, day, report, actor, thresholds):
    begin_write(db.session)
    invoice_ids = [invoice_id for invoice_id, _service in todo]
    invoices = {i.id: i for i in db.session.scalars(
        sa.select(Invoice).where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id).with_for_update()
        .execution_options(populate_existing=True))}
    services = {s.id: s for s in db.session.scalars(
        sa.select(Service).where(Service.id.in_({service_id for _invoice, service_id in todo})).order_by(Service.id)
        .with_for_update().execution_options(populate_existing=True))}
    fees = set(db.session.scalars(sa.select(LateFee.invoice_id).where(LateFee.invoice_id.in_(invoice_ids))))
    holds = set(db.session.scalars(sa.select(ServiceHold.invoice_id).where(ServiceHold.invoice_id.in_(invoice_ids))))
    now = utcnow()
    for invoice_id, service_id in todo:
        invoice, service = invoices[invoice_id], services[service_id]
        if invoice.status != PROFORMA or service.status not in (SERVICE_ACTIVE, SERVICE_SUSPENDED):
            continue
        actions = _due_actions((day - invoice.due_date).days, invoice.currency, invoice_id in fees,
                               invoice_id in holds, thresholds)
        if actions["fee"]:
            fee = _charge_late_fee(actor, invoice, thresholds[1][invoice.currency], day, now)
            report.late_fees.append((invoice.reference, fee.reference))
        if actions["suspend"] and place_overdue_hold(actor, service, invoice, now) is not None:
            report.suspensions.append(service.id)
        if actions["terminate"]:
            _terminate(actor, service, invoice, now)
            report.terminations.append(service.id)
    commit_service_call(db.session)


def _charge_late_fee(actor, invoice, amount, day, now) -> Invoice:
    """The late fee for ``invoice`` as a proforma of its own (the overdue invoice stays as it was sent; paying it
    alone resumes the service): one untaxed line in the invoice's language. Never commits."""
    amounts = money.line_amounts(amount, 1, 0, False)
    with force_locale(invoice.language):
        description = _("Late fee for invoice %(name)s", name=invoice.name)
    line = DraftLine(description=description, product_id=None, cycle=ONE_OFF, quantity=1, unit_price=amount,
                     includes_tax=False, tax_name="", tax_rate_bp=0, net=amounts.net, tax=amounts.tax,
                     gross=amounts.gross)
    quote = Quote(currency=invoice.currency, language=invoice.language, tax=_NO_TAX, lines=[line], services=[],
                  items=[])
    fee = create_proforma(invoice.account, quote, now=now)
    db.session.flush()
    db.session.add(LateFee(invoice_id=invoice.id, fee_invoice_id=fee.id, amount=amount, currency=invoice.currency,
                           day=day, created_at=now))
    audit.record(actor, "billing-invoice", invoice.id, "late-fee",
                 {"fee_invoice": fee.id, "amount": amount, "currency": invoice.currency})
    return fee


def _terminate(actor, service, invoice, now):
    """The invoice stayed unpaid past BILLING_TERMINATE_AFTER_DAYS: it is cancelled (anything part-paid goes to
    credit) and the service with it. Its holds stay as the record of why. Never commits."""
    cancel_proforma(actor, invoice, now)
    old = service.status
    service.status, service.cancelled_at, service.next_due_date = SERVICE_CANCELLED, now, None
    audit.record(actor, "billing-service", service.id, "terminated",
                 {"status": [old, SERVICE_CANCELLED], "invoice": invoice.id})
