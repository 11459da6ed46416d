"""The agent's ticket workspace: the whole thread (internal notes included), the requester's side panel, and the
actions on a ticket. Each action parses its form and calls one ticket service function."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.accounts.models import ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import access, service
from helpdesk.tickets.models import PRIORITIES, Department, Ticket, department_agents
from helpdesk.web.desk_forms import AddCCForm, AgentReplyForm, DetailsForm, InternalNoteForm, RemoveCCForm
from helpdesk.web.thread import thread_items

bp = Blueprint("desk_tickets", __name__, url_prefix="/agent")

OTHER_TICKETS = 10


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)


def _actor():
    return current_user._get_current_object()


def _ticket(number):
    return access.get_ticket(_actor(), number)


def _show(ticket):
    return redirect(url_for("desk_tickets.show", number=ticket.number))


def _apply_errors(form, errors, fields):
    """Put a service's field errors beside the form's fields (``fields`` maps service names to form names)."""
    for name, message in errors.items():
        field = getattr(form, fields.get(name, name), None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


# --------------------------------------------------------------------------- reading a ticket

def _thread(ticket):
    return thread_items(ticket.messages)


def _other_tickets(ticket):
    """The requester's latest other tickets this agent may see."""
    return db.session.scalars(
        access.visible_tickets(_actor())
        .where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(OTHER_TICKETS)
    ).all()


def _assignee_choices(ticket):
    """Agents of the ticket's department and admins (every agent when the ticket has no department)."""
    query = sa.select(User).where(User.active.is_(True))
    if ticket.department_id is None:
        query = query.where(User.role.in_((ROLE_AGENT, ROLE_ADMIN)))
    else:
        members = sa.select(department_agents.c.user_id).where(
            department_agents.c.department_id == ticket.department_id)
        query = query.where(sa.or_(User.role == ROLE_ADMIN, sa.and_(User.role == ROLE_AGENT, User.id.in_(members))))
    agents = db.session.scalars(query.order_by(User.full_name, User.email)).all()
    if ticket.assignee is not None and ticket.assignee not in agents:
        agents.append(ticket.assignee)  # the current assignee stays choosable, wherever they work
    return [("", _("Nobody"))] + [(str(a.id), a.display_name) for a in agents]


def _details_choices(form, ticket):
    form.priority.choices = [(code, str(label)) for code, label in PRIORITIES.items()]
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _("None"))] + [(str(d.id), d.name) for d in departments]
    form.assignee.choices = _assignee_choices(ticket)
    return form


def _render(ticket, status=200, **given):
    details = given.get("details") or DetailsForm(
        formdata=None, status=ticket.status, priority=ticket.priority,
        department=str(ticket.department_id or ""), assignee=str(ticket.assignee_id or ""))
    return render_template(
        "desk/ticket.html", ticket=ticket, thread=_thread(ticket), other_tickets=_other_tickets(ticket),
        reply_form=given.get("reply") or AgentReplyForm(formdata=None),
        note_form=given.get("note") or InternalNoteForm(formdata=None),
        details_form=_details_choices(details, ticket),
        cc_form=given.get("cc") or AddCCForm(formdata=None),
        remove_form=RemoveCCForm(formdata=None),
    ), status


@bp.route("/tickets/<int:number>")
def show(number):
    return _render(_ticket(number))


# --------------------------------------------------------------------------- actions

@bp.route("/tickets/<int:number>/reply", methods=["POST"])
def reply(number):
    ticket = _ticket(number)
    form = AgentReplyForm()
    if form.validate_on_submit():
        try:
            service.add_agent_reply(_actor(), ticket, body_text=form.body.data, status=form.reply_status.data,
                                    attachments=form.reply_attachments.uploads, source="web")
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors, {"attachments": "reply_attachments", "status": "reply_status"})
        else:
            flash(_("Your reply was sent."), "success")
            return _show(ticket)
    return _render(ticket, 400, reply=form)


@bp.route("/tickets/<int:number>/note", methods=["POST"])
def note(number):
    ticket = _ticket(number)
    form = InternalNoteForm()
    if form.validate_on_submit():
        try:
            service.add_internal_note(_actor(), ticket, body_text=form.note.data,
                                      attachments=form.note_attachments.uploads, source="web")
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors, {"body": "note", "attachments": "note_attachments"})
        else:
            flash(_("Your internal note was added."), "success")
            return _show(ticket)
    return _render(ticket, 400, note=form)


@bp.route("/tickets/<int:number>/details", methods=["POST"])
def details(number):
    ticket = _ticket(number)
    form = _details_choices(DetailsForm(), ticket)
    if form.validate_on_submit():
        current = {"status": ticket.status, "priority": ticket.priority,
                   "department": str(ticket.department_id or ""), "assignee": str(ticket.assignee_id or "")}
        # Only what the agent changed: an unchanged field must not overwrite another agent's change.
        changes = {name: getattr(form, name).data or None for name, value in current.items()
                   if (getattr(form, name).data or "") != value}
        if not changes:
            flash(_("Nothing was changed."), "info")
            return _show(ticket)
        try:
            service.update_ticket(_actor(), ticket, **changes)
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors, {})
        else:
            flash(_("The ticket's details were saved."), "success")
            return _show(ticket)
    return _render(ticket, 400, details=form)


@bp.route("/tickets/<int:number>/cc", methods=["POST"])
def add_cc(number):
    ticket = _ticket(number)
    form = AddCCForm()
    if form.validate_on_submit():
        try:
            added = service.add_participants(_actor(), ticket, form.cc_addresses.data)
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors, {"cc": "cc_addresses"})
        else:
            if added:
                flash(_("Added in copy: %(emails)s", emails=", ".join(p.email for p in added)), "success")
            else:
                flash(_("These addresses were already on the ticket."), "info")
            return _show(ticket)
    return _render(ticket, 400, cc=form)


@bp.route("/tickets/<int:number>/cc/remove", methods=["POST"])
def remove_cc(number):
    ticket = _ticket(number)
    form = RemoveCCForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.remove_participant(_actor(), ticket, form.email.data)
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("%(email)s no longer receives copies.", email=form.email.data), "success")
    return _show(ticket)
