"""The portal's plan changes: from a service's page, "Change plan" lists the other plans of its group with what each
costs (or credits) today, prorated by the day; choosing one shows the invoice lines before the customer confirms.
An upgrade leads to its invoice (the new plan starts when it is paid), a downgrade credits the difference at once.
Every figure comes from billing.plan_changes; a GET changes nothing."""
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from helpdesk.billing import access, plan_changes
from helpdesk.billing.money import MAX_AMOUNT
from helpdesk.billing.plan_change_models import CHANGE_PENDING
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import limiter
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("billing_plan", __name__, url_prefix="/billing/services")


class PlanChangeForm(FlaskForm):
    """Confirm a plan change: a one-time key (a form sent twice changes the plan once) and the difference the
    reader saw (a change whose figures moved since is not confirmed unseen)."""

    key = HiddenField(validators=[DataRequired(), Length(max=plan_changes.KEY_MAX)])
    expect = HiddenField(validators=[DataRequired(), Length(max=20)])


def confirm_form() -> PlanChangeForm:
    return PlanChangeForm(formdata=None, key=secrets.token_urlsafe(24))


def expected_difference(form) -> int:
    """The difference the confirming form carried; 400 for anything but an amount."""
    try:
        value = int(form.expect.data)
    except (TypeError, ValueError):
        abort(400)
    if abs(value) > MAX_AMOUNT:
        abort(400)
    return value


def figures_or_404(actor, service, product_id):
    """The preview of a move to ``product_id``; 404 for a product the service may not move to."""
    try:
        return plan_changes.preview(actor, service, product_id)
    except ValidationFailed:
        abort(404)



def _customer_service(service_id):
    if not current_user.is_customer:
        abort(404)
    return access.get_service(_actor(), service_id)


@bp.route("/<id:service_id>/plan")
@login_required
def options(service_id):
    service = _customer_service(service_id)
    try:
        offered, refusal = plan_changes.plan_options(_actor(), service), None
    except plan_changes.PlanNotChangeable as exc:
        offered, refusal = [], exc.message
    return render_template("billing/plan_options.html", service=service, offered=offered, refusal=refusal,
                           pending=plan_changes.pending_change(service))


@bp.route("/<id:service_id>/plan/<id:product_id>", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def confirm(service_id, product_id):
    actor = _actor()
    service = _customer_service(service_id)
    form = PlanChangeForm()
    if form.is_submitted():
        return submit_change(actor, service, product_id, form,
                             again=url_for(".confirm", service_id=service.id, product_id=product_id),
                             plans=url_for(".options", service_id=service.id),
                             invoice_endpoint="billing.invoice", service_endpoint="billing.service")
    figures = figures_or_404(actor, service, product_id)
    return render_template("billing/plan_confirm.html", service=service, figures=figures, form=confirm_form(),
                           action=url_for(".confirm", service_id=service.id, product_id=product_id),
                           back=url_for(".options", service_id=service.id))


def submit_change(actor, service, product_id, form, *, again, plans, invoice_endpoint, service_endpoint):
    """Confirm a plan change from the portal or the console. Figures that moved since the page are said on the
    confirmation page (``again``, showing today's); a plan no longer offered (its price removed meanwhile, say) is
    said on the list of plans (``plans``)."""
    if not form.validate_on_submit():
        abort(400)
    try:
        change = plan_changes.change_plan(actor, service, product_id, key=form.key.data,
                                          expect_difference=expected_difference(form))
    except plan_changes.FiguresChanged as exc:
        flash(exc.message, "error")
        return redirect(again)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(plans)
    return after_change(change, invoice_endpoint=invoice_endpoint, service_endpoint=service_endpoint)


def after_change(change, *, invoice_endpoint, service_endpoint):
    """Where a confirmed change leads: an upgrade to its invoice, anything else back to the service."""
    if change.status == CHANGE_PENDING and change.invoice_id:
        flash(_("The new plan starts as soon as this invoice is paid."), "success")
        return redirect(url_for(invoice_endpoint, invoice_id=change.invoice_id))
    if change.difference < 0:
        flash(_("The plan was changed; the difference went to the credit balance."), "success")
    else:
        flash(_("The plan was changed."), "success")
    return redirect(url_for(service_endpoint, service_id=change.service_id))


@bp.app_template_global("pending_plan_change")
def pending_plan_change(service):
    """The upgrade of ``service`` waiting for its invoice to be paid, for the service's page (the page's reader
    may see the service already)."""
    return plan_changes.pending_change(service)
