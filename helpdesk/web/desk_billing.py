"""Billing in the staff console: new orders (accept, hold, cancel), invoices (search, view, PDF, credit note), bank
transfer bookings with the second approver's queue, customers' proofs of payment, and a customer's billing page
(details, services, invoices, credit ledger, credit adjustments). Every agent reads; what changes billing is for
admins and billing staff, as billing.access decides (the services refuse others; the pages offer them no forms)."""
import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.billing import access, credit, customers, invoices, money, orders, services, transfers
from helpdesk.billing.errors import SecondApproverRequired
from helpdesk.billing.models import (
    BOOKING_COUNTED,
    FINAL,
    ORDER_ON_HOLD,
    ORDER_PENDING,
    ORDER_STATUSES,
    PROFORMA,
    BillingAccount,
    Invoice,
    PaymentProof,
    TransferBooking,
)
from helpdesk.billing.payments import payments_of
from helpdesk.db import parse_id
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.web.billing import country_choices, reader_language
from helpdesk.web.billing_forms import (
    BillingDetailsForm,
    BookingForm,
    CreditAdjustmentForm,
    NoteForm,
    ReasonForm,
)
from helpdesk.web.downloads import content_disposition
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_billing", __name__, url_prefix="/agent/billing"))

PER_PAGE = 50
ORDER_FILTERS = ("new", "all", *ORDER_STATUSES)
NEW_ORDERS = (ORDER_PENDING, ORDER_ON_HOLD)




@bp.app_context_processor
def _billing_staff():
    """``may_manage_billing()``: whether the reader may change billing (the console shows them its forms);
    ``booking_user(id)``: a staff member's name."""
    def may_manage_billing():
        return current_user.is_authenticated and access.may_manage(current_user._get_current_object())

    def booking_user(user_id):
        """The staff member who booked a transfer, by name."""
        from helpdesk.accounts.models import User

        user = db.session.get(User, user_id) if user_id else None
        return user.display_name if user is not None else "—"

    return {"may_manage_billing": may_manage_billing, "booking_user": booking_user}


def _before():
    raw = request.args.get("before")
    if raw is None:
        return None
    before = parse_id(raw)
    if before is None:
        abort(404)
    return before


def _page(rows):
    return rows[:PER_PAGE], (rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None)


def _flash_errors(errors):
    for message in errors.values():
        flash(message, "error")


def _check_post(form=None):
    form = form or PostForm()
    if not form.validate_on_submit():
        abort(400)
    return form


# --------------------------------------------------------------------------- orders

@bp.route("/")
def index():
    return redirect(url_for(".orders_list"))


@bp.route("/orders")
def orders_list():
    status = request.args.get("status", "new")
    if status not in ORDER_FILTERS:
        status = "new"
    statuses = NEW_ORDERS if status == "new" else None if status == "all" else (status,)
    rows, next_before = _page(orders.orders_of(_actor(), statuses=statuses, before_id=_before(),
                                               limit=PER_PAGE + 1))
    return render_template("desk/billing/orders.html", orders=rows, status=status, filters=ORDER_FILTERS,
                           next_before=next_before,
                           awaiting=len(transfers.bookings_awaiting_approval(_actor())))


@bp.route("/orders/<id:order_id>")
def order(order_id):
    return render_template("desk/billing/order.html", order=access.get_order(_actor(), order_id),
                           form=NoteForm(formdata=None))


ORDER_ACTIONS = {"accept": orders.accept_order, "hold": orders.hold_order, "cancel": orders.cancel_order}


@bp.route("/orders/<id:order_id>/<any(accept, hold, cancel):action>", methods=["POST"])
def order_action(order_id, action):
    actor = _actor()
    row = access.get_order(actor, order_id)
    form = _check_post(NoteForm())
    try:
        ORDER_ACTIONS[action](actor, row, note=form.note.data or "")
    except ValidationFailed as exc:
        _flash_errors(exc.errors)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash({"accept": _("Order accepted."), "hold": _("Order on hold."),
               "cancel": _("Order cancelled.")}[action], "success")
    return redirect(url_for(".order", order_id=row.id))


# --------------------------------------------------------------------------- invoices

def _search_invoices(actor, query, state, before):
    """Invoices matching ``query``: the one its payment reference, reference or number names, else those whose
    buyer's name or email contains it; newest first."""
    found = invoices.find_by_reference(actor, query) if query else None
    if found is not None:
        return [found]
    select = access.visible(actor, Invoice)
    if query:
        words = query.lower()
        select = select.where(sa.or_(sa.func.lower(Invoice.buyer_name).contains(words, autoescape=True),
                                     sa.func.lower(Invoice.buyer_email).contains(words, autoescape=True)))
    if state == invoices.UNPAID:
        select = select.where(Invoice.status == PROFORMA)
    elif state == invoices.PAID:
        select = select.where(Invoice.status == FINAL)
    if before is not None:
        select = select.where(Invoice.id < before)
    return db.session.scalars(select.order_by(Invoice.id.desc()).limit(PER_PAGE + 1)).all()


@bp.route("/invoices")
def invoices_list():
    query = " ".join(request.args.get("q", "").split())[:100]
    state = request.args.get("state", "")
    rows, next_before = _page(_search_invoices(_actor(), query, state, _before()))
    return render_template("desk/billing/invoices.html", invoices=rows, q=query, state=state,
                           next_before=next_before)


def _render_invoice(invoice, status=200, booking_form=None):
    actor = _actor()
    bookings = db.session.scalars(sa.select(TransferBooking).where(TransferBooking.invoice_id == invoice.id)
                                  .order_by(TransferBooking.id)).all()
    form = booking_form or BookingForm(formdata=None, invoice=invoice.payment_reference)
    return render_template(
        "desk/billing/invoice.html", invoice=invoice, totals=invoices.totals_by_rate(invoice),
        payments=payments_of(actor, invoice), proofs=transfers.proofs_of(actor, invoice), bookings=bookings,
        booking_form=form, reason_form=ReasonForm(formdata=None), post_form=PostForm(formdata=None),
        approval_above=transfers.needs_approval), status


@bp.route("/invoices/<id:invoice_id>")
def invoice(invoice_id):
    return _render_invoice(access.get_invoice(_actor(), invoice_id))


@bp.route("/invoices/<id:invoice_id>/pdf")
def invoice_pdf(invoice_id):
    from helpdesk.billing import pdf  # fpdf and the fonts load on the first PDF, not at every process start

    name, data = pdf.invoice_pdf(_actor(), invoice_id)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"})


@bp.route("/invoices/<id:invoice_id>/credit-note", methods=["POST"])
def credit_note(invoice_id):
    actor = _actor()
    row = access.get_invoice(actor, invoice_id)
    form = _check_post(ReasonForm())
    try:
        note = invoices.credit_invoice(actor, row, reason=form.reason.data or "")
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for(".invoice", invoice_id=row.id))
    flash(_("Credit note %(number)s issued.", number=note.number), "success")
    return redirect(url_for(".invoice", invoice_id=note.id))


# --------------------------------------------------------------------------- bank transfers

def _transfers_page(form, status=200):
    actor = _actor()
    recent = db.session.scalars(sa.select(TransferBooking).order_by(TransferBooking.id.desc()).limit(20)).all()
    return render_template("desk/billing/transfers.html", form=form, awaiting=transfers.bookings_awaiting_approval(
        actor), recent=recent, reason_form=ReasonForm(formdata=None), post_form=PostForm(formdata=None)), status


@bp.route("/transfers")
def transfers_page():
    return _transfers_page(BookingForm(formdata=None, invoice=request.args.get("invoice", "")))


def _booked(form):
    """Book the transfer the form describes; the booking, or None with the form's errors set."""
    actor = _actor()
    target = invoices.find_by_reference(actor, form.invoice.data)
    if target is None:
        form.invoice.errors = [_("No invoice has this reference.")]
        return None
    try:
        amount = money.parse_amount(form.amount.data, target.currency, get_locale())
    except money.AmountError as exc:
        form.amount.errors = [str(exc)]
        return None
    try:
        return transfers.book_transfer(actor, target, amount=amount, value_date=form.value_date.data,
                                       bank_reference=form.bank_reference.data or "")
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
    except Conflict as exc:
        flash(exc.message, "error")
    return None


@bp.route("/transfers", methods=["POST"])
def book_transfer():
    form = BookingForm()
    from_invoice = parse_id(request.form.get("from_invoice"))
    booking = _booked(form) if form.validate_on_submit() else None
    if booking is None:
        if from_invoice is not None:
            return _render_invoice(access.get_invoice(_actor(), from_invoice), 400, booking_form=form)
        return _transfers_page(form, 400)
    if booking.status == BOOKING_COUNTED:
        flash(_("Transfer booked on %(invoice)s.", invoice=booking.invoice.name), "success")
    else:
        flash(_("Transfer booked on %(invoice)s; it counts once another staff member approves it.",
                invoice=booking.invoice.name), "success")
    if from_invoice is not None:
        return redirect(url_for(".invoice", invoice_id=booking.invoice_id))
    return redirect(url_for(".transfers_page"))


@bp.route("/transfers/<id:booking_id>/<any(approve, reject):decision>", methods=["POST"])
def decide_booking(booking_id, decision):
    actor = _actor()
    booking = access.get_booking(actor, booking_id)
    form = _check_post(ReasonForm())
    try:
        if decision == "approve":
            transfers.approve_booking(actor, booking)
        else:
            transfers.reject_booking(actor, booking, reason=form.reason.data or "")
    except SecondApproverRequired as exc:
        flash(exc.message, "error")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Transfer approved: it counts now.") if decision == "approve" else _("Transfer rejected."),
              "success")
    back = request.form.get("back")
    if back == "invoice":
        return redirect(url_for(".invoice", invoice_id=booking.invoice_id))
    return redirect(url_for(".transfers_page"))


# --------------------------------------------------------------------------- proofs of payment

@bp.route("/proofs")
def proofs_list():
    query = sa.select(PaymentProof).order_by(PaymentProof.id.desc())
    before = _before()
    if before is not None:
        query = query.where(PaymentProof.id < before)
    rows, next_before = _page(db.session.scalars(query.limit(PER_PAGE + 1)).all())
    return render_template("desk/billing/proofs.html", proofs=rows, next_before=next_before)


@bp.route("/proofs/<id:proof_id>")
def proof(proof_id):
    row = access.get_proof(_actor(), proof_id)
    return Response(transfers.proof_bytes(row), mimetype="application/octet-stream",
                    headers={"Content-Disposition": content_disposition(row.filename)})


# --------------------------------------------------------------------------- customers

@bp.route("/customers")
def customers_list():
    from helpdesk.accounts.models import User

    query_text = " ".join(request.args.get("q", "").split())[:100]
    query = access.visible(_actor(), BillingAccount, BillingAccount.id).join(User, BillingAccount.user_id == User.id)
    if query_text:
        words = query_text.lower()
        query = query.where(sa.or_(sa.func.lower(BillingAccount.name).contains(words, autoescape=True),
                                   sa.func.lower(User.email).contains(words, autoescape=True)))
    rows = db.session.scalars(query.order_by(BillingAccount.name, BillingAccount.id).limit(PER_PAGE)).all()
    return render_template("desk/billing/customers.html", accounts=rows, q=query_text)


def _render_customer(account, status=200, details_form=None, credit_form=None):
    actor = _actor()
    form = details_form or BillingDetailsForm(formdata=None, obj=account)
    form.country.choices = country_choices(reader_language())
    return render_template(
        "desk/billing/customer.html", account=account, details_form=form,
        credit_form=credit_form or CreditAdjustmentForm(formdata=None, currency=account.currency),
        services=services.services_of(actor, account.id), invoices=invoices.invoices_of(actor, account.id),
        orders=orders.orders_of(actor, account.id, limit=20), balances=credit.balances(actor, account.id),
        entries=credit.ledger(actor, account.id, limit=50)), status


@bp.route("/customers/<id:account_id>")
def customer(account_id):
    return _render_customer(access.get_account(_actor(), account_id))


@bp.route("/customers/<id:account_id>/details", methods=["POST"])
def customer_details(account_id):
    actor = _actor()
    account = access.get_account(actor, account_id)
    form = BillingDetailsForm()
    form.country.choices = country_choices(reader_language())
    if form.validate_on_submit():
        try:
            customers.update_details(actor, account, **{name: form[name].data or "" for name in customers.DETAILS})
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("Billing details saved."), "success")
            return redirect(url_for(".customer", account_id=account.id))
    return _render_customer(account, 400, details_form=form)


@bp.route("/customers/<id:account_id>/credit", methods=["POST"])
def adjust_credit(account_id):
    actor = _actor()
    account = access.get_account(actor, account_id)
    form = CreditAdjustmentForm()
    if form.validate_on_submit():
        try:
            amount = money.parse_amount(form.amount.data, form.currency.data, get_locale())
            credit.adjust_credit(actor, account, currency=form.currency.data, note=form.note.data or "",
                                 amount=-amount if form.direction.data == "remove" else amount)
        except money.AmountError as exc:
            form.amount.errors = [str(exc)]
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            flash(_("Credit changed."), "success")
            return redirect(url_for(".customer", account_id=account.id))
    return _render_customer(account, 400, credit_form=form)
