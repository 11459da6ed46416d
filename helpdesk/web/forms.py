"""Web forms (Flask-WTF: every form carries a CSRF token)."""
from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from helpdesk.i18n import lazy_gettext as _l


def apply_errors(form, errors: dict, fields: dict | None = None):
    """Put a service's field errors beside the form's fields (``fields`` maps the service's names to the
    form's where they differ); an error for no field of the form goes to the top of the page."""
    for name, message in errors.items():
        field = form._fields.get((fields or {}).get(name, name))
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


class LoginForm(FlaskForm):
    login = StringField(_l("Email or username"), validators=[DataRequired(_l("Enter your email address.")),
                                                              Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()


class PostForm(FlaskForm):
    """A form with no fields but the CSRF token, for buttons that change state (log out, language)."""


class OpenFromQuarantineForm(FlaskForm):
    """Open a ticket from a quarantined message; the requester is whoever the agent names."""

    requester_email = StringField(_l("Requester's email address"),
                                  validators=[DataRequired(_l("Enter the requester's email address.")),
                                              Length(max=254)])
    subject = StringField(_l("Subject (optional)"), validators=[Length(max=255)])
