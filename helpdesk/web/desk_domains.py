"""Domain requests in the staff console: the queue (open, done, rejected), a request's details, and for billing
staff the decisions: mark done (with the registrar's reference if any), reject with a reason the customer reads,
or send it to the configured registrar (a failure keeps it open and shows the registrar's error)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.db import parse_id
from helpdesk.domains import queue
from helpdesk.domains.models import ACTION_LABELS, REQUEST_OPEN, REQUEST_STATUS_LABELS
from helpdesk.domains.registrars import RegistrarError, current_registrar
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.forms import PostForm, apply_errors

bp = Blueprint("desk_domains", __name__, url_prefix="/agent/domains")


class DoneForm(FlaskForm):
    reference = StringField(_l("Registrar's reference (optional)"), validators=[Length(max=200)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the customer reads it)"), validators=[Length(max=2000)],
                           render_kw={"rows": 3})


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_agent:
        abort(404)


def _actor():
    return current_user._get_current_object()


@bp.route("/")
def index():
    status = request.args.get("status", REQUEST_OPEN)
    if status not in REQUEST_STATUS_LABELS:
        abort(404)
    before = request.args.get("before")
    rows = queue.queue(_actor(), status, before_id=parse_id(before) if before else None)
    return render_template("desk/domains/queue.html", rows=rows, status=status, statuses=REQUEST_STATUS_LABELS,
                           actions=ACTION_LABELS)


def _render(found, status=200, done_form=None, reject_form=None):
    actor = _actor()
    return render_template(
        "desk/domains/request.html", domain_request=found, statuses=REQUEST_STATUS_LABELS, actions=ACTION_LABELS,
        may_decide=queue.may_decide(actor), registrar=current_registrar(), post_form=PostForm(formdata=None),
        done_form=done_form or DoneForm(formdata=None), reject_form=reject_form or RejectForm(formdata=None)), status


@bp.route("/<id:request_id>")
def request_page(request_id):
    return _render(queue.get_for_staff(_actor(), request_id))


@bp.route("/<id:request_id>/done", methods=["POST"])
def mark_done(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _render(found, 400, done_form=form)
    try:
        queue.mark_done(actor, found, reference=form.reference.data)
    except Conflict as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The request is done; the customer sees it."), "success")
    return redirect(url_for(".request_page", request_id=request_id))


@bp.route("/<id:request_id>/reject", methods=["POST"])
def reject(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            queue.reject(actor, found, reason=form.reason.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        except Conflict as exc:
            flash(str(exc.message), "error")
            return redirect(url_for(".request_page", request_id=request_id))
        else:
            flash(_("The request is rejected; the customer sees your reason."), "success")
            return redirect(url_for(".request_page", request_id=request_id))
    return _render(queue.get_for_staff(actor, request_id), 400, reject_form=form)


@bp.route("/<id:request_id>/send", methods=["POST"])
def send(request_id):
    actor = _actor()
    found = queue.get_for_staff(actor, request_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        queue.send_to_registrar(actor, found)
    except RegistrarError as exc:
        flash(_("The registrar did not accept the request: %(error)s", error=exc.message), "error")
    except Conflict as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The registrar accepted the request; it is done."), "success")
    return redirect(url_for(".request_page", request_id=request_id))
