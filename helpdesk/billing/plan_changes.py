"""Upgrades and downgrades: an active service moved to another product of its group (a bigger or smaller hosting
package), effective today and prorated by the day over the service's current period.

The figures: the old price's unused days are credited and the new price's remaining days charged, each
``round_minor(price × days left / days in the period)`` per unit (money.py's one rounding rule), made into invoice
lines by pricing.adjustment_line with the buyer's tax decision, exactly as an order's lines are. The difference
(gross) decides what happens:

- more than zero, an upgrade: a proforma invoice for the difference (invoices.create_proforma, like an order's) and a
  pending change. The change takes effect when the invoice is paid, through record_payment's settle step
  (``apply_paid_change``): what a hosting customer expects from "upgrade now, pay the difference", and nobody gets a
  bigger package they have not paid for. A new change of the same service replaces a pending one (its proforma is
  cancelled).
- less than zero, a downgrade: applied at once, the difference put on the account's credit (never cash).
- zero: applied at once.

The service's product, options and recurring price change; its period and next due date stay. A confirmed change is
unique on the form's one-time key, so a double submit changes the plan once. The service's customer (portal) or
billing staff (console) change it; every step leaves an audit row."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import force_locale

from helpdesk import audit
from helpdesk.audit.sentences import register
from helpdesk.billing import money, orders
from helpdesk.billing.access import get_service, may_manage
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.catalogue_models import CYCLE_LABELS, ONE_OFF, Product, text_in
from helpdesk.billing.credit import add_credit
from helpdesk.billing.invoices import business_date, cancel_proforma, create_proforma, lock_invoice
from helpdesk.billing.models import PROFORMA, SERVICE_ACTIVE, SERVICE_CANCELLED, Service, ServicePeriod
from helpdesk.billing.plan_change_models import (
    CHANGE_APPLIED,
    CHANGE_CANCELLED,
    CHANGE_PENDING,
    CREDIT_PLAN_CHANGE,
    PlanChange,
)
from helpdesk.billing.pricing import CartItem, Quote, adjustment_line
from helpdesk.db import begin_write, commit_service_call, in_batch, utcnow
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

KEY_MAX = 64


class PlanNotChangeable(Conflict):
    """The service cannot change its plan now (not active, paid once, no period running today, the next
    period already invoiced)."""

    message = _l("This service’s plan cannot be changed now.")


class NextPeriodInvoiced(PlanNotChangeable):
    message = _l("The next period of this service is already invoiced: change the plan once it has started.")


class FiguresChanged(Conflict):
    """The amounts are not the ones the customer confirmed (a new day began, a price changed)."""

    message = _l("The amounts changed since you saw them: check them and confirm again.")


@dataclass(frozen=True)
class Preview:
    """What a change to ``product`` would do today: the period and days, the unit prices per cycle, the invoice
    lines (the new plan's charge, the old plan's credit, as pricing.DraftLine), their gross amounts and the
    difference (> 0 due now, < 0 credited)."""

    service: Service
    product: Product
    effective_on: date
    period_start: date
    period_end: date
    days_left: int
    days_in_period: int
    old_amount: int
    new_amount: int
    new_options: list
    new_includes_tax: bool
    quote: Quote

    @property
    def new_charge(self) -> int:
        return self.quote.lines[0].gross

    @property
    def unused_credit(self) -> int:
        return -self.quote.lines[1].gross

    @property
    def difference(self) -> int:
        return self.quote.totals.gross

    @property
    def currency(self) -> str:
        return self.service.currency


def prorate(amount: int, days_left: int, days_in_period: int) -> int:
    """``amount`` (a price per period, minor units) for ``days_left`` of ``days_in_period`` days, by money's rule."""
    return money.round_minor(amount * days_left, days_in_period)


# --------------------------------------------------------------------------- checks

def _require_changer(actor, service_id) -> Service:
    """The service, if ``actor`` may change its plan: its customer, billing staff, the system. NotFound for another
    customer's service (as every billing read), NotAllowed for staff without the billing permission."""
    service = get_service(actor, service_id)
    if not (actor.is_customer or may_manage(actor)):
        raise NotAllowed()
    return service


def current_period(service: Service, today: date) -> tuple[date, date]:
    """The paid period running ``today`` (start, exclusive end). PlanNotChangeable when the service is not active,
    is paid once or is part of a package, or no period runs today; NextPeriodInvoiced when a later period is
    invoiced already (its renewal invoice is at the old price)."""
    if service.status != SERVICE_ACTIVE or service.cycle == ONE_OFF or service.recurring_amount is None \
            or service.parent_id is not None:  # a package's contents change with their package, not alone
        raise PlanNotChangeable()
    periods = db.session.scalars(sa.select(ServicePeriod).where(ServicePeriod.service_id == service.id)).all()
    running = [(p.period_start, p.period_end) for p in periods
               if p.paid_at is not None and p.period_end and p.period_start <= today < p.period_end]
    if not running and service.period_start and service.period_end \
            and service.period_start <= today < service.period_end:
        running = [(service.period_start, service.period_end)]
    if not running:
        raise PlanNotChangeable()
    start, end = running[0]
    if any(p.period_start >= end for p in periods):
        raise NextPeriodInvoiced()
    return start, end


def _carried_options(service, product) -> dict:
    """The service's choices that the new product offers too (same option and choice codes); the new product's
    other options take their first choice, as an option left out of the order form does."""
    chosen = {o.get("option"): o.get("choice") for o in service.options or () if isinstance(o, dict)}
    carried = {}
    for option in product.options:
        code = chosen.get(option.code)
        if code and any(choice.code == code for choice in option.choices):
            carried[option.code] = code
    return carried


def _describe(service, product, language, first, last, days_left, days, *, unused) -> str:
    """A line's words in the invoice's language: the plan, the days it covers ("3 Dec 2026 – 1 Jan 2027: 30 of
    31 days")."""
    name = text_in(product.texts, language, default_language())
    if service.identifier:
        name += f" ({service.identifier})"
    with force_locale(language):
        period = str(_l("%(first)s – %(last)s: %(left)d of %(days)d days",
                        first=format_date(first, "medium", locale=language),
                        last=format_date(last, "medium", locale=language), left=days_left, days=days))
        if unused:
            return str(_l("Unused days of %(name)s (%(cycle)s)", name=name, cycle=CYCLE_LABELS[service.cycle])) \
                + "\n" + period
        return str(_l("Change of plan to %(name)s (%(cycle)s)", name=name, cycle=CYCLE_LABELS[service.cycle])) \
            + "\n" + period


def _offered(service, product_id) -> Product:
    """The product ``product_id`` if the service may move to it: on sale, another product of its group."""
    from helpdesk.billing.catalogue import get_product

    product = get_product(product_id)
    if product is None or not _may_move_to(service, product):
        raise ValidationFailed({"product": _l("Choose one of the plans offered.")})
    return product


def _may_move_to(service, product) -> bool:
    """Another product of the service's group and of its kind: a package moves to another package (its contents,
    such as a free domain, stay the services they are), a product to another product."""
    current = service.product
    return product.id != current.id and product.group_id == current.group_id and product.kind == current.kind


def _preview(actor, service, product, today) -> Preview:
    start, end = current_period(service, today)
    days, left = (end - start).days, (end - today).days
    try:
        quoted = orders.quote(actor, service.account, [CartItem(
            product.id, service.cycle, options=_carried_options(service, product), identifier=service.identifier,
            quantity=service.quantity)], currency=service.currency)
    except ValidationFailed:
        raise ValidationFailed({"product": _l("This plan is not sold on the service’s billing cycle in its "
                                              "currency.")}) from None
    draft, language, tax = quoted.services[0], quoted.language, quoted.tax
    first, last = today, date.fromordinal(end.toordinal() - 1)
    charge = adjustment_line(
        tax, product, cycle=service.cycle, quantity=service.quantity, includes_tax=draft.includes_tax,
        unit_price=prorate(draft.recurring_amount, left, days),
        description=_describe(service, product, language, first, last, left, days, unused=False))
    unused = adjustment_line(
        tax, service.product, cycle=service.cycle, quantity=service.quantity, includes_tax=service.includes_tax,
        unit_price=-prorate(service.recurring_amount, left, days),
        description=_describe(service, service.product, language, first, last, left, days, unused=True))
    quote = Quote(currency=service.currency, language=language, tax=tax, lines=[charge, unused], services=[],
                  items=[])
    return Preview(service=service, product=product, effective_on=today, period_start=start, period_end=end,
                   days_left=left, days_in_period=days, old_amount=service.recurring_amount,
                   new_amount=draft.recurring_amount, new_options=draft.options,
                   new_includes_tax=draft.includes_tax, quote=quote)


# --------------------------------------------------------------------------- reading

def plan_options(actor, service) -> list[Preview]:
    """What each plan the service may move to would cost today (the products of its group on sale on its cycle
    and currency, in the catalogue's order). The service's customer or billing staff; PlanNotChangeable (or
    NextPeriodInvoiced) when it cannot change now."""
    service = _require_changer(actor, getattr(service, "id", service))
    today = business_date(utcnow())
    current_period(service, today)
    found = []
    for product in service.product.group.products:
        if not product.active or not _may_move_to(service, product) \
                or product.price_for(service.cycle, service.currency) is None:
            continue
        try:
            found.append(_preview(actor, service, product, today))
        except ValidationFailed:
            continue
    return found


def preview(actor, service, product_id) -> Preview:
    """What moving the service to ``product_id`` would cost or credit today (nothing is saved). The service's
    customer or billing staff; ValidationFailed for a product it may not move to."""
    service = _require_changer(actor, getattr(service, "id", service))
    return _preview(actor, service, _offered(service, product_id), business_date(utcnow()))


def changes_of(actor, service) -> list[PlanChange]:
    """The service's plan changes, newest first, for whoever may see the service."""
    service = get_service(actor, getattr(service, "id", service))
    return db.session.scalars(sa.select(PlanChange).where(PlanChange.service_id == service.id)
                              .order_by(PlanChange.id.desc())).all()


def pending_change(service) -> PlanChange | None:
    """The upgrade of the service waiting for its invoice to be paid, if any (no access check: callers read the
    service with one)."""
    return db.session.scalars(sa.select(PlanChange).where(PlanChange.service_id == service.id,
                                                          PlanChange.status == CHANGE_PENDING)
                              .order_by(PlanChange.id.desc()).limit(1)).first()


def _by_key(key) -> PlanChange | None:
    return db.session.scalars(sa.select(PlanChange).where(PlanChange.key == key)).first()


# --------------------------------------------------------------------------- changing

def change_plan(actor, service, product_id, *, key: str, expect_difference: int | None = None) -> PlanChange:
    """Move the service to ``product_id`` today (see the module's words): an upgrade gets an invoice for the
    difference and takes effect when it is paid; a downgrade is applied at once with the difference put on the
    account's credit; an even change is applied at once. ``key`` is the confirming form's one-time token: the
    same key again returns the first change and changes nothing. ``expect_difference`` is the difference the
    customer saw: FiguresChanged when today's differs. A pending upgrade of the service is replaced (its proforma
    cancelled, anything paid of it credited). The service's customer or billing staff. Commits."""
    key = str(key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationFailed({"key": _l("The form has expired: load the page again.")})
    service = _require_changer(actor, getattr(service, "id", service))
    existing = _by_key(key)
    if existing is not None:
        return _same_service(existing, service)
    try:
        change = _change(actor, service, product_id, key, expect_difference)
        commit_service_call(db.session)
        return change
    except sa.exc.IntegrityError:
        # The same form sent twice at once: the other request made the change with this key first.
        db.session.rollback()
        existing = _by_key(key)
        if existing is None:
            raise
        return _same_service(existing, service)
    except Exception:
        if not in_batch(db.session):
            db.session.rollback()
        raise


def _same_service(change, service):
    if change.service_id != service.id:
        raise Conflict()
    return change


def _pending(service_id) -> list[PlanChange]:
    return db.session.scalars(sa.select(PlanChange).where(PlanChange.service_id == service_id,
                                                          PlanChange.status == CHANGE_PENDING)).all()


def _change(actor, service, product_id, key, expect_difference) -> PlanChange:
    begin_write(db.session)
    # Locks in the payments' order: a pending upgrade's invoice first, then the service.
    for pending in _pending(service.id):
        if pending.invoice_id is not None:
            lock_invoice(pending.invoice_id)
    service = db.session.scalar(sa.select(Service).where(Service.id == service.id).with_for_update()
                                .execution_options(populate_existing=True))
    raced = _by_key(key)
    if raced is not None:
        return _same_service(raced, service)
    now = utcnow()
    figures = _preview(actor, service, _offered(service, product_id), business_date(now))
    if expect_difference is not None and expect_difference != figures.difference:
        raise FiguresChanged()
    for pending in _pending(service.id):
        _cancel(actor, pending, now)
    change = PlanChange(
        key=key, service_id=service.id, account_id=service.account_id, from_product_id=service.product_id,
        to_product_id=figures.product.id, cycle=service.cycle, currency=service.currency, quantity=service.quantity,
        old_amount=figures.old_amount, new_amount=figures.new_amount, new_options=figures.new_options,
        new_includes_tax=figures.new_includes_tax, effective_on=figures.effective_on,
        period_start=figures.period_start, period_end=figures.period_end, days_left=figures.days_left,
        days_in_period=figures.days_in_period, unused_credit=figures.unused_credit, new_charge=figures.new_charge,
        difference=figures.difference, status=CHANGE_PENDING, requested_by_id=getattr(actor, "id", None),
        requested_by_label=actor.label, created_at=now)
    db.session.add(change)
    db.session.flush()  # the key's unique constraint, before anything else is written
    if change.difference > 0:
        invoice = create_proforma(service.account, figures.quote, now=now)
        db.session.flush()
        change.invoice_id = invoice.id
        audit.record(actor, "billing-service", service.id, "plan-change-invoiced",
                     {"plan_change": change.id, "product": [service.product_id, change.to_product_id],
                      "invoice": invoice.id, "amount": change.difference, "currency": change.currency})
        return change
    if change.difference < 0:
        add_credit(actor, service.account_id, service.currency, -change.difference, CREDIT_PLAN_CHANGE,
                   note=str(_l("Downgrade of service #%(id)s, %(first)s to %(last)s", id=service.id,
                               first=figures.effective_on.isoformat(),
                               last=date.fromordinal(figures.period_end.toordinal() - 1).isoformat())))
    _apply(actor, change, service, now)
    return change


def _apply(actor, change, service, now):
    was = (service.product_id, service.recurring_amount)
    service.product = db.session.get(Product, change.to_product_id)
    service.options = list(change.new_options or [])
    service.recurring_amount, service.includes_tax = change.new_amount, change.new_includes_tax
    change.status, change.applied_at = CHANGE_APPLIED, now
    audit.record(actor, "billing-service", service.id, "plan-changed",
                 {"plan_change": change.id, "product": [was[0], change.to_product_id],
                  "recurring_amount": [was[1], change.new_amount], "currency": change.currency,
                  "difference": change.difference})


def _cancel(actor, change, now):
    """Cancel a pending upgrade (another change replaces it): its proforma is cancelled, what was paid of it goes
    to the account's credit. The caller holds the invoice's lock."""
    invoice = change.invoice
    if invoice is not None and invoice.status == PROFORMA:
        cancel_proforma(actor, invoice, now)
    change.status, change.cancelled_at = CHANGE_CANCELLED, now
    audit.record(actor, "billing-service", change.service_id, "plan-change-cancelled",
                 {"plan_change": change.id, "invoice": change.invoice_id})


def apply_paid_change(actor, invoice, now) -> PlanChange | None:
    """The payment path's step for an upgrade's invoice just paid in full (payments.settle, under the invoice's
    lock, so it happens once): the pending change takes effect. Should the service have been cancelled meanwhile, or
    the period the change was priced for have ended, the change is cancelled and what was paid goes to the
    account's credit. Never commits."""
    if invoice.order_id is not None:
        return None
    change = db.session.scalars(sa.select(PlanChange).where(PlanChange.invoice_id == invoice.id,
                                                            PlanChange.status == CHANGE_PENDING)).first()
    if change is None:
        return None
    service = db.session.scalar(sa.select(Service).where(Service.id == change.service_id).with_for_update()
                                .execution_options(populate_existing=True))
    lapsed = business_date(now) >= change.period_end  # priced for a period that is over
    if service.status == SERVICE_CANCELLED or lapsed:
        change.status, change.cancelled_at = CHANGE_CANCELLED, now
        add_credit(actor, invoice.account_id, invoice.currency, invoice.total, CREDIT_PLAN_CHANGE, invoice=invoice,
                   note=str(_l("The upgrade was paid after the period it was priced for had ended.") if lapsed else
                            _l("The service was cancelled before its upgrade was paid.")))
        audit.record(actor, "billing-service", service.id, "plan-change-cancelled",
                     {"plan_change": change.id, "invoice": invoice.id})
        return change
    _apply(actor, change, service, now)
    return change


# --------------------------------------------------------------------------- the audit trail's sentences

def _money_words(reading, key):
    from flask_babel import get_locale

    amount, currency = reading.changes.get(key), reading.changes.get("currency")
    if isinstance(amount, int) and currency in money.MINOR_DIGITS:
        return money.format_amount(abs(amount), currency, get_locale() or default_language())
    return f"{amount} {currency}"


def _invoiced(reading):
    return reading.sentence(_l("Asked %(money)s with invoice %(invoice)s to change the plan of the service "
                               "%(name)s to %(product)s."), money=_money_words(reading, "amount"))


def _changed(reading):
    difference = reading.changes.get("difference")
    if isinstance(difference, int) and difference < 0:
        return reading.sentence(_l("Changed the plan of the service %(name)s from %(old_product)s to %(product)s; "
                                   "%(money)s went to the customer’s credit."),
                                money=_money_words(reading, "difference"))
    return reading.sentence(_l("Changed the plan of the service %(name)s from %(old_product)s to %(product)s."))


register("billing-service", "plan-change-invoiced", _invoiced,
         refs={"invoice": "billing-invoice", "product": "billing-product"})
register("billing-service", "plan-changed", _changed, refs={"product": "billing-product"})
register("billing-service", "plan-change-cancelled", _l("Cancelled a plan change of the service %(name)s."),
         refs={"invoice": "billing-invoice"})
