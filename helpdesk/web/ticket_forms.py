"""Forms of the portal's ticket pages: submitting a ticket, replying, copies (CC) and the ticket's details."""
import ipaddress
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from helpdesk import uploads
from helpdesk.accounts import service as accounts
from helpdesk.db import utcnow
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.i18n import valid_timezone
from helpdesk.tickets.service import NewAttachment
from helpdesk.web.request_values import date_in_range

DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def timezone_choices():
    return [(name, name) for name in sorted(available_timezones())]


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
    reference = StringField(_l("Order or service reference (optional)"), validators=[Optional(), Length(max=100)])
    server_ip = StringField(_l("Server IP address (optional)"), validators=[Optional(), Length(max=45)])
    problem_started = StringField(_l("When did the problem start? (optional)"),
                                  render_kw={"type": "datetime-local"})
    problem_timezone = SelectField(_l("Time zone"))
    attachments = MultipleFileField(_l("Attachments (optional)"))
    privacy = BooleanField(_l("I agree that my data is processed to handle this request, as the privacy "
                              "policy describes."),
                           validators=[InputRequired(_l("Please agree to the privacy policy."))])

    def validate_server_ip(self, field):
        try:
            field.data = str(ipaddress.ip_address((field.data or "").strip()))
        except ValueError:
            raise ValidationError(_l("Enter an IPv4 or IPv6 address, such as 203.0.113.7.")) from None

    def validate_problem_started(self, field):
        value = (field.data or "").strip()
        if not value:
            field.parsed = None
            return
        for pattern in DATETIME_FORMATS:
            try:
                local = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValidationError(_l("Enter a date and time, such as 2026-11-24 09:30."))
        if not date_in_range(local.date()):  # the year 1 has no time zone arithmetic
            raise ValidationError(_l("Enter a date and time, such as 2026-11-24 09:30."))
        zone = self.problem_timezone.data
        if not zone or not valid_timezone(zone):
            return  # the time zone field reports it
        field.parsed = local.replace(tzinfo=ZoneInfo(zone))
        if field.parsed > utcnow() + timedelta(minutes=5):
            raise ValidationError(_l("That time is in the future."))

    def validate_problem_timezone(self, field):
        if not valid_timezone(field.data or ""):
            raise ValidationError(_l("Choose a time zone from the list."))

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
