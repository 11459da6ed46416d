"""Customer accounts created by staff, with identity data and a set-your-password link (issue 19): the console's
form to create a device buyer's account, the buyer page (identity data to view and change, the link sent again).
Every agent; customers get 404."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from helpdesk.accounts import buyers
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.phones import display as display_phone
from helpdesk.web.forms import PostForm, apply_errors
from helpdesk.web.guards import agents_only
from helpdesk.web.guards import current_actor as _actor

bp = agents_only(Blueprint("desk_buyers", __name__, url_prefix="/agent/buyers"))


class IdentityForm(FlaskForm):
    """The identity data; the service checks them (national ID check digit, phone, duplicates)."""

    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the buyer's full name.")),
                                                         Length(max=buyers.NAME_MAX)])
    national_id = StringField(_l("National ID"), validators=[DataRequired(_l("Enter the national ID.")),
                                                             Length(max=20)])
    phone = StringField(_l("Phone"), validators=[DataRequired(_l("Enter a phone number.")), Length(max=40)])
    address = TextAreaField(_l("Address (city, street, building)"), validators=[Length(max=buyers.ADDRESS_MAX)])
    operator = StringField(_l("Main operator of the device, or company"), validators=[Length(max=buyers.NAME_MAX)])


class BuyerForm(IdentityForm):
    email = StringField(_l("Email address (the set-your-password link goes there)"),
                        validators=[DataRequired(_l("Enter an email address.")), Length(max=254)])
    username = StringField(_l("Username (optional; they may log in with it or the address)"),
                           validators=[Length(max=buyers.USERNAME_MAX)])
    locale = SelectField(_l("Language of their mail"))




def _buyer_form(formdata=None):
    form = BuyerForm() if formdata is None else BuyerForm(formdata=formdata)
    form.locale.choices = list(LANGUAGES.items())
    if form.locale.data is None:
        form.locale.data = current_app.config["DEFAULT_LOCALE"]
    return form


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _buyer_form()
    if form.validate_on_submit():
        try:
            account = buyers.create_buyer_account(
                _actor(), email=form.email.data, username=form.username.data, full_name=form.full_name.data,
                national_id=form.national_id.data, phone=form.phone.data, address=form.address.data,
                operator=form.operator.data, locale=form.locale.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The account of %(name)s is created; we mailed them a link to choose their password.",
                    name=account.name), "success")
            return redirect(url_for(".buyer", account_id=account.id))
    return render_template("desk_buyers/new.html", form=form), 400 if form.errors else 200


def _buyer_page(account_id, form=None, status=200):
    found = buyers.buyer(_actor(), account_id)
    if form is None:
        form = IdentityForm(formdata=None, obj=found.identity)
    return render_template("desk_buyers/buyer.html", buyer=found, form=form, button_form=PostForm(),
                           phone=display_phone(found.identity.phone) if found.identity and found.identity.phone
                           else ""), status


@bp.route("/<id:account_id>")
def buyer(account_id):
    return _buyer_page(account_id)


@bp.route("/<id:account_id>/identity", methods=["POST"])
def update_identity(account_id):
    buyers.buyer(_actor(), account_id)  # 404 before the form is read
    form = IdentityForm()
    if form.validate_on_submit():
        try:
            buyers.update_identity(_actor(), account_id, full_name=form.full_name.data,
                                   national_id=form.national_id.data, phone=form.phone.data,
                                   address=form.address.data, operator=form.operator.data)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("The identity data are saved."), "success")
            return redirect(url_for(".buyer", account_id=account_id))
    return _buyer_page(account_id, form, 400)


@bp.route("/<id:account_id>/set-password-link", methods=["POST"])
def send_link(account_id):
    buyers.buyer(_actor(), account_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        login = buyers.send_set_password_link(_actor(), account_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("We mailed %(email)s a new link to choose a password; the earlier link no longer works.",
                email=login.email), "success")
    return redirect(url_for(".buyer", account_id=account_id))
