"""Administration of canned responses (admins only): the list, adding, editing and deleting. Each view parses its
form and calls one service function in tickets/canned.py, which checks that the actor is an admin."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import canned
from helpdesk.tickets.models import Department
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("desk_canned", __name__, url_prefix="/agent/admin/canned-responses")


@bp.before_request
@login_required
def _admins_only():
    # Agents do not learn the screens exist; the services refuse non-admins as well.
    if not current_user.is_admin:
        abort(404)



class CannedResponseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title."))])
    body = TextAreaField(_l("Text"), validators=[DataRequired(_l("Enter the text of the response."))])
    # The service checks the value; an unknown one is answered beside the field.
    department = SelectField(_l("Department"), validate_choice=False)


def _with_departments(form):
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _("All departments"))] + [(str(d.id), d.name) for d in departments]
    return form


def _fields(form):
    return {"title": form.title.data, "body": form.body.data, "department": form.department.data or None}


def _form_page(form, response):
    return render_template("desk/admin/canned_form.html", form=form, response=response,
                           placeholders=canned.PLACEHOLDERS, delete_form=PostForm()), 400 if form.errors else 200


@bp.route("/")
def index():
    return render_template("desk/admin/canned.html", responses=canned.list_responses(_actor()))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _with_departments(CannedResponseForm())
    if form.validate_on_submit():
        try:
            response = canned.create_response(_actor(), **_fields(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The canned response %(title)s was created.", title=response.title), "success")
            return redirect(url_for("desk_canned.index"))
    return _form_page(form, None)


@bp.route("/<id:response_id>", methods=["GET", "POST"])
def edit(response_id):
    response = canned.get_response(_actor(), response_id)
    form = _with_departments(CannedResponseForm(obj=response, department=str(response.department_id or "")))
    if form.validate_on_submit():
        try:
            canned.update_response(_actor(), response, **_fields(form))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The canned response %(title)s was saved.", title=response.title), "success")
            return redirect(url_for("desk_canned.index"))
    return _form_page(form, response)


@bp.route("/<id:response_id>/delete", methods=["POST"])
def delete(response_id):
    response = canned.get_response(_actor(), response_id)
    if not PostForm().validate_on_submit():
        abort(400)
    title = response.title
    canned.delete_response(_actor(), response)
    flash(_("The canned response %(title)s was deleted.", title=title), "success")
    return redirect(url_for("desk_canned.index"))
