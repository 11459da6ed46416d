"""Forms of the agent's ticket workspace: reply, internal note and the ticket's details. Adding and removing
copies (CC) reuse the portal's forms."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets.models import ANSWERED, STATUSES
from helpdesk.web.ticket_forms import AddCCForm, RemoveCCForm, read_uploads

__all__ = ["AddCCForm", "AgentReplyForm", "DetailsForm", "InternalNoteForm", "MergeForm", "OrganisationForm",
           "RemoveCCForm", "RequesterForm"]


def status_choices():
    return [(code, str(label)) for code, label in STATUSES.items()]


def _known_status(form, field):
    if field.data not in STATUSES:
        raise ValidationError(_l("Choose a valid status."))


class AgentReplyForm(FlaskForm):
    """A reply emailed to the requester and every CC, with the status the ticket takes with it."""

    body = TextAreaField(_l("Reply to the customer"), validators=[DataRequired(_l("Enter a message."))])
    reply_attachments = MultipleFileField(_l("Attachments (optional)"))
    # The service checks the value; choices only draw the menu (an unknown one is answered beside it).
    reply_status = SelectField(_l("Status after the reply"), choices=status_choices, default=ANSWERED,
                               validate_choice=False, validators=[_known_status])
    # The newest message the agent had on screen: a reply to a conversation that moved on is held back.
    seen_up_to = HiddenField()

    def validate_reply_attachments(self, field):
        read_uploads(field)


class InternalNoteForm(FlaskForm):
    """A note for agents only: never emailed, never shown to customers."""

    note = TextAreaField(_l("Internal note"), validators=[DataRequired(_l("Enter a message."))])
    note_attachments = MultipleFileField(_l("Attachments (optional)"))

    def validate_note_attachments(self, field):
        read_uploads(field)


class DetailsForm(FlaskForm):
    """Status, priority, department and assignee; the view sends the service only what changed."""

    status = SelectField(_l("Status"), choices=status_choices, validate_choice=False, validators=[_known_status])
    priority = SelectField(_l("Priority"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)
    assignee = SelectField(_l("Assigned agent"), validate_choice=False)


class MergeForm(FlaskForm):
    """Merge this ticket into another, asked for by number and confirmed on a second page."""

    target = IntegerField(_l("Merge into ticket number"), validators=[
        DataRequired(_l("Enter the number of the ticket to merge into."))])
    confirm = HiddenField()


class RequesterForm(FlaskForm):
    """Make another customer (found or created by email) the ticket's requester."""

    requester_email = StringField(_l("Requester's email"), validators=[DataRequired(_l("Enter an email address."))])
    requester_name = StringField(_l("Name (for a new customer)"), validators=[Optional()])


class OrganisationForm(FlaskForm):
    """Link the ticket to an organisation by its name or customer number (empty unlinks it)."""

    organisation = StringField(_l("Organisation name or customer number"), validators=[Optional()])
