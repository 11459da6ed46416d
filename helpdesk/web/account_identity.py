"""The customer's read-only identity data and the request to correct it (issue 19), and the page the
set-your-password link of an account staff created opens."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from helpdesk.accounts import buyers
from helpdesk.accounts.errors import LinkExpired
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.phones import display as display_phone
from helpdesk.tickets import service as tickets
from helpdesk.web.account_context import current_account_id
from helpdesk.web.account_forms import SetPasswordForm
from helpdesk.web.auth import begin_login_session, home_for
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor as _actor

bp = Blueprint("account_identity", __name__)

CORRECTION_MAX = 5000


class CorrectionForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=200)],
                          default=_l("Please correct my identity data"))
    text = TextAreaField(_l("What is wrong, and what is right?"),
                         validators=[DataRequired(_l("Say what should be corrected.")), Length(max=CORRECTION_MAX)])



def _account_id():
    """The account this request acts for; 404 for staff and for a customer who belongs to none."""
    account_id = current_account_id()
    if account_id is None:
        abort(404)
    return account_id


def _identity_page(form=None, status=200):
    identity = buyers.identity_of(_actor(), _account_id())
    return render_template("account_identity/identity.html", identity=identity,
                           phone=display_phone(identity.phone) if identity and identity.phone else "",
                           form=form or CorrectionForm(formdata=None)), status


@bp.route("/account/identity-data")
@login_required
def identity():
    return _identity_page()


@bp.route("/account/identity-data/correction", methods=["POST"])
@login_required
def ask_for_correction():
    account_id = _account_id()
    buyers.identity_of(_actor(), account_id)  # only the account's owner; 404/403 before the form is read
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            ticket = tickets.open_ticket(_actor(), subject=form.subject.data, body_text=form.text.data, source="web")
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"body": "text"})
        else:
            flash(_("Ticket #%(number)s created: we will correct your data and answer there.", number=ticket.number),
                  "success")
            return redirect(url_for("tickets.show", number=ticket.number))
    return _identity_page(form, 400)


# --------------------------------------------------------------------------- the set-your-password link

def _link_expired():
    return render_template("account_identity/link_expired.html"), 410


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token):
    if not buyers.link_is_valid(token):
        return _link_expired()
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = buyers.set_password_with_link(token, form.password.data)
        except LinkExpired:
            return _link_expired()
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            begin_login_session(user)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(home_for(user))
    return render_template("account_identity/set_password.html", form=form), 400 if form.errors else 200
