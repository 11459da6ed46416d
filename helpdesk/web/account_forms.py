"""Forms of the self-service account pages (register, activate, forgot and reset password, profile, notification
addresses)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.timezone_field import TimeZoneField


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)])
    email = StringField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                         Length(max=254)])
    company = StringField(_l("Company (optional)"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=50)])
    consent = BooleanField(_l("I agree to the privacy policy."),
                           validators=[DataRequired(_l("Please agree to the privacy policy to register."))])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(_l("Enter the password again.")),
                                        EqualTo("password", _l("The two passwords are not the same."))])


class ForgotPasswordForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                         Length(max=254)])


def _language_choices():
    return [SelectChoice("", _l("Default")),
            *(SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGES.items())]


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=50)])
    locale = SelectField(_l("Language"), choices=_language_choices)
    timezone = TimeZoneField(_l("Time zone"), blank=_l("Default"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(_l("Enter your current password."))])
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(_l("Enter the password again.")),
                                        EqualTo("password", _l("The two passwords are not the same."))])


def _purpose_choices():
    from helpdesk.accounts.contacts import PURPOSE_LABELS

    return [SelectChoice(purpose, label) for purpose, label in PURPOSE_LABELS.items()]


class ContactAddressForm(FlaskForm):
    purpose = SelectField(_l("Mail about"), choices=_purpose_choices)
    email = StringField(_l("Email address"), validators=[DataRequired(_l("Enter the email address.")), Length(max=254)])
    name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=200)])
