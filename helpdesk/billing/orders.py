"""Orders: a cart checked out (``place_order``) becomes an order with its items, the services it will create
(pending) and its proforma invoice, in one transaction. It stays pending until paid (payments.record_payment
activates it); staff accept it (activating it if it is paid), hold it (payments are still taken, nothing is
activated until accepted) or cancel it (its proforma is cancelled, anything paid goes to credit)."""
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from helpdesk import audit
from helpdesk.accounts import verification
from helpdesk.actors import SYSTEM
from helpdesk.billing import fulfilment, pricing, taxes
from helpdesk.billing.access import require_account, require_manager, visible
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.errors import FinalInvoice
from helpdesk.billing.invoices import assign_number, cancel_proforma, create_proforma, lock_invoice
from helpdesk.billing.models import (
    ORDER_ACTIVE,
    ORDER_CANCELLED,
    ORDER_ON_HOLD,
    ORDER_PENDING,
    PROFORMA,
    SERVICE_CANCELLED,
    SOURCE_BANK_TRANSFER,
    SOURCE_CREDIT,
    Order,
    OrderItem,
    Service,
)
from helpdesk.billing.services import activate_order
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

NOTE_MAX = 2000


def payment_methods(currency: str) -> list[str]:
    """How an order in ``currency`` can be paid: bank transfer (when BILLING_BANK_ACCOUNTS has an account for it),
    the credit balance, and the gateways of BILLING_GATEWAYS that take the currency."""
    from helpdesk.billing.gateways import enabled_gateways

    methods = [SOURCE_BANK_TRANSFER] if currency in current_app.config["BILLING_BANK_ACCOUNTS"] else []
    return methods + [SOURCE_CREDIT] + [gateway.name for gateway in enabled_gateways(currency)]


def _language(account) -> str:
    return getattr(account.user, "locale", None) or default_language()


def quote(actor, account, items, *, currency=None) -> pricing.Quote:
    """Price a cart for ``account`` without saving anything (the cart page): lines, taxes and totals exactly as
    the order would have them. The account's customer or staff; ValidationFailed lists every problem."""
    _require_buyer(actor, account)
    currency = currency or account.currency
    with force_locale(_language(account)):
        decision = taxes.decide(account, current_app.config["BILLING_SELLER"])
    return pricing.price_cart(items, currency=currency, language=_language(account), tax=decision)


def _require_buyer(actor, account):
    if actor.is_system:
        return
    if actor.is_customer:  # a member of the account they act for, allowed to order
        require_account(actor, account.id)
        return
    require_manager(actor)


def place_order(actor, account, items, *, payment_method: str, currency=None) -> Order:
    """Check out ``items`` (pricing.CartItem) for ``account``: the order, its items, its services (pending) and its
    proforma invoice (frozen, with a payment reference), in one transaction. ``payment_method`` is one of
    ``payment_methods(currency)``. An order costing nothing is final and active at once. The account's customer,
    or billing staff for them. Commits; returns the Order (``order.invoice`` is its proforma)."""
    quoted = quote(actor, account, items, currency=currency)
    if payment_method not in payment_methods(quoted.currency):
        raise ValidationFailed({"payment_method": _l("Choose a payment method from the list.")})
    fulfilment.check_order(actor, account, quoted.services)
    begin_write(db.session)
    now = utcnow()
    order = Order(account=account, status=ORDER_PENDING, currency=quoted.currency, payment_method=payment_method,
                  created_at=now, placed_by_id=getattr(actor, "id", None))
    order.items = [OrderItem(product_id=item.product_id, cycle=item.cycle, quantity=item.quantity or 1,
                             identifier=(item.identifier or "").strip()[:200], options=dict(item.options or {}),
                             position=position) for position, item in enumerate(quoted.items)]
    db.session.add(order)
    services = []
    for draft in quoted.services:
        service = Service(account=account, order=order, order_item=order.items[draft.item_index],
                          product=draft.product, identifier=draft.identifier, options=draft.options,
                          cycle=draft.cycle, quantity=draft.quantity, currency=quoted.currency,
                          recurring_amount=draft.recurring_amount, includes_tax=draft.includes_tax, status="pending",
                          created_at=now, parent=services[draft.parent] if draft.parent is not None else None)
        services.append(service)
        db.session.add(service)
    invoice = create_proforma(account, quoted, order=order, services=services, now=now)
    db.session.flush()
    audit.record(actor, "billing-order", order.id, "placed",
                 {"invoice": invoice.id, "total": invoice.total, "currency": invoice.currency,
                  "payment_method": payment_method})
    _hold_until_identity_verified(account, order)
    if invoice.total == 0:
        activate_order(actor, order, invoice, now)
        assign_number(invoice, actor, now)
    commit_service_call(db.session)
    return order


def _check_note(note):
    note = strip_control(note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed({"note": _l("At most %(num)d characters.", num=NOTE_MAX)})
    return note


def _locked(order):
    """The order's invoice locked first (the payments' lock order), then the order re-read."""
    invoice = order.invoice
    if invoice is not None:
        lock_invoice(invoice.id)
    else:
        begin_write(db.session)
    db.session.refresh(order, with_for_update=True)
    return order, invoice


def _add_note(order, note, actor):
    if note:
        order.staff_note = (order.staff_note + "\n" if order.staff_note else "") + f"{actor.label}: {note}"


def accept_order(actor, order: Order, *, note: str = "") -> Order:
    """Staff accept an order: a paid one (its invoice final) is activated now, an unpaid one will be when it is
    paid; a hold is lifted. Billing staff; Conflict for a cancelled order. Commits."""
    require_manager(actor)
    note = _check_note(note)
    order, invoice = _locked(order)
    if order.status == ORDER_CANCELLED:
        raise Conflict()
    now = utcnow()
    order.accepted_at, order.accepted_by_id = now, getattr(actor, "id", None)
    was, order.status = order.status, ORDER_PENDING if order.status == ORDER_ON_HOLD else order.status
    if invoice is not None and invoice.is_final:
        activate_order(actor, order, invoice, now)
    _add_note(order, note, actor)
    audit.record(actor, "billing-order", order.id, "accepted", {"status": [was, order.status], "note": note})
    commit_service_call(db.session)
    return order


def hold_order(actor, order: Order, *, note: str = "") -> Order:
    """Staff hold an order: payments are still recorded, but its services wait for ``accept_order``. Billing
    staff; Conflict once it is active or cancelled. Commits."""
    require_manager(actor)
    note = _check_note(note)
    order, _invoice = _locked(order)
    if order.status in (ORDER_ACTIVE, ORDER_CANCELLED):
        raise Conflict()
    was, order.status = order.status, ORDER_ON_HOLD
    _add_note(order, note, actor)
    audit.record(actor, "billing-order", order.id, "held", {"status": [was, ORDER_ON_HOLD], "note": note})
    commit_service_call(db.session)
    return order


def _hold_until_identity_verified(account, order):
    """An order of an account that must verify its identity first (issue 18) waits on the manual hold: payments
    never lift it; the verification's approval does (``release_held_for_identity``), or staff accepting it."""
    def first_order():
        return db.session.scalar(sa.select(Order.id).where(Order.account_id == account.id, Order.id != order.id)
                                 .limit(1)) is None

    if verification.order_waits(account.customer_account_id, first_order=first_order):
        order.status = ORDER_ON_HOLD
        verification.remember_held_order(account.customer_account_id, order)
        audit.record(SYSTEM, "billing-order", order.id, "held",
                     {"status": [ORDER_PENDING, ORDER_ON_HOLD], "note": "identity verification"})


def release_held_for_identity(actor, customer_account, decision) -> None:
    """Follows identity decisions (accounts.verification.follow): an approval accepts the orders that waited for
    it, as billing staff accepting them would; a rejection leaves them held. Runs in the decision's transaction."""
    if not decision.approved:
        return
    for order_id in verification.orders_to_release(customer_account.id):
        order = db.session.get(Order, order_id)
        if order is not None and order.status == ORDER_ON_HOLD:
            accept_order(SYSTEM, order, note=f"identity verified by {getattr(actor, 'label', actor)}")


def cancel_order(actor, order: Order, *, note: str = "") -> Order:
    """Staff cancel an order that is not paid in full: its proforma is cancelled (what was paid of it goes to the
    account's credit) and its services with it. A paid order's invoice is final: FinalInvoice (credit the invoice
    with invoices.credit_invoice instead). Billing staff. Commits."""
    require_manager(actor)
    note = _check_note(note)
    order, invoice = _locked(order)
    if order.status == ORDER_CANCELLED:
        return order
    if invoice is not None and invoice.status != PROFORMA:
        raise FinalInvoice()
    now = utcnow()
    refunded = cancel_proforma(actor, invoice, now) if invoice is not None else 0
    for service in order.services:
        service.status, service.cancelled_at, service.next_due_date = SERVICE_CANCELLED, now, None
    was, order.status, order.cancelled_at = order.status, ORDER_CANCELLED, now
    _add_note(order, note, actor)
    audit.record(actor, "billing-order", order.id, "cancelled",
                 {"status": [was, ORDER_CANCELLED], "refunded_to_credit": refunded, "note": note})
    commit_service_call(db.session)
    return order


def orders_of(actor, account_id=None, *, statuses=None, before_id=None, limit=50) -> list[Order]:
    """A page of orders ``actor`` may see, newest first: a customer's own; staff all (new ones: statuses
    pending and on hold) or one account's."""
    query = visible(actor, Order)
    if account_id is not None:
        query = query.where(Order.account_id == account_id)
    if statuses:
        query = query.where(Order.status.in_(tuple(statuses)))
    if before_id is not None:
        query = query.where(Order.id < before_id)
    return db.session.scalars(query.order_by(Order.id.desc()).limit(limit)).all()

