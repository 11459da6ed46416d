"""A service in the staff console: its facts, periods and plan changes, its holds (overdue ones with the invoice
they wait for, manual ones with the reason and who placed them), and for billing staff the forms that change it:
place a manual hold ("awaiting ID verification", "abuse") and lift one (suspending and resuming the service: it is
suspended while any hold is open), and move it to another plan of its group for the customer (the portal's
proration and confirmation). Overdue holds lift when their invoice is paid, never by hand here."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from helpdesk.billing import access, plan_changes, suspensions
from helpdesk.billing.plan_change_models import CHANGE_STATUS_LABELS
from helpdesk.billing.renewal_models import HOLD_MANUAL, ServiceHold
from helpdesk.db import parse_id
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.billing_plan import (
    PlanChangeForm,
    confirm_form,
    figures_or_404,
    submit_change,
)
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_services", __name__, url_prefix="/agent/billing/services"))

HOLDS_SHOWN = 50


class HoldForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the customer sees it)"), render_kw={"rows": 2},
                           validators=[Length(max=suspensions.REASON_MAX)])




def _holds(service):
    """The service's holds, open ones first, then the lifted ones newest first."""
    rows = db.session.scalars(sa.select(ServiceHold).where(ServiceHold.service_id == service.id)
                              .order_by(ServiceHold.lifted_at.is_not(None), ServiceHold.id.desc())
                              .limit(HOLDS_SHOWN)).all()
    return [row for row in rows if row.lifted_at is None], [row for row in rows if row.lifted_at is not None]


def _render(service, status=200, hold_form=None):
    actor = _actor()
    offered, refusal = [], None
    if access.may_manage(actor):
        try:
            offered = plan_changes.plan_options(actor, service)
        except plan_changes.PlanNotChangeable as exc:
            refusal = exc.message
    open_holds, lifted_holds = _holds(service)
    return render_template(
        "desk/billing/service.html", service=service, open_holds=open_holds, lifted_holds=lifted_holds,
        hold_form=hold_form or HoldForm(formdata=None), post_form=PostForm(formdata=None), offered=offered,
        refusal=refusal, changes=plan_changes.changes_of(actor, service), manual=HOLD_MANUAL), status


@bp.route("/<id:service_id>")
def service(service_id):
    return _render(access.get_service(_actor(), service_id))


@bp.route("/<id:service_id>/holds", methods=["POST"])
def place_hold(service_id):
    actor = _actor()
    row = access.get_service(actor, service_id)
    form = HoldForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(row, 400, hold_form=form)
    try:
        suspensions.place_manual_hold(actor, row, form.reason.data or "")
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render(row, 400, hold_form=form)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("The service is held: it stays suspended until every hold is lifted."), "success")
    return redirect(url_for(".service", service_id=row.id))


@bp.route("/<id:service_id>/holds/<id:hold_id>/lift", methods=["POST"])
def lift_hold(service_id, hold_id):
    actor = _actor()
    row = access.get_service(actor, service_id)
    hold = db.session.get(ServiceHold, parse_id(hold_id))
    if hold is None or hold.service_id != row.id:
        abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        suspensions.lift_manual_hold(actor, hold)
    except Conflict:
        flash(_("An overdue hold is lifted when its invoice is paid."), "error")
    else:
        flash(_("Hold lifted."), "success")
    return redirect(url_for(".service", service_id=row.id))


@bp.route("/<id:service_id>/plan/<id:product_id>", methods=["GET", "POST"])
def change_plan(service_id, product_id):
    actor = _actor()
    row = access.get_service(actor, service_id)
    form = PlanChangeForm()
    if form.is_submitted():
        return submit_change(actor, row, product_id, form,
                             again=url_for(".change_plan", service_id=row.id, product_id=product_id),
                             plans=url_for(".service", service_id=row.id),
                             invoice_endpoint="desk_billing.invoice", service_endpoint=".service")
    figures = figures_or_404(actor, row, product_id)
    return render_template("desk/billing/plan_confirm.html", service=row, figures=figures, form=confirm_form(),
                           action=url_for(".change_plan", service_id=row.id, product_id=product_id),
                           back=url_for(".service", service_id=row.id))


@bp.app_template_filter("plan_change_status")
def plan_change_status(status) -> str:
    """A plan change's status in words."""
    return str(CHANGE_STATUS_LABELS.get(status, status))
