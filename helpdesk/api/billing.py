"""Billing in the API (issue 20): a customer account's orders, invoices (JSON and the portal's PDF), payments and
services, read through billing's own permission checks (members with the billing permission, services' for
services; every agent), and staff recording a payment the way the console books a transfer (billing.transfers,
which pays through payments.record_payment's one path: idempotent on the bank's reference, audited, four eyes
above BILLING_TRANSFER_APPROVAL_ABOVE)."""
from flask import jsonify, make_response
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload
from werkzeug.http import dump_options_header

from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.api.core import (
    NOT_MODIFIED,
    PageArgs,
    actor,
    keyset_page,
    new_blueprint,
    page_schema,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.api.idempotency import idempotent
from helpdesk.billing import access, invoices, transfers
from helpdesk.billing import services as billing_services
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.models import (
    BOOKING_COUNTED,
    INVOICE_STATUSES,
    ORDER_STATUSES,
    SERVICE_STATUSES,
    Invoice,
    Order,
    Payment,
    Service,
)
from helpdesk.db import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l

bp = new_blueprint("billing", __name__, _l("Orders, invoices, payments and services of customer accounts."))

# An account's id in these paths and answers is the customer account's (as in /accounts/{id}), not billing's own.


# --------------------------------------------------------------------------- representations

class MoneySchema(Schema):
    amount = fields.Integer(required=True, metadata={"description": "In the currency's minor unit (cents)"})
    currency = fields.String(required=True, validate=validate.Length(equal=3),
                             metadata={"description": "ISO 4217 code"})


def money(amount, currency):
    return {"amount": int(amount), "currency": currency} if amount is not None else None


class OrderItemSchema(Schema):
    product_id = fields.Integer(required=True)
    cycle = fields.String(required=True)
    quantity = fields.Integer(required=True)
    identifier = fields.String(required=True)
    parent_position = fields.Integer(allow_none=True, required=True)


class OrderSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The customer account"})
    status = fields.String(required=True, metadata={"enum": list(ORDER_STATUSES)})
    currency = fields.String(required=True)
    payment_method = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    accepted_at = fields.DateTime(allow_none=True, required=True)
    cancelled_at = fields.DateTime(allow_none=True, required=True)
    items = fields.List(fields.Nested(OrderItemSchema), required=True)
    invoice_id = fields.Integer(allow_none=True, required=True, metadata={"description": "Its proforma or invoice"})
    service_ids = fields.List(fields.Integer(), required=True)


def order_of(row: Order) -> dict:
    positions = {item.id: item.position for item in row.items}
    return {"id": row.id, "account_id": row.account.customer_account_id, "status": row.status,
            "currency": row.currency, "payment_method": row.payment_method, "created_at": row.created_at,
            "accepted_at": row.accepted_at, "cancelled_at": row.cancelled_at,
            "items": [{"product_id": item.product_id, "cycle": item.cycle, "quantity": item.quantity,
                       "identifier": item.identifier, "parent_position": positions.get(item.parent_id)}
                      for item in row.items],
            "invoice_id": row.invoice.id if row.invoice is not None else None,
            "service_ids": [service.id for service in row.services]}


class InvoiceLineSchema(Schema):
    position = fields.Integer(required=True)
    description = fields.String(required=True)
    product_id = fields.Integer(allow_none=True, required=True)
    service_id = fields.Integer(allow_none=True, required=True)
    cycle = fields.String(allow_none=True, required=True)
    quantity = fields.Integer(required=True)
    unit_price = fields.Nested(MoneySchema, required=True)
    includes_tax = fields.Boolean(required=True, metadata={"description": "Whether the unit price includes tax"})
    tax_name = fields.String(required=True)
    tax_rate_bp = fields.Integer(required=True, metadata={"description": "Basis points: 1900 is 19 %"})
    net = fields.Nested(MoneySchema, required=True)
    tax = fields.Nested(MoneySchema, required=True)
    gross = fields.Nested(MoneySchema, required=True)


class InvoiceTaxSchema(Schema):
    name = fields.String(required=True)
    rate_bp = fields.Integer(required=True)
    net = fields.Nested(MoneySchema, required=True)
    tax = fields.Nested(MoneySchema, required=True)


class InvoiceBuyerSchema(Schema):
    name = fields.String(required=True)
    address = fields.String(required=True)
    country = fields.String(required=True)
    customer_type = fields.String(required=True)
    tax_number = fields.String(required=True)
    tax_office = fields.String(required=True)
    email = fields.String(required=True)


class InvoiceSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The customer account"})
    order_id = fields.Integer(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"enum": ["invoice", "credit_note"]})
    status = fields.String(required=True, metadata={"enum": list(INVOICE_STATUSES)})
    number = fields.String(allow_none=True, required=True, metadata={"description": "Once final"})
    reference = fields.String(required=True, metadata={"description": "The proforma's name before a number"})
    payment_reference = fields.String(required=True, metadata={"description": "To quote on a bank transfer"})
    currency = fields.String(required=True)
    language = fields.String(required=True)
    lines = fields.List(fields.Nested(InvoiceLineSchema), required=True)
    taxes = fields.List(fields.Nested(InvoiceTaxSchema), required=True)
    net_total = fields.Nested(MoneySchema, required=True)
    tax_total = fields.Nested(MoneySchema, required=True)
    total = fields.Nested(MoneySchema, required=True)
    amount_paid = fields.Nested(MoneySchema, required=True)
    balance_due = fields.Nested(MoneySchema, required=True)
    reverse_charge = fields.Boolean(required=True)
    tax_note = fields.String(required=True)
    buyer = fields.Nested(InvoiceBuyerSchema, required=True)
    seller = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    due_date = fields.Date(allow_none=True, required=True)
    issue_date = fields.Date(allow_none=True, required=True)
    finalised_at = fields.DateTime(allow_none=True, required=True)
    cancelled_at = fields.DateTime(allow_none=True, required=True)
    credited_invoice_id = fields.Integer(allow_none=True, required=True)


def invoice_of(row: Invoice) -> dict:
    currency = row.currency
    totals = invoices.totals_by_rate(row)
    return {
        "id": row.id, "account_id": row.account.customer_account_id, "order_id": row.order_id, "kind": row.kind,
        "status": row.status, "number": row.number, "reference": row.reference,
        "payment_reference": row.payment_reference, "currency": currency, "language": row.language,
        "lines": [{"position": line.position, "description": line.description, "product_id": line.product_id,
                   "service_id": line.service_id, "cycle": line.cycle, "quantity": line.quantity,
                   "unit_price": money(line.unit_price, currency), "includes_tax": line.includes_tax,
                   "tax_name": line.tax_name, "tax_rate_bp": line.tax_rate_bp, "net": money(line.net, currency),
                   "tax": money(line.tax, currency), "gross": money(line.gross, currency)} for line in row.lines],
        "taxes": [{"name": name, "rate_bp": rate, "net": money(net, currency), "tax": money(tax, currency)}
                  for (name, rate), (net, tax) in totals.by_rate.items()],
        "net_total": money(row.net_total, currency), "tax_total": money(row.tax_total, currency),
        "total": money(row.total, currency), "amount_paid": money(row.amount_paid, currency),
        "balance_due": money(row.balance_due, currency), "reverse_charge": row.reverse_charge,
        "tax_note": row.tax_note,
        "buyer": {"name": row.buyer_name, "address": row.buyer_address, "country": row.buyer_country,
                  "customer_type": row.buyer_customer_type, "tax_number": row.buyer_tax_number,
                  "tax_office": row.buyer_tax_office, "email": row.buyer_email},
        "seller": row.seller or {}, "created_at": row.created_at, "due_date": row.due_date,
        "issue_date": row.issue_date, "finalised_at": row.finalised_at, "cancelled_at": row.cancelled_at,
        "credited_invoice_id": row.credited_invoice_id}


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The customer account"})
    invoice_id = fields.Integer(required=True)
    source = fields.String(required=True, metadata={"description": "bank_transfer, credit, manual or a gateway"})
    external_id = fields.String(required=True, metadata={"description": "The source's own reference"})
    amount = fields.Nested(MoneySchema, required=True)
    applied = fields.Nested(MoneySchema, required=True, metadata={"description": "What went to the invoice"})
    credited = fields.Nested(MoneySchema, required=True, metadata={"description": "What exceeded it: credit"})
    received_on = fields.Date(required=True)
    created_at = fields.DateTime(required=True)


def payment_of(row: Payment) -> dict:
    currency = row.currency
    return {"id": row.id, "account_id": row.invoice.account.customer_account_id, "invoice_id": row.invoice_id,
            "source": row.source, "external_id": row.external_id, "amount": money(row.amount, currency),
            "applied": money(row.applied, currency), "credited": money(row.credited, currency),
            "received_on": row.received_on, "created_at": row.created_at}


class ServiceSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True, metadata={"description": "The customer account"})
    order_id = fields.Integer(allow_none=True, required=True)
    parent_id = fields.Integer(allow_none=True, required=True, metadata={"description": "The package it came in"})
    product_id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "The product's name and the identifier"})
    identifier = fields.String(required=True)
    cycle = fields.String(required=True)
    quantity = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(SERVICE_STATUSES)})
    recurring_price = fields.Nested(MoneySchema, allow_none=True, required=True,
                                    metadata={"description": "Per cycle; null: the catalogue's at renewal"})
    created_at = fields.DateTime(required=True)
    activated_at = fields.DateTime(allow_none=True, required=True)
    suspended_at = fields.DateTime(allow_none=True, required=True)
    cancelled_at = fields.DateTime(allow_none=True, required=True)
    period_start = fields.Date(allow_none=True, required=True)
    period_end = fields.Date(allow_none=True, required=True, metadata={"description": "Exclusive"})
    next_due_date = fields.Date(allow_none=True, required=True)


def service_of(row: Service) -> dict:
    language = (getattr(actor(), "locale", None) or default_language()).split("_")[0]
    return {"id": row.id, "account_id": row.account.customer_account_id, "order_id": row.order_id,
            "parent_id": row.parent_id, "product_id": row.product_id,
            "name": billing_services.service_name(row, language), "identifier": row.identifier,
            "cycle": row.cycle, "quantity": row.quantity, "status": row.status,
            "recurring_price": money(row.recurring_amount, row.currency), "created_at": row.created_at,
            "activated_at": row.activated_at, "suspended_at": row.suspended_at, "cancelled_at": row.cancelled_at,
            "period_start": row.period_start, "period_end": row.period_end, "next_due_date": row.next_due_date}


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    invoice_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["awaiting_approval", "counted", "rejected"]})
    amount = fields.Nested(MoneySchema, required=True)
    value_date = fields.Date(required=True)
    bank_reference = fields.String(required=True)
    payment_id = fields.Integer(allow_none=True, required=True)


OrderPage = page_schema(OrderSchema, "OrderPage")
InvoicePage = page_schema(InvoiceSchema, "InvoicePage")
PaymentPage = page_schema(PaymentSchema, "PaymentPage")
ServicePage = page_schema(ServiceSchema, "ServicePage")


# --------------------------------------------------------------------------- reads

def act_for(customer_account_id) -> None:
    """Let a customer's token act for ``customer_account_id`` in this request, as the portal's account switcher
    does (memberships.acting_account_id ignores it unless they are a member: it grants nothing)."""
    user = actor()
    if getattr(user, "is_customer", False) and customer_account_id is not None:
        user.acting_account_id = customer_account_id


def _account_page(account_id, model, args, convert, *, permission=None, options=()):
    act_for(account_id)
    user = actor()
    account = access.account_for(user, account_id, **({"permission": permission} if permission else {}))
    query = access.visible(user, model).where(model.account_id == (account.id if account is not None else None))
    page = keyset_page(query.options(*options), model.id, after=args.get("after"), before=args.get("before"),
                       limit=args["limit"])
    return {**page, "items": [convert(row) for row in page["items"]]}


@bp.route("/accounts/<id:account_id>/orders")
@bp.arguments(PageArgs, location="query")
@bp.response(200, OrderPage)
@scoped("billing:read")
def list_orders(args, account_id):
    """The account's orders, newest first (members with the billing permission; staff)."""
    return _account_page(account_id, Order, args, order_of,
                         options=(selectinload(Order.items), selectinload(Order.invoices),
                                  selectinload(Order.services)))


@bp.route("/accounts/<id:account_id>/invoices")
@bp.arguments(PageArgs, location="query")
@bp.response(200, InvoicePage)
@scoped("billing:read")
def list_invoices(args, account_id):
    """The account's invoices and credit notes (cancelled proformas too), newest first."""
    return _account_page(account_id, Invoice, args, invoice_of, options=(selectinload(Invoice.lines),))


@bp.route("/accounts/<id:account_id>/payments")
@bp.arguments(PageArgs, location="query")
@bp.response(200, PaymentPage)
@scoped("billing:read")
def list_payments(args, account_id):
    """The payments received for the account's invoices, newest first."""
    return _account_page(account_id, Payment, args, payment_of, options=(selectinload(Payment.invoice),))


@bp.route("/accounts/<id:account_id>/services")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ServicePage)
@scoped("billing:read")
def list_services(args, account_id):
    """The account's services, newest first (members with the services permission; staff)."""
    return _account_page(account_id, Service, args, service_of, permission=PERM_SERVICES,
                         options=(selectinload(Service.product),))


@bp.route("/orders/<id:order_id>")
@bp.response(200, OrderSchema)
@scoped("billing:read")
def read_order(order_id):
    """One order, its items, invoice and services."""
    act_for(access.customer_account_of(Order, order_id))
    return order_of(access.get_order(actor(), order_id))


@bp.route("/invoices/<id:invoice_id>")
@bp.response(200, InvoiceSchema)
@bp.doc(responses=NOT_MODIFIED)
@scoped("billing:read")
def read_invoice(invoice_id):
    """One invoice or credit note as it was frozen: lines, taxes, totals, what was paid and what is due (ETag)."""
    act_for(access.customer_account_of(Invoice, invoice_id))
    return with_etag(InvoiceSchema().dump(invoice_of(access.get_invoice(actor(), invoice_id))))


@bp.route("/invoices/<id:invoice_id>/pdf")
@bp.doc(responses={"200": {"description": "The invoice as a PDF, the one the portal serves",
                           "content": {"application/pdf": {}}}})
@scoped("billing:read")
def invoice_pdf(invoice_id):
    """The invoice's PDF, in the invoice's language."""
    from helpdesk.billing import pdf  # fpdf and the fonts load on the first PDF, not at every process start

    act_for(access.customer_account_of(Invoice, invoice_id))
    name, data = pdf.invoice_pdf(actor(), invoice_id)
    response = make_response(data)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = dump_options_header("attachment", {"filename": name})  # ASCII names
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/services/<id:service_id>")
@bp.response(200, ServiceSchema)
@scoped("billing:read")
def read_service(service_id):
    """One service: its product, status, current period and next due date."""
    act_for(access.customer_account_of(Service, service_id))
    return service_of(access.get_service(actor(), service_id))


# --------------------------------------------------------------------------- staff record a payment

class PaymentInSchema(Schema):
    invoice_id = fields.Integer(required=True)
    amount = fields.Nested(MoneySchema, required=True, metadata={"description": "In the invoice's currency"})
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=100),
                                   metadata={"description": "The bank's reference of the transfer: a payment is "
                                                            "recorded once per reference"})
    value_date = fields.Date(load_default=None, metadata={"description": "Default: today"})


@bp.route("/payments", methods=["POST"])
@idempotent
@bp.arguments(PaymentInSchema)
@bp.response(201, PaymentSchema)
@bp.alt_response(202, schema=BookingSchema,
                 description="Above the approval threshold: the booking waits for a second staff member.")
@bp.doc(responses=problem_answers(409))
@scoped("billing:write")
def record_payment(body):
    """Record a bank transfer received for an invoice (staff).

    As the console books one: it counts at once (201, the payment; the invoice is paid and final once covered), or
    above the approval threshold waits for a second staff member (202, the booking). The same bank reference again
    returns the first payment, never a second."""
    user = actor()
    act_for(access.customer_account_of(Invoice, body["invoice_id"]))
    invoice = access.get_invoice(user, body["invoice_id"])  # NotFound for one the person may not see
    if body["amount"]["currency"] != invoice.currency:
        raise ValidationFailed({"amount": {"currency": _l("The payment's currency must be the invoice's "
                                                          "(%(currency)s).", currency=invoice.currency)}})
    booking = transfers.book_transfer(user, invoice, amount=body["amount"]["amount"],
                                      value_date=body["value_date"] or invoices.business_date(utcnow()),
                                      bank_reference=body["bank_reference"])
    if booking.status == BOOKING_COUNTED and booking.payment is not None:
        return payment_of(booking.payment), 201
    return make_response(jsonify(BookingSchema().dump({
        "id": booking.id, "invoice_id": booking.invoice_id, "status": booking.status,
        "amount": money(booking.amount, booking.currency), "value_date": booking.value_date,
        "bank_reference": booking.bank_reference, "payment_id": booking.payment_id})), 202)
