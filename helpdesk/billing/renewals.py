"""The billing daily run (issue 17): renewal invoices some days before each service's due date, paid from the
credit balance when it covers them, then reminders, late fees, suspensions and terminations (dunning.py).

``run_day(day)`` is idempotent per day and per object: a renewal invoice exists once per (service, period start)
(ServicePeriod's unique key), a reminder once per (invoice, kind), a late fee once per invoice, an overdue hold once
per (service, invoice). Running it twice, or in two processes at once, does each thing once: the database refuses
the second and the run moves on. Work is read with a few set-based queries and written in chunks of CHUNK objects,
one transaction each (locks taken in the payments' order: invoice, then service)."""
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.actors import SystemActor
from helpdesk.billing import dunning, taxes
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.catalogue_models import CYCLE_LABELS, Product, text_in
from helpdesk.billing.errors import InsufficientCredit, InvoiceNotPayable
from helpdesk.billing.invoices import business_date, create_proforma
from helpdesk.billing.models import (
    PROFORMA,
    SERVICE_ACTIVE,
    SERVICE_SUSPENDED,
    SOURCE_CREDIT,
    BillingAccount,
    CreditBalance,
    Invoice,
    Service,
    ServicePeriod,
)
from helpdesk.billing.pricing import Quote, adjustment_line
from helpdesk.billing.services import period_after
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.extensions import db

log = logging.getLogger(__name__)

RUN = SystemActor("billing-run")  # the actor of everything the daily run does (the audit trail names it)
CHUNK = 500  # objects per transaction


@dataclass
class Report:
    """What a daily run did (or, with ``dry_run``, would do): renewal invoices made (service id, the invoice's
    reference; None in a dry run), invoices paid from credit (ids), reminders sent (invoice id, kind), late fees
    (the overdue invoice's reference, the fee invoice's), services suspended, resumed by the run's payments from
    credit (a customer's own payment resumes a service in the payment's transaction) and terminated (ids)."""

    day: date
    dry_run: bool = False
    invoices: list = field(default_factory=list)
    paid_from_credit: list = field(default_factory=list)
    reminders: list = field(default_factory=list)
    late_fees: list = field(default_factory=list)
    suspensions: list = field(default_factory=list)
    unsuspensions: list = field(default_factory=list)
    terminations: list = field(default_factory=list)

    def counts(self) -> dict:
        return {name: len(getattr(self, name)) for name in (
            "invoices", "paid_from_credit", "reminders", "late_fees", "suspensions", "unsuspensions",
            "terminations")}


def run_day(day: date, *, dry_run: bool = False) -> Report:
    """Do the billing work of ``day`` (a date in the business time zone): renewal invoices, payment from credit,
    reminders, late fees, suspensions, terminations. ``dry_run`` writes nothing and reports what would be done.
    Commits chunk by chunk; safe to run twice and in two processes at once."""
    report = Report(day=day, dry_run=dry_run)
    renew(day, report)
    pay_from_credit(day, report)
    dunning.send_reminders(day, report, actor=RUN)
    dunning.settle_overdue(day, report, actor=RUN)
    return report


def today() -> date:
    """Today in the business time zone: the day a run without a date does."""
    return business_date(utcnow())


def run_day_task(day_iso: str | None = None) -> dict:
    """The scheduler's job (task path "helpdesk.billing.renewals.run_day_task"): the run of ``day_iso``
    (YYYY-MM-DD; today in the business time zone when None). Returns the report's counts."""
    day = date.fromisoformat(day_iso) if day_iso else today()
    report = run_day(day)
    log.info("billing run %s: %s", day.isoformat(), report.counts())
    return report.counts()


def report_lines(report: Report) -> list[str]:
    """The report in words, in the current locale (the CLI's: the desk's language)."""
    counts = report.counts()
    return [_("Billing run of %(day)s", day=format_date(report.day, "medium")),
            ngettext("%(num)d renewal invoice", "%(num)d renewal invoices", counts["invoices"]),
            ngettext("%(num)d invoice paid from credit", "%(num)d invoices paid from credit",
                     counts["paid_from_credit"]),
            ngettext("%(num)d reminder", "%(num)d reminders", counts["reminders"]),
            ngettext("%(num)d late fee", "%(num)d late fees", counts["late_fees"]),
            ngettext("%(num)d service suspended", "%(num)d services suspended", counts["suspensions"]),
            ngettext("%(num)d service resumed", "%(num)d services resumed", counts["unsuspensions"]),
            ngettext("%(num)d service terminated", "%(num)d services terminated", counts["terminations"])]


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- renewal invoices

def _lead_days() -> dict:
    """{product id: days before the due date its renewals are invoiced} for products that set their own, and the
    default (BILLING_RENEWAL_LEAD_DAYS) under None."""
    own = dict(db.session.execute(sa.select(Product.id, Product.renewal_lead_days)
                                  .where(Product.renewal_lead_days.is_not(None))).all())
    return {**own, None: current_app.config["BILLING_RENEWAL_LEAD_DAYS"]}


def services_to_renew(day: date) -> list[int]:
    """Ids of the active and suspended services whose next period is not invoiced yet and whose due date is within
    their product's lead days of ``day``: one query."""
    leads = _lead_days()
    furthest = max(leads.values())
    invoiced = sa.select(ServicePeriod.id).where(ServicePeriod.service_id == Service.id,
                                                 ServicePeriod.period_start == Service.next_due_date)
    rows = db.session.execute(sa.select(Service.id, Service.product_id, Service.next_due_date).where(
        Service.status.in_((SERVICE_ACTIVE, SERVICE_SUSPENDED)), Service.next_due_date.is_not(None),
        Service.next_due_date <= day + timedelta(days=furthest), ~invoiced.exists()).order_by(Service.id)).all()
    return [service_id for service_id, product_id, due in rows
            if due - timedelta(days=leads.get(product_id, leads[None])) <= day]


def renew(day: date, report: Report):
    """Make the renewal invoices ``day`` is due to make, CHUNK services per transaction."""
    ids = services_to_renew(day)
    if report.dry_run:
        report.invoices.extend((service_id, None) for service_id in ids)
        return
    for chunk in chunks(ids):
        try:
            report.invoices.extend(_renew_chunk(chunk, day))
        except sa.exc.IntegrityError:
            # Another run invoiced some of these between our read and our write: what it made stands; do the rest.
            db.session.rollback()
            report.invoices.extend(_renew_chunk(chunk, day))


def _renew_chunk(ids, day):
    begin_write(db.session)
    # Locked first, then read again: a run that waited for another's chunk sees the periods that one invoiced.
    db.session.execute(sa.select(Service.id).where(Service.id.in_(ids)).order_by(Service.id).with_for_update())
    services = db.session.scalars(
        sa.select(Service).where(Service.id.in_(ids)).order_by(Service.id)
        .options(selectinload(Service.account).selectinload(BillingAccount.user),
                 selectinload(Service.product).selectinload(Product.prices))
        .execution_options(populate_existing=True)).all()
    taken = set(db.session.execute(sa.select(ServicePeriod.service_id, ServicePeriod.period_start)
                                   .where(ServicePeriod.service_id.in_(ids))).all())
    now, decisions, made = utcnow(), {}, []
    for service in services:
        if service.status not in (SERVICE_ACTIVE, SERVICE_SUSPENDED) or service.next_due_date is None \
                or (service.id, service.next_due_date) in taken:
            continue
        invoice = _renewal_invoice(service, now, decisions)
        if invoice is not None:
            made.append((service, invoice))
    db.session.flush()
    for service, invoice in made:
        start = service.next_due_date
        db.session.add(ServicePeriod(service_id=service.id, period_start=start,
                                     period_end=period_after(start, service.cycle), invoice_id=invoice.id,
                                     invoice_line_id=invoice.lines[0].id, paid_at=None))
        audit.record(RUN, "billing-service", service.id, "renewal-invoiced",
                     {"invoice": invoice.id, "period_start": start.isoformat(), "total": invoice.total,
                      "currency": invoice.currency})
    db.session.flush()  # the periods' unique key is checked here
    for _service, invoice in made:
        if invoice.total == 0:  # nothing to pay (a free period): final at once, the service runs on
            from helpdesk.billing.payments import settle

            settle(RUN, invoice, now)
    done = [(service.id, invoice.reference) for service, invoice in made]
    commit_service_call(db.session)
    return done


def _unit_price(service) -> int | None:
    if service.recurring_amount is not None:
        return service.recurring_amount
    price = service.product.price_for(service.cycle, service.currency)
    return price.amount if price is not None else None


def _renewal_invoice(service, now, decisions) -> Invoice | None:
    """The proforma for ``service``'s next period (due on its next due date), priced and taxed as an order's
    lines are (pricing's line, the account's tax decision now), in the customer's language. Never commits."""
    unit_price = _unit_price(service)
    if unit_price is None:
        log.warning("service %s has no price for its renewal (%s, %s)", service.id, service.cycle, service.currency)
        return None
    account = service.account
    language = getattr(account.user, "locale", None) or default_language()
    start = service.next_due_date
    end = period_after(start, service.cycle)
    with force_locale(language):
        if account.id not in decisions:
            decisions[account.id] = taxes.decide(account, current_app.config["BILLING_SELLER"])
        tax = decisions[account.id]
        line = adjustment_line(tax, service.product, description=_description(service, language, start, end),
                               cycle=service.cycle, quantity=service.quantity, unit_price=unit_price,
                               includes_tax=service.includes_tax)
    line.service = 0
    quote = Quote(currency=service.currency, language=language, tax=tax, lines=[line], services=[service], items=[])
    invoice = create_proforma(account, quote, services=[service], now=now)
    invoice.due_date = start
    return invoice


def _description(service, language, start, end) -> str:
    name = text_in(service.product.texts, language, default_language())
    words = name + (f" ({service.identifier})" if service.identifier else "")
    words += f" — {CYCLE_LABELS[service.cycle]}"
    if service.options:
        words += "\n" + "; ".join(f"{c.get('option_name')}: {c.get('choice_name')}" for c in service.options)
    last = end - timedelta(days=1) if end else start
    return words + "\n" + _("Period: %(start)s – %(end)s", start=format_date(start, "medium"),
                            end=format_date(last, "medium"))


# --------------------------------------------------------------------------- paying from credit

def invoices_payable_from_credit() -> list[tuple]:
    """(invoice id, amount due, currency) of the unpaid renewal invoices whose account pays from credit
    (auto_pay_from_credit) and whose credit balance in the invoice's currency covers what is due: one query."""
    due = Invoice.total - Invoice.amount_paid
    return db.session.execute(
        sa.select(Invoice.id, due, Invoice.currency)
        .join(ServicePeriod, ServicePeriod.invoice_id == Invoice.id)
        .join(BillingAccount, BillingAccount.id == Invoice.account_id)
        .join(CreditBalance, sa.and_(CreditBalance.account_id == Invoice.account_id,
                                     CreditBalance.currency == Invoice.currency))
        .where(Invoice.status == PROFORMA, ServicePeriod.paid_at.is_(None), BillingAccount.auto_pay_from_credit,
               CreditBalance.balance >= due, due > 0)
        .order_by(Invoice.id)).all()


def pay_from_credit(day: date, report: Report):
    """Pay each unpaid renewal invoice the account's credit covers, through record_payment (source "credit", one
    key per invoice, so it is paid from credit once); a balance spent meanwhile leaves the invoice unpaid."""
    from helpdesk.billing.payments import record_payment

    for invoice_id, amount, currency in invoices_payable_from_credit():
        if report.dry_run:
            report.paid_from_credit.append(invoice_id)
            continue
        suspended = _suspended_for(invoice_id)
        try:
            record_payment(RUN, invoice=invoice_id, amount=amount, currency=currency, source=SOURCE_CREDIT,
                           external_id=f"renewal-credit-{invoice_id}", received_on=day)
        except (InsufficientCredit, InvoiceNotPayable):
            continue
        report.paid_from_credit.append(invoice_id)
        if suspended:
            report.unsuspensions.extend(db.session.scalars(sa.select(Service.id).where(
                Service.id.in_(suspended), Service.status == SERVICE_ACTIVE)).all())


def _suspended_for(invoice_id) -> list[int]:
    """The suspended services an invoice's renewal periods belong to."""
    return db.session.scalars(sa.select(Service.id).join(ServicePeriod, ServicePeriod.service_id == Service.id)
                              .where(ServicePeriod.invoice_id == invoice_id,
                                     Service.status == SERVICE_SUSPENDED)).all()
