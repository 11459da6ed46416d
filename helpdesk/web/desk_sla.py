"""SLA settings in the staff console: targets per department and priority, the business calendars (the desk's
default and others, with their windows, or 24/7) and which department uses which, and the holidays. Admins only
(agents get 403; customers never reach /agent). Each view parses its form and calls one service function in
tickets/sla (admin.py, calendar_admin.py), which checks again that the actor is an admin."""
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import sla
from helpdesk.tickets.models import PRIORITIES, Department
from helpdesk.timezones import zone_label
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import admins_only, current_actor
from helpdesk.web.ticket_forms import timezone_choices

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


class CalendarForm(FlaskForm):
    """A calendar's name, time zone and whether it counts around the clock; the service validates the values."""

    name = StringField(_l("Name"))
    time_zone = SelectField(_l("Time zone"), validate_choice=False)
    around_the_clock = BooleanField(_l("Around the clock (24/7): every minute counts, on holidays too"))


class WindowForm(FlaskForm):
    """One window: the day it opens on, opening and closing time (HH:MM); the service validates the values."""

    weekday = SelectField(_l("Day"), validate_choice=False)
    opens = StringField(_l("Opens"))
    closes = StringField(_l("Closes"))


class RemoveWindowForm(FlaskForm):
    window = HiddenField()


class HolidayForm(FlaskForm):
    day = StringField(_l("Date"))
    name = StringField(_l("Name (optional)"))


def _target_form(from_request=False):
    form = TargetForm() if from_request else TargetForm(formdata=None)
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _("All departments"))] + [(str(d.id), d.name) for d in departments]
    form.priority.choices = [(code, str(label)) for code, label in PRIORITIES.items()]
    return form


def _calendar_form(calendar=None, from_request=False):
    if from_request:
        form = CalendarForm()
    elif calendar is None:
        form = CalendarForm(formdata=None)
    else:
        form = CalendarForm(formdata=None, name=calendar.name, time_zone=calendar.time_zone or "",
                            around_the_clock=calendar.around_the_clock)
    zone = current_app.config["BUSINESS_TIMEZONE"]
    form.time_zone.choices = [("", _("The desk's time zone (%(zone)s)", zone=zone_label(zone))), *timezone_choices()]
    return form


def _window_form(from_request=False):
    form = WindowForm() if from_request else WindowForm(formdata=None)
    form.weekday.choices = [(str(day), str(label)) for day, label in sla.WEEKDAYS.items()]
    return form


def _departments():
    return db.session.scalars(sa.select(Department).order_by(Department.name)).all()


def _render(status=200, **given):
    calendars = sla.calendars()
    return render_template(
        "desk/admin/sla.html", targets=sla.targets(), defaults=sla.DEFAULT_TARGETS, priorities=PRIORITIES,
        holidays=sla.holidays(), calendars=calendars, departments=_departments(),
        department_calendars=sla.department_calendars(),
        target_form=given.get("target") or _target_form(),
        calendar_form=given.get("calendar") or _calendar_form(),
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


# --------------------------------------------------------------------------- calendars

@bp.route("/calendars", methods=["POST"])
def create_calendar():
    form = _calendar_form(from_request=True)
    if form.validate_on_submit():
        try:
            calendar = sla.create_calendar(_actor(), name=form.name.data, time_zone=form.time_zone.data,
                                           around_the_clock=form.around_the_clock.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The calendar %(name)s was added.", name=calendar.name), "success")
            return redirect(url_for("desk_sla.calendar", calendar_id=calendar.id))
    return _render(400, calendar=form)


def _calendar_key(calendar):
    return sla.DEFAULT if calendar.is_default else str(calendar.id)


def _render_calendar(calendar_id, status=200, **given):
    calendar = sla.get_calendar(calendar_id)
    users = [d for d in _departments() if sla.department_calendars().get(d.id) == calendar.id] \
        if calendar.id is not None and not calendar.is_default else []
    return render_template(
        "desk/admin/sla_calendar.html", calendar=calendar, key=_calendar_key(calendar), departments=users,
        weekdays=sla.WEEKDAYS, sla=sla,
        settings_form=given.get("settings") or _calendar_form(calendar),
        window_form=given.get("window") or _window_form(),
        remove_form=RemoveWindowForm(formdata=None), delete_form=PostForm(formdata=None),
        zone=calendar.time_zone or current_app.config["BUSINESS_TIMEZONE"],
    ), status


@bp.route("/calendars/<calendar_id>")
def calendar(calendar_id):
    return _render_calendar(calendar_id)


@bp.route("/calendars/<calendar_id>/settings", methods=["POST"])
def save_calendar(calendar_id):
    form = _calendar_form(from_request=True)
    if form.validate_on_submit():
        try:
            sla.update_calendar(_actor(), calendar_id, name=form.name.data, time_zone=form.time_zone.data,
                                around_the_clock=form.around_the_clock.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The calendar was saved."), "success")
            return redirect(url_for("desk_sla.calendar", calendar_id=calendar_id))
    return _render_calendar(calendar_id, 400, settings=form)


@bp.route("/calendars/<calendar_id>/windows", methods=["POST"])
def add_window(calendar_id):
    form = _window_form(from_request=True)
    if form.validate_on_submit():
        try:
            window = sla.add_window(_actor(), calendar_id, weekday=form.weekday.data, opens=form.opens.data,
                                    closes=form.closes.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The window %(window)s was added.", window=sla.describe_window(window)), "success")
            return redirect(url_for("desk_sla.calendar", calendar_id=calendar_id))
    return _render_calendar(calendar_id, 400, window=form)


@bp.route("/calendars/<calendar_id>/windows/remove", methods=["POST"])
def remove_window(calendar_id):
    form = RemoveWindowForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        sla.remove_window(_actor(), calendar_id, form.window.data)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("The window was removed."), "success")
    return redirect(url_for("desk_sla.calendar", calendar_id=calendar_id))


@bp.route("/calendars/<calendar_id>/delete", methods=["POST"])
def delete_calendar(calendar_id):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        sla.delete_calendar(_actor(), calendar_id)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("desk_sla.calendar", calendar_id=calendar_id))
    flash(_("The calendar was removed; its departments use the desk's default calendar again."), "success")
    return redirect(url_for("desk_sla.index"))


@bp.route("/departments", methods=["POST"])
def assign_calendars():
    if not PostForm().validate_on_submit():
        abort(400)
    choices = {d.id: request.form.get(f"department_{d.id}") for d in _departments()
               if f"department_{d.id}" in request.form}
    try:
        sla.assign_calendars(_actor(), choices)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
        return _render(400)
    flash(_("The departments' calendars were saved."), "success")
    return redirect(url_for("desk_sla.index"))


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
