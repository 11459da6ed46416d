"""Forms of the portal's ticket pages: submitting a ticket, replying, copies (CC) and the ticket's details.
The optional facts of a new ticket are checked by the ticket store (tickets/details.py), not here."""
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from helpdesk import timezones, uploads
from helpdesk.accounts import service as accounts
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.service import NewAttachment
from helpdesk.web.timezone_field import TimeZoneField


def timezone_choices():
    """(zone, its name in the reader's language), common zones first (helpdesk.timezones)."""
    return timezones.timezone_choices()


def read_uploads(field):
    """Validate the files of a MultipleFileField and keep them as ``field.uploads`` (NewAttachment).
    Every bad file gets its own error beside the field."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    blocked = current_app.config["PORTAL_BLOCKED_EXTENSIONS"]
    field.uploads, problems = [], []
    for upload in field.data or ():
        if not getattr(upload, "filename", None):
            continue  # the browser sends an empty part when no file was chosen
        name = uploads.clean_filename(upload.filename)  # checked as it will be stored: "evil.vbs " is evil.vbs
        data = upload.read()
        if uploads.is_program(name, data, blocked):
            problems.append(_l("%(name)s: programs and scripts cannot be attached.", name=name))
        elif not data:
            problems.append(_l("%(name)s is empty.", name=name))
        elif len(data) > limit:
            problems.append(_l("%(name)s is larger than the limit of %(size)s MB.", name=name,
                               size=limit // (1024 * 1024)))
        else:
            field.uploads.append(NewAttachment(name, upload.mimetype or "application/octet-stream", data))
    if problems:
        field.errors.extend(problems[:-1])
        raise ValidationError(problems[-1])


def _check_email(form, field):
    try:
        accounts.normalise_email(field.data or "")
    except ValueError as exc:
        raise ValidationError(getattr(exc, "message", None) or _l("Enter a valid email address.")) from None


class NewTicketForm(FlaskForm):
    """The ticket form. The view removes the fields about the person when a customer is logged in."""

    email = StringField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                         Length(max=254), _check_email])
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter your name.")), Length(max=200)])
    company = StringField(_l("Company name"), validators=[DataRequired(_l("Enter the company name.")),
                                                          Length(max=200)])
    customer_number = StringField(_l("Customer number (optional)"), validators=[Optional(), Length(max=50)])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=255)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(_l("Describe the problem."))])
    department = SelectField(_l("Department"), validate_choice=True)
    priority = SelectField(_l("Priority"))
    # The view offers it only when the customer has services to pick (tickets.details.customer_services).
    service = SelectField(_l("Service (optional)"), validate_choice=False)
    # Offered when the customer's account has devices (tickets.device_gate); the ticket store checks the choice.
    device = SelectField(_l("Device (optional)"), validate_choice=False)
    reference = StringField(_l("Order or service reference (optional)"))
    server_ip = StringField(_l("Server IP address (optional)"))
    problem_started = StringField(_l("When did the problem start? (optional)"),
                                  render_kw={"type": "datetime-local"})
    problem_timezone = TimeZoneField(_l("Time zone"))
    diagnostics = TextAreaField(_l("Diagnostics (optional)"), render_kw={"rows": 6, "spellcheck": "false"})
    attachments = MultipleFileField(_l("Attachments (optional)"))
    privacy = BooleanField(_l("I agree that my data is processed to handle this request, as the privacy "
                              "policy describes."),
                           validators=[InputRequired(_l("Please agree to the privacy policy."))])

    def validate_attachments(self, field):
        read_uploads(field)


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[DataRequired(_l("Enter a message."))])
    reply_attachments = MultipleFileField(_l("Attachments (optional)"))

    def validate_reply_attachments(self, field):
        read_uploads(field)


class AddCCForm(FlaskForm):
    cc_addresses = StringField(_l("Email addresses to add in copy"),
                               validators=[DataRequired(_l("Enter at least one email address.")),
                                           Length(max=2000)])


class RemoveCCForm(FlaskForm):
    email = HiddenField(validators=[DataRequired()])


class EditTicketForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=255)])
    priority = SelectField(_l("Priority"))
    department = SelectField(_l("Department"))
