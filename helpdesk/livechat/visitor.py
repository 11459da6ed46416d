"""The visitor's endpoints: the chat panel on the portal and the snippet embedded on other websites.

A visitor is known by the chat's key (header X-Chat-Key, given once by /chat/start), never by cookies: so these
endpoints are exempt from the session's CSRF check and work from the websites in CHAT_ALLOWED_ORIGINS. EventSource
and a download link cannot send a header: the stream and the attachments also take the key as ?key=. The one
use of the session is starting (or leaving a ticket) as the logged-in customer, which then needs the CSRF token
(header X-CSRFToken); a guest needs no session at all."""

import sqlalchemy as sa
from flask import jsonify, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from helpdesk import storage
from helpdesk.actors import GUEST_FORM
from helpdesk.chat import service as chats
from helpdesk.chat.models import NOTE, Chat, ChatAttachment
from helpdesk.db import parse_id
from helpdesk.errors import NotFound
from helpdesk.extensions import db, limiter
from helpdesk.livechat import cors, streams
from helpdesk.livechat.blueprint import bp, posted, text
from helpdesk.livechat.errors import json_error
from helpdesk.tickets.models import Department

# Like the portal's ticket form (a guest's start writes a chat and mails nobody; a ticket mails its acknowledgement).
START_RATE_LIMIT = "20 per minute"
# Served with their own type; anything else is an opaque download (a chat file is never rendered by the desk).
SAFE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"})

VISITOR_VIEWS = []  # CSRF-exempt (__init__.py), CORS for the allowed websites (cors.py)
VISITOR_ENDPOINTS = set()


def visitor_endpoint(view):
    VISITOR_VIEWS.append(view)
    VISITOR_ENDPOINTS.add(f"{bp.name}.{view.__name__}")
    return view


@bp.before_request
def _refuse_other_websites():
    if request.endpoint in VISITOR_ENDPOINTS and cors.origin_refused():
        return json_error(403, _("You are not allowed to do that."))  # a website not on the list
    return None


@bp.after_request
def _cross_origin_headers(response):
    if request.endpoint in VISITOR_ENDPOINTS:
        cors.add_headers(response)
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def visitor() -> chats.Visitor:
    """The visitor the request's chat key stands for (NotFound without a valid one). The key is taken from the
    X-Chat-Key header only, never from the URL, where access logs and proxies would keep it: the widget reads
    its stream with fetch() and downloads files as blobs, both of which send the header."""
    return chats.visitor_for_key(request.headers.get("X-Chat-Key"))


def logged_in_customer():
    return current_user._get_current_object() if current_user.is_authenticated and current_user.is_customer \
        else None


def _require_csrf(values):
    """The logged-in customer's own session is acting: the same CSRF check as the session's other forms."""
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or text(values, "csrf_token"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0] if exc.args else None) from None


def _acting(values):
    """The logged-in customer (after the CSRF check) or the guest form."""
    customer = logged_in_customer()
    if customer is None:
        return GUEST_FORM
    _require_csrf(values)
    return customer


# --------------------------------------------------------------------------- before a chat

@bp.route("/status")
@visitor_endpoint
def status():
    """What the panel shows before a chat: open or not, agents online, the departments, the customer."""
    from flask_wtf.csrf import generate_csrf

    department_id = parse_id(request.args.get("department", ""))
    customer = logged_in_customer()
    departments = db.session.execute(sa.select(Department.id, Department.name).order_by(Department.name)).all()
    return jsonify({
        **chats.desk_status(department=department_id),
        "departments": [{"id": row.id, "name": row.name} for row in departments],
        "customer": {"name": customer.display_name, "email": customer.email} if customer is not None else None,
        "csrf_token": generate_csrf(),
    })


@bp.route("/start", methods=["POST"])
@limiter.limit(START_RATE_LIMIT, methods=["POST"])
@visitor_endpoint
def start():
    values = posted()
    chat, key = chats.start_chat(
        _acting(values), name=text(values, "name"), email=text(values, "email"),
        department=text(values, "department") or None, message=text(values, "message"),
        origin=text(values, "origin") or request.headers.get("Referer", ""), language=str(get_locale()))
    return jsonify({"chat": chats.chat_json(chat, False), "key": key}), 201


@bp.route("/ticket", methods=["POST"])
@limiter.limit(START_RATE_LIMIT, methods=["POST"])
@visitor_endpoint
def leave_ticket():
    """Out of hours, or nobody answered: the message becomes a ticket under the ticket form's rules."""
    values = posted()
    ticket = chats.leave_ticket(_acting(values), name=text(values, "name"), email=text(values, "email"),
                                subject=text(values, "subject"), body=text(values, "body"),
                                department=text(values, "department") or None,
                                privacy=values.get("privacy") in (True, "yes", "on", "true", "1"))
    return jsonify({"number": ticket.number}), 201


# --------------------------------------------------------------------------- the chat

@bp.route("/visitor")
@visitor_endpoint
def transcript():
    """The chat and every event the visitor may see: the panel after a reload."""
    person = visitor()
    return jsonify({"chat": chats.chat_json(person.chat, False),
                    "events": [chats.event_json(event, False) for event in _all_events(person, person.chat)]})


def _all_events(actor, chat):
    events, after = [], 0
    while True:
        batch = chats.events_for(actor, chat, after_id=after)
        events += batch
        if len(batch) < chats.EVENTS_MAX:
            return events
        after = batch[-1].id


@bp.route("/visitor/stream")
@visitor_endpoint
def stream():
    chat_id = visitor().chat.id

    def load():
        chat = db.session.get(Chat, chat_id)
        if chat is None:
            raise NotFound()
        return chats.Visitor(chat), chat

    return streams.chat_stream(load, chat_id, for_agent=False, after=streams.last_event_id(request))


def uploaded_files():
    """The files of a multipart post as (filename, content_type, bytes); the service checks them."""
    return [(upload.filename, upload.mimetype or "application/octet-stream", upload.read())
            for upload in request.files.getlist("file") + request.files.getlist("files") if upload.filename]


@bp.route("/visitor/messages", methods=["POST"])
@visitor_endpoint
def post_message():
    person = visitor()
    event = chats.post_message(person, person.chat, body=text(posted(), "body"), attachments=uploaded_files())
    return jsonify(chats.event_json(event, False)), 201


@bp.route("/visitor/typing", methods=["POST"])
@visitor_endpoint
def typing():
    person = visitor()
    chats.typing(person, person.chat)
    return "", 204


@bp.route("/visitor/read", methods=["POST"])
@visitor_endpoint
def read():
    person = visitor()
    return jsonify({"upto": chats.mark_read(person, person.chat, posted().get("upto"))})


@bp.route("/visitor/end", methods=["POST"])
@visitor_endpoint
def end():
    person = visitor()
    return jsonify({"chat": chats.chat_json(chats.end_chat(person, person.chat), False)})


@bp.route("/visitor/rating", methods=["POST"])
@visitor_endpoint
def rating():
    person, values = visitor(), posted()
    chat = chats.rate(person, person.chat, text(values, "rating"), text(values, "comment"))
    return jsonify({"chat": chats.chat_json(chat, False)})


@bp.route("/visitor/transcript", methods=["POST"])
@visitor_endpoint
def send_transcript():
    person = visitor()
    return jsonify({"sent": bool(chats.send_transcript(person, person.chat))})


@bp.route("/visitor/attachments/<id:attachment_id>")
@visitor_endpoint
def attachment(attachment_id):
    return attachment_download(visitor(), attachment_id, for_agent=False)


def attachment_download(actor, attachment_id, *, for_agent: bool):
    """A chat's file as a download, for a reader of its chat (a visitor never gets a note's file)."""
    found = db.session.get(ChatAttachment, attachment_id)
    if found is None or (found.event.kind == NOTE and not for_agent):
        raise NotFound()
    chats.get_chat(actor, found.event.chat_id)  # NotFound for a visitor of another chat
    try:
        data = storage.open(found.sha256)
    except (OSError, ValueError):
        raise NotFound() from None
    content_type = found.content_type.split(";")[0].strip().lower()
    response = send_file(data, mimetype=content_type if content_type in SAFE_TYPES
                         else "application/octet-stream", as_attachment=True, download_name=found.filename,
                         max_age=0, conditional=False)
    response.content_length = data.size
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
