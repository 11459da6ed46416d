"""Administration in the staff console: agents and admins with their departments, departments, and the
audit trail (a ticket's history for the agents who may act on it; the whole trail for admins). Each view
parses its form and calls one service function; the services check that the actor is an admin."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.accounts import staff
from helpdesk.db import parse_id
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import access, history
from helpdesk.tickets.departments import create_department, update_department
from helpdesk.tickets.models import Department
from helpdesk.web.audit_links import linker
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.request_values import BoundedDateField

bp = Blueprint("desk_admin", __name__, url_prefix="/agent")


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)



def _departments():
    return db.session.scalars(sa.select(Department).order_by(Department.name)).all()


# --------------------------------------------------------------------------- forms

class DepartmentsField(SelectMultipleField):
    """Departments as a list of checkboxes (ids; unknown ids are refused)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _role_choices():
    return [(code, str(label)) for code, label in staff.STAFF_ROLES.items()]


def _language_choices():
    return [("", _l("Default")), *LANGUAGES.items()]


class NewStaffForm(FlaskForm):
    # Required fields are checked by the service, so every problem is answered at once.
    full_name = StringField(_l("Full name"), validators=[Length(max=200)])
    email = StringField(_l("Email address"), validators=[Length(max=254)])
    locale = SelectField(_l("Language"), choices=_language_choices, validate_choice=False)
    role = SelectField(_l("Role"), choices=_role_choices, validate_choice=False)
    departments = DepartmentsField(_l("Departments"), coerce=int)


class EditStaffForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices, validate_choice=False)
    departments = DepartmentsField(_l("Departments"), coerce=int)


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)])
    inbound_address = StringField(_l("Inbound address (optional)"), validators=[Optional(), Length(max=254)])
    reply_from_address = StringField(_l("Reply-from address (optional)"), validators=[Optional(), Length(max=254)])
    signature = TextAreaField(_l("Signature (optional)"))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter: changes nothing

    actor = StringField(_l("Actor's email address"), validators=[Optional(), Length(max=254)])
    since = BoundedDateField(_l("Changed from"), validators=[Optional()])
    until = BoundedDateField(_l("Changed until"), validators=[Optional()])


def _with_departments(form):
    form.departments.choices = [(d.id, d.name) for d in _departments()]
    return form


def _chosen_departments(form):
    wanted = set(form.departments.data or ())
    return [d for d in _departments() if d.id in wanted]


# --------------------------------------------------------------------------- agents and admins

@bp.route("/admin/")
def admin_home():
    staff.require_admin(_actor())
    return redirect(url_for("desk_admin.agents"))


@bp.route("/admin/agents")
def agents():
    return render_template("desk/admin/agents.html", people=staff.list_staff(_actor()), roles=staff.STAFF_ROLES,
                           form=PostForm())


@bp.route("/admin/agents/new", methods=["GET", "POST"])
def new_agent():
    staff.require_admin(_actor())
    form = _with_departments(NewStaffForm())
    if form.validate_on_submit():
        try:
            user = staff.create_staff(_actor(), email=form.email.data, full_name=form.full_name.data,
                                      role=form.role.data, locale=form.locale.data,
                                      departments=_chosen_departments(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("%(name)s was created and got an email to choose a password.", name=user.display_name),
                  "success")
            return redirect(url_for("desk_admin.agents"))
    return render_template("desk/admin/agent_new.html", form=form), 400 if form.errors else 200


@bp.route("/admin/agents/<id:user_id>", methods=["GET", "POST"])
def edit_agent(user_id):
    user = staff.get_staff(_actor(), user_id)
    form = _with_departments(EditStaffForm(role=user.role, departments=[d.id for d in user.departments]))
    if form.validate_on_submit():
        try:
            staff.update_staff(_actor(), user, role=form.role.data, departments=_chosen_departments(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The changes to %(name)s were saved.", name=user.display_name), "success")
            return redirect(url_for("desk_admin.agents"))
    return render_template("desk/admin/agent_edit.html", user=user, form=form,
                           post_form=PostForm()), 400 if form.errors else 200


def _account_action(user_id, action, done):
    user = staff.get_staff(_actor(), user_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        action(_actor(), user)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(done(user), "success")
    return redirect(url_for("desk_admin.agents"))


@bp.route("/admin/agents/<id:user_id>/deactivate", methods=["POST"])
def deactivate_agent(user_id):
    return _account_action(user_id, staff.deactivate,
                           lambda u: _("%(name)s was deactivated and logged out.", name=u.display_name))


@bp.route("/admin/agents/<id:user_id>/reactivate", methods=["POST"])
def reactivate_agent(user_id):
    return _account_action(user_id, staff.reactivate,
                           lambda u: _("%(name)s can log in again.", name=u.display_name))


@bp.route("/admin/agents/<id:user_id>/invite", methods=["POST"])
def invite_agent(user_id):
    return _account_action(user_id, staff.resend_invitation,
                           lambda u: _("%(name)s got a new email to choose a password.", name=u.display_name))


# --------------------------------------------------------------------------- departments

@bp.route("/admin/departments")
def departments():
    staff.require_admin(_actor())
    return render_template("desk/admin/departments.html", departments=_departments())


def _department_fields(form):
    return {"name": form.name.data, "inbound_address": form.inbound_address.data,
            "reply_from_address": form.reply_from_address.data, "signature": form.signature.data}


@bp.route("/admin/departments/new", methods=["GET", "POST"])
def new_department():
    staff.require_admin(_actor())
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            department = create_department(_actor(), **_department_fields(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The department %(name)s was created.", name=department.name), "success")
            return redirect(url_for("desk_admin.departments"))
    return render_template("desk/admin/department_form.html", form=form, department=None), \
        400 if form.errors else 200


@bp.route("/admin/departments/<id:department_id>", methods=["GET", "POST"])
def edit_department(department_id):
    staff.require_admin(_actor())
    department = db.get_or_404(Department, department_id)
    form = DepartmentForm(obj=department)
    if form.validate_on_submit():
        try:
            update_department(_actor(), department, **_department_fields(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The department %(name)s was saved.", name=department.name), "success")
            return redirect(url_for("desk_admin.departments"))
    return render_template("desk/admin/department_form.html", form=form, department=department), \
        400 if form.errors else 200


# --------------------------------------------------------------------------- audit trail

@bp.route("/tickets/<id:number>/history")
def ticket_history(number):
    ticket = access.get_ticket(_actor(), number)
    return render_template("desk/admin/ticket_history.html", ticket=ticket,
                           entries=history.ticket_history(_actor(), ticket), link=linker(_actor()))


@bp.route("/admin/audit")
def audit_trail():
    staff.require_admin(_actor())
    form = AuditFilterForm(request.args)
    page = history.TrailPage(entries=[], next_before=None)
    before = parse_id(request.args["before"]) if request.args.get("before") else None
    if request.args.get("before") and before is None:
        abort(400)  # not a link of ours
    if form.validate():
        try:
            page = history.audit_trail(_actor(), actor_email=form.actor.data, since=form.since.data,
                                       until=form.until.data, before=before)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
    filters = {name: request.args[name] for name in ("actor", "since", "until") if request.args.get(name)}
    return render_template("desk/admin/audit.html", form=form, page=page, filters=filters,
                           link=linker(_actor())), \
        400 if form.errors else 200
