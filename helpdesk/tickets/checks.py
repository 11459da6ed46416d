"""The input rules ticket operations share: each ``check_*`` cleans one field, records a field error in ``errors``
when the value is unusable and returns the cleaned value, so an operation reports every error at once."""
import re
from dataclasses import dataclass

from flask import current_app

from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.db import parse_id
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify.addresses import NEEDS_SMTPUTF8
from helpdesk.sanitize import clean_html, html_to_text, strip_control, text_to_html
from helpdesk.tickets.models import PRIORITIES, SOURCES, STATUSES, Department
from helpdesk.uploads import clean_filename

SUBJECT_MAX = 255


@dataclass(frozen=True)
class NewAttachment:
    """A file handed to the store by a door: its name as sent, its declared type and its bytes (or, for a large
    upload, ``stream``: a seekable file to read it from in pieces)."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    stream: object = None

    @property
    def size(self) -> int:
        if self.stream is None:
            return len(self.data)
        position = self.stream.tell()
        self.stream.seek(0, 2)
        end = self.stream.tell()
        self.stream.seek(position)
        return end


def check_subject(errors, subject):
    subject = " ".join(strip_control(subject or "").split())
    if not subject:
        errors["subject"] = _l("Enter a subject.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _l("The subject may be at most %(num)d characters.", num=SUBJECT_MAX)
    return subject


def check_body(errors, body_text, body_html):
    """(text, sanitised html) of a message body, or a field error when it is empty or too long."""
    html = clean_html(strip_control(body_html)) if body_html else ""
    text = strip_control(body_text or "").strip() or html_to_text(html)
    # Markup alone (an empty editor sends "<p><br></p>") is no message; an inline image is.
    if not text.strip() and not re.search(r"<img\b[^>]*\bsrc=", html):
        errors["body"] = _l("Enter a message.")
        return "", ""
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if len(text) > limit or len(html) > 2 * limit:
        errors["body"] = _l("The message is too long.")
        return "", ""
    return text, html or text_to_html(text)


def safe_filename(name):
    return clean_filename(name)  # the same name the portal's blocked-program check looked at


def check_attachments(errors, attachments):
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    for item in attachments:
        if not isinstance(item, NewAttachment):
            errors["attachments"] = _l("Invalid attachment.")
        elif len(item.data) > limit:
            errors["attachments"] = _l("%(name)s is larger than the limit of %(size)s MB.",
                                       name=safe_filename(item.filename), size=limit // (1024 * 1024))
    return list(attachments)


def check_priority(errors, priority):
    if priority not in PRIORITIES:
        errors["priority"] = _l("Choose a valid priority.")
    return priority


def check_status(errors, status):
    if status not in STATUSES:
        errors["status"] = _l("Choose a valid status.")
    return status


def check_department(errors, department):
    """Accept a Department, its id, or None."""
    if department is None or department == "":
        return None
    if isinstance(department, Department):
        return department
    department_id = parse_id(department)
    found = db.session.get(Department, department_id) if department_id is not None else None
    if found is None:
        errors["department"] = _l("Choose a valid department.")
    return found


def find_user(value):
    """The User ``value`` stands for (a User, or a user id), None when there is no such user."""
    if isinstance(value, User):
        return value
    user_id = parse_id(value)
    return db.session.get(User, user_id) if user_id is not None else None


def check_cc_list(errors, addresses, exclude=()):
    result = []
    for raw in addresses or ():
        try:
            email = accounts.normalise_email(raw)
        except ValueError as exc:
            if getattr(exc, "kind", None) == NEEDS_SMTPUTF8:
                errors["cc"] = _l("%(address)s: we cannot send email to addresses with accents or non-Latin "
                                  "letters before the @.", address=str(raw)[:100])
            else:
                errors["cc"] = _l("%(address)s is not a valid email address.", address=str(raw)[:100])
            continue
        if email not in exclude and email not in result:
            result.append(email)
    return result


# Tickets made of a live chat (helpdesk.chat.convert): converted by an agent, or left when nobody could chat.
CHAT_SOURCE = "chat"


def check_source(errors, source):
    if source not in SOURCES and source != CHAT_SOURCE:
        errors["source"] = _l("Unknown source.")
    return source
