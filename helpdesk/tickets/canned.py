"""Canned responses: texts agents insert into a reply, per department or for all, with placeholders such as
``{customer_name}`` filled in for the ticket at hand. Admins manage them."""
import re

import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk import audit
from helpdesk.accounts.models import User
from helpdesk.db import UTCDateTime, commit_service_call, parse_id, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control
from helpdesk.tickets import access
from helpdesk.tickets.models import Department

TITLE_MAX = 200
BODY_MAX = 20_000
# The placeholders a body may use, with what they stand for (shown to admins).
PLACEHOLDERS = {
    "customer_name": _l("the requester's name"),
    "ticket_number": _l("the ticket number"),
    "ticket_subject": _l("the ticket's subject"),
    "agent_name": _l("your name"),
}
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


class CannedResponse(db.Model):
    __tablename__ = "canned_responses"

    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(TITLE_MAX), nullable=False)
    body = sa.Column(sa.Text, nullable=False)
    # None: offered on the tickets of every department.
    department_id = sa.Column(sa.Integer, sa.ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    department = relationship(Department)
    created_by = relationship(User, foreign_keys=[created_by_id])
    updated_by = relationship(User, foreign_keys=[updated_by_id])


def _require_admin(actor):
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def _check(errors, title, body, department):
    title = " ".join(strip_control(title or "").split())
    if not title:
        errors["title"] = _l("Enter a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _l("The title may be at most %(num)d characters.", num=TITLE_MAX)
    body = strip_control(body or "").strip()
    if not body:
        errors["body"] = _l("Enter the text of the response.")
    elif len(body) > BODY_MAX:
        errors["body"] = _l("The text may be at most %(num)d characters.", num=BODY_MAX)
    found = None
    if department not in (None, ""):
        if isinstance(department, Department):
            found = department
        else:
            department_id = parse_id(department)
            found = db.session.get(Department, department_id) if department_id is not None else None
            if found is None:
                errors["department"] = _l("Choose a valid department.")
    return title, body, found


def list_responses(actor):
    """Every canned response, for the admin screens."""
    _require_admin(actor)
    return db.session.scalars(sa.select(CannedResponse).order_by(CannedResponse.title, CannedResponse.id)).all()


def get_response(actor, response_id) -> CannedResponse:
    _require_admin(actor)
    response_id = parse_id(response_id)
    response = db.session.get(CannedResponse, response_id) if response_id is not None else None
    if response is None:
        raise NotFound()
    return response


def create_response(actor, *, title, body, department=None) -> CannedResponse:
    """Add a canned response (admins only). ``department`` None offers it on every department's tickets."""
    _require_admin(actor)
    errors = {}
    title, body, department = _check(errors, title, body, department)
    if errors:
        raise ValidationFailed(errors)
    response = CannedResponse(title=title, body=body, department=department,
                              created_by_id=getattr(actor, "id", None), updated_by_id=getattr(actor, "id", None))
    db.session.add(response)
    db.session.flush()
    audit.record(actor, "canned_response", response.id, "created",
                 {"title": title, "department": department.id if department else None})
    commit_service_call(db.session)
    return response


def update_response(actor, response, *, title, body, department=None) -> CannedResponse:
    """Change a canned response's title, text and department (admins only)."""
    _require_admin(actor)
    errors = {}
    title, body, department = _check(errors, title, body, department)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    if title != response.title:
        changes["title"] = [response.title, title]
    if body != response.body:
        changes["body"] = True
    if department is not response.department:
        changes["department"] = [response.department_id, department.id if department else None]
    response.title, response.body, response.department = title, body, department
    response.updated_by_id = getattr(actor, "id", None)
    if changes:
        audit.record(actor, "canned_response", response.id, "changed", changes)
    commit_service_call(db.session)
    return response


def delete_response(actor, response) -> None:
    """Remove a canned response (admins only)."""
    _require_admin(actor)
    audit.record(actor, "canned_response", response.id, "deleted", {"title": response.title})
    db.session.delete(response)
    commit_service_call(db.session)


def responses_for(actor, ticket):
    """The canned responses an agent may use on ``ticket``: those of its department and those for all."""
    access.require(actor, ticket, "agent_reply")
    query = sa.select(CannedResponse)
    if ticket.department_id is None:
        query = query.where(CannedResponse.department_id.is_(None))
    else:
        query = query.where(sa.or_(CannedResponse.department_id.is_(None),
                                   CannedResponse.department_id == ticket.department_id))
    return db.session.scalars(query.order_by(CannedResponse.title, CannedResponse.id)).all()


def fill_placeholders(text, values) -> str:
    """``text`` with each known ``{placeholder}`` replaced by its value, in one pass: an unknown one stays
    as written, and braces inside a value (a customer called "{agent_name}") are never expanded."""
    def replace(match):
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER_RE.sub(replace, text or "")


def render_response(actor, ticket, response_id) -> str:
    """The text of a canned response for ``ticket``, placeholders filled in. NotFound for a response
    that does not exist or is not offered on this ticket's department."""
    offered = {r.id: r for r in responses_for(actor, ticket)}
    response = offered.get(parse_id(response_id))
    if response is None:
        raise NotFound()
    requester = ticket.requester
    return fill_placeholders(response.body, {
        "customer_name": (requester.full_name or requester.email) if requester else "",
        "ticket_number": ticket.number,
        "ticket_subject": ticket.subject,
        "agent_name": getattr(actor, "display_name", "") or "",
    })
