"""The agent's ticket workspace: the whole thread (internal notes included), the requester's side panel, and the
actions on a ticket. Each action parses its form and calls one ticket service function."""
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import access, assignment, canned, customers, merge, presence, service
from helpdesk.tickets.models import PRIORITIES, Department, Ticket
from helpdesk.web import participants
from helpdesk.web.desk_forms import (
    AddCCForm,
    AgentReplyForm,
    DetailsForm,
    InternalNoteForm,
    MergeForm,
    OrganisationForm,
    RemoveCCForm,
    RequesterForm,
)
from helpdesk.web.forms import apply_errors
from helpdesk.web.guards import current_actor as _actor
from helpdesk.web.request_values import json_object
from helpdesk.web.thread import thread_items

bp = Blueprint("desk_tickets", __name__, url_prefix="/agent")

OTHER_TICKETS = 10


@bp.before_request
@login_required
def _agents_only():
    if not current_user.is_agent:
        abort(404)



def _ticket(number):
    return access.get_ticket(_actor(), number)


def _show(ticket):
    return redirect(url_for("desk_tickets.show", number=ticket.number))



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
    """Whom the ticket may be assigned to (the service's rule), and nobody."""
    return [("", _("Nobody"))] + [(str(a.id), a.display_name) for a in assignment.assignable_agents(ticket)]


def _details_choices(form, ticket):
    form.priority.choices = [(code, str(label)) for code, label in PRIORITIES.items()]
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    form.department.choices = [("", _("None"))] + [(str(d.id), d.name) for d in departments]
    form.assignee.choices = _assignee_choices(ticket)
    return form


def _presence_notices(others):
    """Sentences about the other agents on this ticket, for the page and the heartbeat's answer."""
    return [_("%(name)s is replying", name=agent.display_name) if activity == presence.REPLYING
            else _("%(name)s is also looking at this ticket", name=agent.display_name) for agent, activity in others]


def _render(ticket, status=200, **given):
    details = given.get("details") or DetailsForm(
        formdata=None, status=ticket.status, priority=ticket.priority,
        department=str(ticket.department_id or ""), assignee=str(ticket.assignee_id or ""))
    reply_form = given.get("reply") or AgentReplyForm(formdata=None)
    # What the agent sees now is what a reply from this page answers (kept when a form comes back with errors).
    if not reply_form.seen_up_to.data or given.get("newer"):
        reply_form.seen_up_to.data = str(presence.newest_message_id(ticket))
    if request.method == "POST":
        # A page view writes nothing (concurrent reads never wait for a writer): on a GET, presence.js
        # posts the first heartbeat as soon as the page has loaded.
        presence.record_presence(_actor(), ticket, given.get("activity", presence.VIEWING))
    return render_template(
        "desk/ticket.html", ticket=ticket, thread=_thread(ticket), other_tickets=_other_tickets(ticket),
        reply_form=reply_form,
        note_form=given.get("note") or InternalNoteForm(formdata=None),
        details_form=_details_choices(details, ticket),
        cc_form=given.get("cc") or participants.kept_form(AddCCForm, ticket) or AddCCForm(formdata=None),
        remove_form=RemoveCCForm(formdata=None),
        canned_responses=canned.responses_for(_actor(), ticket),
        merge_form=given.get("merge") or MergeForm(formdata=None),
        requester_form=given.get("requester") or RequesterForm(formdata=None),
        organisation_form=given.get("organisation") or OrganisationForm(
            formdata=None, organisation=ticket.organisation.name if ticket.organisation else ""),
        newer=thread_items(given.get("newer") or []),
        presence_notices=_presence_notices(presence.others_present(_actor(), ticket)),
        heartbeat_seconds=current_app.config["PRESENCE_HEARTBEAT_SECONDS"],
    ), status


@bp.route("/tickets/<id:number>")
def show(number):
    return _render(_ticket(number))


# --------------------------------------------------------------------------- actions

@bp.route("/tickets/<id:number>/reply", methods=["POST"])
def reply(number):
    ticket = _ticket(number)
    form = AgentReplyForm()
    if form.validate_on_submit():
        try:
            service.add_agent_reply(_actor(), ticket, body_text=form.body.data, status=form.reply_status.data,
                                    attachments=form.reply_attachments.uploads, source="web",
                                    seen_up_to=form.seen_up_to.data)
        except service.ReplyCollision as exc:
            flash(str(exc.message), "warning")
            return _render(ticket, 409, reply=form, newer=exc.newer, activity=presence.REPLYING)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"attachments": "reply_attachments", "status": "reply_status"})
        else:
            flash(_("Your reply was sent."), "success")
            return _show(ticket)
    return _render(ticket, 400, reply=form)


@bp.route("/tickets/<id:number>/note", methods=["POST"])
def note(number):
    ticket = _ticket(number)
    form = InternalNoteForm()
    if form.validate_on_submit():
        try:
            service.add_internal_note(_actor(), ticket, body_text=form.note.data,
                                      attachments=form.note_attachments.uploads, source="web")
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"body": "note", "attachments": "note_attachments"})
        else:
            flash(_("Your internal note was added."), "success")
            return _show(ticket)
    return _render(ticket, 400, note=form)


@bp.route("/tickets/<id:number>/details", methods=["POST"])
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
            apply_errors(form, exc.errors, {})
        else:
            flash(_("The ticket's details were saved."), "success")
            return _show(ticket)
    return _render(ticket, 400, details=form)


@bp.route("/tickets/<id:number>/cc", methods=["POST"])
def add_cc(number):
    ticket = _ticket(number)
    form = AddCCForm()
    if not participants.add_cc(_actor(), ticket, form):
        participants.keep_form(form, ticket)  # shown again, with its error, on the ticket's page
        return redirect(url_for("desk_tickets.show", number=ticket.number, _anchor="participants"))
    return _show(ticket)


@bp.route("/tickets/<id:number>/cc/remove", methods=["POST"])
def remove_cc(number):
    ticket = _ticket(number)
    participants.remove_cc(_actor(), ticket, RemoveCCForm())
    return _show(ticket)


# --------------------------------------------------------------------------- merging

@bp.route("/tickets/<id:number>/merge", methods=["POST"])
def merge_into(number):
    """First the agent names the target; a second page shows both subjects and asks to confirm."""
    ticket = _ticket(number)
    form = MergeForm()
    if form.validate_on_submit():
        try:
            target = _ticket(form.target.data)
        except NotFound:
            form.target.errors = [*form.target.errors, _("There is no ticket #%(number)s you may change.",
                                                         number=form.target.data)]
        else:
            if form.confirm.data != "yes":
                form.confirm.data = "yes"
                return render_template("desk/merge_confirm.html", ticket=ticket, target=target, form=form)
            try:
                merge.merge_ticket(_actor(), ticket, target)
            except ValidationFailed as exc:
                apply_errors(form, exc.errors, {})
            except Conflict as exc:
                flash(exc.message, "error")
            else:
                flash(_("Ticket #%(source)s was merged into this ticket.", source=ticket.number), "success")
                return _show(target)
    return _render(ticket, 400, merge=form)


# --------------------------------------------------------------------------- canned responses

@bp.route("/tickets/<id:number>/canned/<id:response_id>")
def canned_text(number, response_id):
    """A canned response filled in for this ticket, as JSON (canned.js inserts it at the cursor)."""
    ticket = _ticket(number)
    return jsonify({"text": canned.render_response(_actor(), ticket, response_id)})


@bp.route("/tickets/<id:number>/reply/canned", methods=["POST"])
def use_canned(number):
    """Without JavaScript: the reply form's "Use" button adds the response to what the agent wrote so far."""
    ticket = _ticket(number)
    form = AgentReplyForm()  # CSRFProtect has checked the token; the body may be empty here
    try:
        text = canned.render_response(_actor(), ticket, request.form.get("canned", ""))
    except NotFound:
        flash(_("That canned response is not available for this ticket."), "error")
    else:
        written = (form.body.data or "").rstrip()
        form.body.data = f"{written}\n\n{text}" if written else text
    return _render(ticket, 200, reply=form, activity=presence.REPLYING)


# --------------------------------------------------------------------------- requester and organisation

@bp.route("/tickets/<id:number>/requester", methods=["POST"])
def change_requester(number):
    ticket = _ticket(number)
    form = RequesterForm()
    if form.validate_on_submit():
        try:
            customers.change_requester(_actor(), ticket, form.requester_email.data, form.requester_name.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {"requester": "requester_email"})
        else:
            flash(_("%(email)s is now the requester.", email=ticket.requester.email), "success")
            return _show(ticket)
    return _render(ticket, 400, requester=form)


@bp.route("/tickets/<id:number>/organisation", methods=["POST"])
def set_organisation(number):
    ticket = _ticket(number)
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            customers.set_organisation(_actor(), ticket, form.organisation.data or None)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, {})
        else:
            if ticket.organisation is not None:
                flash(_("The ticket belongs to %(name)s now.", name=ticket.organisation.name), "success")
            else:
                flash(_("The ticket no longer belongs to an organisation."), "success")
            return _show(ticket)
    return _render(ticket, 400, organisation=form)


# --------------------------------------------------------------------------- who else is looking

@bp.route("/tickets/<id:number>/presence", methods=["POST"])
def heartbeat(number):
    """presence.js's heartbeat (CSRF in the X-CSRFToken header): records this agent, answers with the others."""
    ticket = _ticket(number)
    payload = json_object() if request.get_data(cache=True) else {}
    if payload is None:
        return jsonify({"errors": {"activity": _("Send a JSON object.")}}), 400
    try:
        presence.record_presence(_actor(), ticket, payload.get("activity") or presence.VIEWING)
    except ValidationFailed as exc:
        return jsonify({"errors": {k: str(v) for k, v in exc.errors.items()}}), 400
    return jsonify({"notices": _presence_notices(presence.others_present(_actor(), ticket))})
