"""The agents' endpoints behind the console's chat inbox: the desk's state and stream, availability, a chat with
the customer beside it, and the actions on it. Staff only (the session of the console; POSTs carry its CSRF token
in X-CSRFToken, checked by the app's CSRF protection like every form of the console)."""
from functools import wraps

import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.accounts import memberships
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.billing import services as billing_services
from helpdesk.billing.models import SERVICE_ACTIVE, SERVICE_STATUS_LABELS, SERVICE_SUSPENDED, BillingAccount
from helpdesk.chat import routing
from helpdesk.chat import service as chats
from helpdesk.devices import registry as devices
from helpdesk.devices.status import status_of
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.livechat import streams
from helpdesk.livechat.blueprint import bp, posted, text
from helpdesk.livechat.errors import json_error
from helpdesk.livechat.visitor import attachment_download, uploaded_files
from helpdesk.tickets import access as ticket_access
from helpdesk.tickets import canned
from helpdesk.tickets.models import STATUSES, Ticket

OTHER_TICKETS = 10  # the customer's latest tickets beside a chat


def staff_only(view):
    """For the console's staff: 403 (as JSON) for anyone else, logged in or not."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not current_user.is_authenticated:
            return json_error(403, _("Please log in to see this page."))
        if not current_user.is_agent:
            return json_error(403, _("You are not allowed to do that."))
        return view(*args, **kwargs)

    return checked


def _agent():
    return current_user._get_current_object()


def _chat(chat_id):
    return chats.get_chat(_agent(), chat_id)


def inbox_state(agent) -> dict:
    """The inbox: the agent's availability and limit, the waiting chats and the agent's own."""
    return {"availability": chats.availability_of(agent), "limit": routing.limit_of(agent),
            "waiting": [chats.chat_json(chat, True) for chat in chats.waiting_chats(agent)],
            "mine": [chats.chat_json(chat, True) for chat in chats.my_chats(agent)]}


# --------------------------------------------------------------------------- the desk

@bp.route("/desk/state")
@staff_only
def desk_state():
    return jsonify(inbox_state(_agent()))


def _load_agent(agent_id):
    def load():
        agent = db.session.get(User, agent_id)
        if agent is None or not agent.is_agent or not agent.active:
            raise NotFound()
        return agent

    return load


@bp.route("/desk/stream")
@staff_only
def desk_stream():
    return streams.desk_stream(_load_agent(_agent().id), inbox_state, after=streams.last_event_id(request))


@bp.route("/desk/availability", methods=["POST"])
@staff_only
def desk_availability():
    return jsonify({"availability": chats.set_availability(_agent(), text(posted(), "availability"))})


@bp.route("/desk/ping", methods=["POST"])
@staff_only
def desk_ping():
    chats.ping(_agent())
    return "", 204


@bp.route("/desk/search")
@staff_only
def desk_search():
    return jsonify([chats.chat_json(chat, True) for chat in chats.search_chats(_agent(), request.args.get("q", ""))])


@bp.route("/desk/canned")
@staff_only
def desk_canned():
    """The canned responses for a chat (its department's and those for all), placeholders filled in as far as a
    chat can: the customer's and the agent's names, the ticket's number and subject once it became one."""
    chat = _chat(request.args.get("chat", ""))
    agent = _agent()
    query = sa.select(canned.CannedResponse).order_by(canned.CannedResponse.title, canned.CannedResponse.id)
    if chat.department_id is None:
        query = query.where(canned.CannedResponse.department_id.is_(None))
    else:
        query = query.where(sa.or_(canned.CannedResponse.department_id.is_(None),
                                   canned.CannedResponse.department_id == chat.department_id))
    values = {"customer_name": chat.name, "agent_name": agent.display_name}
    if chat.ticket is not None:
        values.update(ticket_number=chat.ticket.number, ticket_subject=chat.ticket.subject)
    return jsonify([{"id": response.id, "title": response.title,
                     "body": canned.fill_placeholders(response.body, values)}
                    for response in db.session.scalars(query)])


# --------------------------------------------------------------------------- a chat

@bp.route("/desk/chats/<id:chat_id>")
@staff_only
def desk_chat(chat_id):
    chat = _chat(chat_id)
    events, after = [], 0
    while True:
        batch = chats.events_for(_agent(), chat, after_id=after)
        events += batch
        if len(batch) < chats.EVENTS_MAX:
            break
        after = batch[-1].id
    return jsonify({"chat": chats.chat_json(chat, True), "events": [chats.event_json(e, True) for e in events],
                    "customer": customer_panel(_agent(), chat)})


@bp.route("/desk/chats/<id:chat_id>/stream")
@staff_only
def desk_chat_stream(chat_id):
    chat_id = _chat(chat_id).id
    load_agent = _load_agent(_agent().id)

    def load():
        agent = load_agent()
        return agent, chats.get_chat(agent, chat_id)

    return streams.chat_stream(load, chat_id, for_agent=True, after=streams.last_event_id(request))


@bp.route("/desk/chats/<id:chat_id>/accept", methods=["POST"])
@staff_only
def desk_accept(chat_id):
    return jsonify({"chat": chats.chat_json(chats.accept(_agent(), _chat(chat_id)), True)})


@bp.route("/desk/chats/<id:chat_id>/transfer", methods=["POST"])
@staff_only
def desk_transfer(chat_id):
    values = posted()
    chat = chats.transfer(_agent(), _chat(chat_id), to_agent=values.get("to_agent") or None,
                          to_department=values.get("to_department") or None)
    return jsonify({"chat": chats.chat_json(chat, True)})


@bp.route("/desk/chats/<id:chat_id>/messages", methods=["POST"])
@staff_only
def desk_message(chat_id):
    event = chats.post_message(_agent(), _chat(chat_id), body=text(posted(), "body"), attachments=uploaded_files())
    return jsonify(chats.event_json(event, True)), 201


@bp.route("/desk/chats/<id:chat_id>/notes", methods=["POST"])
@staff_only
def desk_note(chat_id):
    event = chats.add_note(_agent(), _chat(chat_id), body=text(posted(), "body"))
    return jsonify(chats.event_json(event, True)), 201


@bp.route("/desk/chats/<id:chat_id>/typing", methods=["POST"])
@staff_only
def desk_typing(chat_id):
    chats.typing(_agent(), _chat(chat_id))
    return "", 204


@bp.route("/desk/chats/<id:chat_id>/read", methods=["POST"])
@staff_only
def desk_read(chat_id):
    return jsonify({"upto": chats.mark_read(_agent(), _chat(chat_id), posted().get("upto"))})


@bp.route("/desk/chats/<id:chat_id>/end", methods=["POST"])
@staff_only
def desk_end(chat_id):
    return jsonify({"chat": chats.chat_json(chats.end_chat(_agent(), _chat(chat_id)), True)})


@bp.route("/desk/chats/<id:chat_id>/convert", methods=["POST"])
@staff_only
def desk_convert(chat_id):
    ticket = chats.convert_to_ticket(_agent(), _chat(chat_id), subject=text(posted(), "subject"))
    return jsonify({"ticket": {"id": ticket.id, "number": ticket.number,
                               "url": url_for("desk_tickets.show", number=ticket.number)}})


@bp.route("/desk/attachments/<id:attachment_id>")
@staff_only
def desk_attachment(attachment_id):
    return attachment_download(_agent(), attachment_id, for_agent=True)


# --------------------------------------------------------------------------- the customer beside the chat

def _chat_customer(chat):
    """The customer behind the chat: the logged-in one, or the customer a guest's address belongs to."""
    if chat.customer is not None:
        return chat.customer
    try:
        email = accounts.normalise_email(chat.email or "")
    except ValueError:
        return None
    found = accounts.users_by_email([email]).get(email)
    return found if found is not None and found.is_customer else None


def customer_panel(agent, chat) -> dict:
    """The customer's latest tickets, and the services and devices of their accounts (as far as there are any)."""
    customer = _chat_customer(chat)
    if customer is None:
        return {"tickets": [], "services": []}
    tickets = db.session.scalars(  # only those the agent may open (the tickets' department rule)
        ticket_access.visible_tickets(agent).where(Ticket.requester_id == customer.id)
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(OTHER_TICKETS)).all()
    return {
        "tickets": [{"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
                     "status_label": str(STATUSES.get(t.status, t.status)),
                     "url": url_for("desk_tickets.show", number=t.number)} for t in tickets],
        "services": _services(agent, customer),
    }


def _services(agent, customer) -> list[dict]:
    language = str(get_locale())
    found = []
    for membership in memberships.memberships_of(customer):
        billing_id = db.session.scalar(sa.select(BillingAccount.id)
                                       .where(BillingAccount.customer_account_id == membership.account_id))
        if billing_id is not None:
            for service in billing_services.services_of(agent, billing_id,
                                                        statuses=(SERVICE_ACTIVE, SERVICE_SUSPENDED)):
                found.append({"kind": "service", "name": billing_services.service_name(service, language),
                              "status": str(SERVICE_STATUS_LABELS.get(service.status, service.status))})
        for device in devices.devices_of(agent, membership.account_id):
            name = " ".join(part for part in (device.device_type.label, device.serial_number) if part)
            found.append({"kind": "device", "name": name, "status": str(status_of(device).label)})
    return found
