"""The staff console's ticket search: a query box with filters, results with highlighted snippets.
A query that is a ticket number opens that ticket."""
import re
from datetime import UTC, datetime, time

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField
from wtforms.validators import Length, Optional

from helpdesk.accounts.models import User
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.search import index as search
from helpdesk.tickets import access
from helpdesk.tickets.models import STATUSES, Department
from helpdesk.web.request_values import BoundedDateField

bp = Blueprint("desk_search", __name__, url_prefix="/agent")

_TICKET_NUMBER = re.compile(r"^\s*#?\s*(\d{1,12})\s*$")
_NONE = "none"


class SearchForm(FlaskForm):
    """Read from the query string: a search changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search tickets"), validators=[Length(max=500)])
    status = SelectField(_l("Status"), validate_choice=True, validators=[Optional()])
    department = SelectField(_l("Department"), validators=[Optional()])
    assignee = SelectField(_l("Assigned agent"), validators=[Optional()])
    since = BoundedDateField(_l("Created from"), validators=[Optional()])
    until = BoundedDateField(_l("Created until"), validators=[Optional()])


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


def _search_form():
    form = SearchForm(request.args)
    form.status.choices = [("", _l("Any status")), *STATUSES.items()]
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _l("Any department")), (_NONE, _l("No department")),
                               *((str(d.id), d.name) for d in departments)]
    agents = db.session.scalars(sa.select(User).where(User.role.in_(("agent", "admin")))
                                .order_by(User.full_name, User.email)).all()
    form.assignee.choices = [("", _l("Anyone")), (_NONE, _l("Unassigned")),
                             *((str(a.id), a.display_name) for a in agents)]
    return form


def _ticket_number(text):
    """The number of a ticket ``current_user`` may open if the query is just its number, else None."""
    match = _TICKET_NUMBER.match(text or "")
    if not match:
        return None
    try:
        return access.get_ticket(current_user, match.group(1)).number
    except NotFound:
        return None  # not a ticket of theirs: search for the digits as text


@bp.route("/search")
def search_page():
    form = _search_form()
    text = (form.q.data or "").strip()
    hits, searched = [], False
    if text and form.validate():
        number = _ticket_number(text)
        if number is not None:
            return redirect(f"{url_for('desk.index')}tickets/{number}")
        since = datetime.combine(form.since.data, time.min, UTC) if form.since.data else None
        until = datetime.combine(form.until.data, time.max, UTC) if form.until.data else None
        hits = search.search_tickets(current_user, text, status=form.status.data or None,
                                     department=form.department.data or None,
                                     assignee=form.assignee.data or None, since=since, until=until)
        searched = True
    field_labels = {"subject": _l("Subject"), "body": _l("Messages"), "notes": _l("Internal notes"),
                    "details": _l("Details given with the ticket"), "participants": _l("Participants")}
    return render_template("desk/search.html", form=form, hits=hits, searched=searched,
                           field_labels=field_labels,
                           ticket_url=lambda number: f"{url_for('desk.index')}tickets/{number}"), \
        400 if form.errors else 200
