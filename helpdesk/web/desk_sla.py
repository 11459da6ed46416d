"""SLA settings in the staff console: targets per department and priority, the weekly business hours and the
holidays. Admins only (agents get 403; customers never reach /agent). Each view parses its form and calls one
service function in tickets/sla/admin.py, which checks again that the actor is an admin."""
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import sla
from helpdesk.tickets.models import PRIORITIES, Department
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import admins_only, current_actor

bp = admins_only(Blueprint("desk_sla", __name__, url_prefix="/agent/admin/sla"))


_actor = current_actor


# --------------------------------------------------------------------------- forms

class TargetForm(FlaskForm):
    """A target for one department (or all) and one priority; the service validates the values."""

    department = SelectField(_l("Department"), validate_choice=False)
    priority = SelectField(_l("Priority"), validate_choice=False)
    first_response_minutes = StringField(_l("First response within (minutes)"))
    resolution_minutes = StringField(_l("Resolution within (minutes)"))
    business_hours = BooleanField(_l("Count business hours only"), default=True)


class HoursForm(FlaskForm):
    """Opening and closing time (HH:MM) of each weekday; a day left empty is closed."""


for _day in sla.WEEKDAYS:
    setattr(HoursForm, f"opens_{_day}", StringField(_l("Opens")))
    setattr(HoursForm, f"closes_{_day}", StringField(_l("Closes")))


class HolidayForm(FlaskForm):
    day = StringField(_l("Date"))
    name = StringField(_l("Name (optional)"))


def _target_form(from_request=False):
    form = TargetForm() if from_request else TargetForm(formdata=None)
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _("All departments"))] + [(str(d.id), d.name) for d in departments]
    form.priority.choices = [(code, str(label)) for code, label in PRIORITIES.items()]
    return form


def _hours_form(from_request=False):
    if from_request:
        return HoursForm()
    hours = sla.business_hours()
    data = {}
    for day, (opens, closes) in hours.items():
        data[f"opens_{day}"] = f"{opens // 60:02d}:{opens % 60:02d}"
        data[f"closes_{day}"] = f"{closes // 60:02d}:{closes % 60:02d}"
    return HoursForm(formdata=None, data=data)


def _render(status=200, **given):
    return render_template(
        "desk/admin/sla.html", targets=sla.targets(), defaults=sla.DEFAULT_TARGETS, priorities=PRIORITIES,
        holidays=sla.holidays(), weekdays=sla.WEEKDAYS,
        target_form=given.get("target") or _target_form(),
        hours_form=given.get("hours") or _hours_form(),
        holiday_form=given.get("holiday") or HolidayForm(formdata=None),
        delete_form=PostForm(formdata=None),
        zone=current_app.config["BUSINESS_TIMEZONE"],
    ), status


@bp.route("/")
def index():
    return _render()


@bp.route("/targets", methods=["POST"])
def save_target():
    form = _target_form(from_request=True)
    if form.validate_on_submit():
        try:
            sla.save_target(_actor(), department=form.department.data or None, priority=form.priority.data,
                            first_response_minutes=form.first_response_minutes.data,
                            resolution_minutes=form.resolution_minutes.data,
                            business_hours=form.business_hours.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The target was saved."), "success")
            return redirect(url_for("desk_sla.index"))
    return _render(400, target=form)


@bp.route("/targets/<id:target_id>/delete", methods=["POST"])
def delete_target(target_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        sla.delete_target(_actor(), target_id)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("The target was removed."), "success")
    return redirect(url_for("desk_sla.index"))


@bp.route("/hours", methods=["POST"])
def save_hours():
    form = _hours_form(from_request=True)
    if form.validate_on_submit():
        hours = {}
        for day in sla.WEEKDAYS:
            opens, closes = form[f"opens_{day}"].data or "", form[f"closes_{day}"].data or ""
            if opens.strip() or closes.strip():
                hours[day] = (opens, closes)
        try:
            sla.save_business_hours(_actor(), hours)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The business hours were saved."), "success")
            return redirect(url_for("desk_sla.index"))
    return _render(400, hours=form)


@bp.route("/holidays", methods=["POST"])
def add_holiday():
    form = HolidayForm()
    if form.validate_on_submit():
        try:
            sla.add_holiday(_actor(), day=form.day.data, name=form.name.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The holiday was added."), "success")
            return redirect(url_for("desk_sla.index"))
    return _render(400, holiday=form)


@bp.route("/holidays/<id:holiday_id>/delete", methods=["POST"])
def remove_holiday(holiday_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        sla.remove_holiday(_actor(), holiday_id)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("The holiday was removed."), "success")
    return redirect(url_for("desk_sla.index"))
