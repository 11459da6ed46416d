"""Tickets through the API: the queue's list, a ticket, opening one, changing it (with If-Match), closing,
reopening, merging, its messages (replies, customer messages, internal notes) with attachments, its CCs, and
search. Every view calls the ticket service the web console and portal call, acting as the token's owner, so the
same people see and do the same things (customers their own tickets only; agents their departments').

Attachments travel with a reply or a note: send it as multipart/form-data with the fields of the JSON body and
the files in ``attachments`` (one part per file); GET /attachments/{id} downloads one."""

from flask import current_app, request, send_file, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.orm import selectinload

from helpdesk import storage
from helpdesk.api import ticket_schemas as schemas
from helpdesk.api.core import (
    ETAG_HEADER,
    IF_MATCH,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    actor,
    check_if_match,
    keyset_page,
    new_blueprint,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.api.idempotency import idempotent
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.search import index as search
from helpdesk.tickets import access, merge, queue, service
from helpdesk.tickets.models import Message
from helpdesk.uploads import clean_filename, is_program

bp = new_blueprint("tickets", __name__, _l("Tickets, their messages, attachments and copies, and ticket search."))

READ, WRITE = "tickets:read", "tickets:write"
# Attachments served with their own type; anything else is an opaque download (as the web door serves them).
SERVED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain")


def _tagged(ticket, status=200, headers=None):
    """The ticket's representation with its ETag (304 for a GET whose If-None-Match names it)."""
    return with_etag(schemas.TicketSchema().dump(ticket), status, headers)


def _in_query(error: ValidationFailed, renames=None) -> ValidationFailed:
    """A service's field errors about query parameters, named as the API names them."""
    error.errors = {(renames or {}).get(name, name): message for name, message in error.errors.items()}
    error.location = "query"
    return error


def _renamed(error: ValidationFailed, renames) -> ValidationFailed:
    error.errors = {renames.get(name, name): message for name, message in error.errors.items()}
    return error


# --------------------------------------------------------------------------- the queue and a ticket

@bp.route("/tickets")
@bp.arguments(schemas.TicketListArgs, location="query")
@bp.response(200, schemas.TicketPageSchema)
@scoped(READ)
def list_tickets(args):
    """The tickets the token's owner may see, as in the queue: a named view, filters and a sort, in keyset
    pages (?after=next_cursor / ?before=prev_cursor)."""
    after, before, limit = args.pop("after", None), args.pop("before", None), args.pop("limit")
    view, sort = args.pop("view"), args.pop("sort")
    try:
        found = queue.page(actor(), view, sort=sort, after=after, before=before, per_page=limit, **args)
    except ValidationFailed as exc:
        raise _in_query(exc, {"cursor": "before" if before and not after else "after"}) from None
    return {"items": found.tickets, "next_cursor": found.next_cursor, "prev_cursor": found.prev_cursor}


@bp.route("/tickets/<id:number>")
@bp.response(200, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.doc(responses=NOT_MODIFIED)
@bp.doc(parameters=[IF_NONE_MATCH])
@scoped(READ)
def read_ticket(number):
    """One ticket, with its ETag."""
    return _tagged(access.get_ticket(actor(), number))


@bp.route("/tickets", methods=["POST"])
@idempotent
@bp.arguments(schemas.NewTicketSchema)
@bp.response(201, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.doc(responses=problem_answers(409))
@scoped(WRITE)
def open_ticket(data):
    """Open a ticket, as the web form does: customers for themselves, agents for ``requester_email``. The
    requester and CCs get the acknowledgement mail."""
    details = {name: value for name, value in data["details"].items() if value not in (None, "")}
    try:
        ticket = service.open_ticket(
            actor(), subject=data["subject"], body_text=data["body"], body_html=data.get("body_html"),
            requester_email=data.get("requester_email"), requester_name=data["requester_name"],
            department=data["department"], priority=data["priority"], cc=data["cc"], details=details or None,
            source="api")
    except ValidationFailed as exc:  # the details' fields are inside "details" in the request
        nested = {name: exc.errors.pop(name) for name in schemas.DETAIL_NAMES if name in exc.errors}
        if nested:
            exc.errors["details"] = nested
        raise
    return _tagged(ticket, 201, {"Location": url_for("api_tickets.read_ticket", number=ticket.number)})


@bp.route("/tickets/<id:number>", methods=["PATCH"])
@bp.arguments(schemas.TicketChangeSchema)
@bp.response(200, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.alt_response(409, description="The change clashes with the ticket's state.")
@bp.alt_response(412, description="If-Match no longer names the ticket: read it again.")
@bp.doc(parameters=[IF_MATCH])
@scoped(WRITE)
def update_ticket(data, number):
    """Change subject, priority, department, status or assignee (only those sent). Send the ETag you read in
    If-Match: if someone changed the ticket since, the answer is 412 and nothing changes."""
    who = actor()
    ticket = access.get_ticket(who, number, for_update=True)  # held until the change commits
    check_if_match(schemas.TicketSchema().dump(ticket))
    return _tagged(service.update_ticket(who, ticket, **data))


def _state_change(number, change):
    who = actor()
    return _tagged(change(who, access.get_ticket(who, number)))


@bp.route("/tickets/<id:number>/close", methods=["POST"])
@bp.response(200, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.alt_response(409, description="The ticket is closed already.")
@scoped(WRITE)
def close_ticket(number):
    """Close the ticket (its requester, a customer in copy, or an agent)."""
    return _state_change(number, service.close)


@bp.route("/tickets/<id:number>/reopen", methods=["POST"])
@bp.response(200, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.alt_response(409, description="The ticket is not closed.")
@scoped(WRITE)
def reopen_ticket(number):
    """Reopen a closed ticket."""
    return _state_change(number, service.reopen)


@bp.route("/tickets/<id:number>/merge", methods=["POST"])
@bp.arguments(schemas.MergeSchema)
@bp.response(200, schemas.TicketSchema, headers=ETAG_HEADER)
@bp.alt_response(409, description="This ticket was merged already.")
@scoped(WRITE)
def merge_ticket(data, number):
    """Merge this ticket into the ticket ``into`` (agents who may change both); answers the ticket merged into."""
    who = actor()
    source = access.get_ticket(who, number)
    try:
        target = access.get_ticket(who, data["into"])
    except NotFound:
        raise ValidationFailed({"into": _("There is no ticket with this number that you can see.")}) from None
    try:
        return _tagged(merge.merge_ticket(who, source, target))
    except ValidationFailed as exc:
        raise _renamed(exc, {"target": "into"}) from None


# --------------------------------------------------------------------------- messages and attachments

@bp.route("/tickets/<id:number>/messages")
@bp.arguments(schemas.ListArgs, location="query")
@bp.response(200, schemas.MessagePageSchema)
@scoped(READ)
def list_messages(args, number):
    """The ticket's messages, newest first, in keyset pages; internal notes for agents only."""
    who = actor()
    query = access.visible_messages(who, access.get_ticket(who, number)).options(selectinload(Message.attachments))
    return keyset_page(query, Message.id, after=args.get("after"), before=args.get("before"), limit=args["limit"])


def _read_files(errors, uploads):
    """The uploaded files as the store takes them; every unusable one gets its own error."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    blocked = current_app.config["PORTAL_BLOCKED_EXTENSIONS"]
    files, problems = [], {}
    for position, upload in enumerate(uploads):
        name = clean_filename(upload.filename)
        data = upload.read()
        if is_program(name, data, blocked):
            problems[position] = [_("%(name)s: programs and scripts cannot be attached.", name=name)]
        elif not data:
            problems[position] = [_("%(name)s is empty.", name=name)]
        elif len(data) > limit:
            problems[position] = [_("%(name)s is larger than the limit of %(size)s MB.", name=name,
                                    size=limit // (1024 * 1024))]
        else:
            files.append(service.NewAttachment(name, upload.mimetype or "application/octet-stream", data))
    if problems:
        errors["attachments"] = problems
    return files


def _message_input(schema_cls):
    """The fields of a reply or note (JSON, or multipart/form-data with files) and its files; ValidationFailed
    listing every bad field and file at once."""
    errors, uploads = {}, []
    if request.mimetype == "multipart/form-data":
        raw = {name: request.form.get(name) for name in request.form}
        if "cc" in request.form:
            raw["cc"] = request.form.getlist("cc")
        uploads = request.files.getlist("attachments")
        unknown = set(request.files) - {"attachments"}
        if unknown:
            errors.update({name: [_("Send files in the attachments field.")] for name in sorted(unknown)})
    else:
        raw = request.get_json(silent=True)
        if not isinstance(raw, dict):
            raise ValidationFailed({"": _("Send a JSON object, or multipart/form-data.")})
    try:
        data = schema_cls().load(raw)
    except ValidationError as exc:
        errors.update(exc.messages)
        data = {}
    files = _read_files(errors, uploads)
    if errors:
        raise ValidationFailed(errors)
    return data, files


def _customer_fields_only(data):
    agent_only = [name for name in ("status", "seen_up_to") if name in data]
    if agent_only:
        raise ValidationFailed({name: _("Only agents set this.") for name in agent_only})


@bp.route("/tickets/<id:number>/replies", methods=["POST"])
@idempotent
@bp.doc(requestBody=schemas.multipart_body(schemas.ReplySchema, "A reply, as JSON or with files as "
                                                                 "multipart/form-data"))
@bp.response(201, schemas.MessageSchema)
@bp.alt_response(409, description="The ticket was merged, or (seen_up_to) newer messages arrived, or the first "
                                   "request with this Idempotency-Key is still being answered.")
@scoped(WRITE)
def add_reply(number):
    """Reply on the ticket: an agent's reply is emailed to the requester and every CC (and sets the status);
    a customer's message reopens an answered or closed ticket."""
    who = actor()
    ticket = access.get_ticket(who, number)
    data, files = _message_input(schemas.ReplySchema)
    if who.is_agent:
        if data["cc"]:
            raise ValidationFailed({"cc": _("Agents add copies through the ticket's cc list.")})
        extra = {name: data[name] for name in ("status", "seen_up_to") if name in data}
        message = service.add_agent_reply(who, ticket, body_text=data["body"], body_html=data.get("body_html"),
                                          attachments=files, source="api", **extra)
    else:
        _customer_fields_only(data)
        message = service.add_customer_message(who, ticket, body_text=data["body"],
                                               body_html=data.get("body_html"), attachments=files, source="api",
                                               cc=data["cc"])
    return message, 201


@bp.route("/tickets/<id:number>/notes", methods=["POST"])
@idempotent
@bp.doc(requestBody=schemas.multipart_body(schemas.NoteSchema, "An internal note, as JSON or with files as "
                                                                "multipart/form-data"))
@bp.response(201, schemas.MessageSchema)
@bp.doc(responses=problem_answers(409))
@scoped(WRITE)
def add_note(number):
    """An internal note (agents): never emailed, never shown to customers."""
    who = actor()
    ticket = access.get_ticket(who, number)
    data, files = _message_input(schemas.NoteSchema)
    return service.add_internal_note(who, ticket, body_text=data["body"], body_html=data.get("body_html"),
                                     attachments=files, source="api"), 201


@bp.route("/attachments/<id:attachment_id>")
@bp.doc(responses={"200": {"description": "The file (Content-Disposition names it)", "content": {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("application/octet-stream", *SERVED_TYPES)}}})
@scoped(READ)
def download_attachment(attachment_id):
    """Download an attachment of a message the token's owner may read."""
    found = access.get_attachment(actor(), attachment_id)
    content_type = found.content_type.split(";")[0].strip().lower()
    if content_type not in SERVED_TYPES:
        content_type = "application/octet-stream"
    try:
        data = storage.open(found.sha256)
    except (OSError, ValueError):
        raise NotFound() from None
    response = send_file(data, mimetype=content_type, as_attachment=True,
                         download_name=clean_filename(found.filename, default="download"), etag=False,
                         conditional=False, max_age=None)
    response.content_length = data.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- copies (CC)

def _participants(ticket):
    return {"items": list(ticket.participants)}


@bp.route("/tickets/<id:number>/cc")
@bp.response(200, schemas.TicketParticipantListSchema)
@scoped(READ)
def list_cc(number):
    """The ticket's people: its requester and everyone in copy."""
    return _participants(access.get_ticket(actor(), number))


@bp.route("/tickets/<id:number>/cc", methods=["POST"])
@bp.arguments(schemas.CcArgs)
@bp.response(201, schemas.TicketParticipantListSchema)
@scoped(WRITE)
def add_cc(data, number):
    """Add addresses in copy (they receive later replies); answers the ticket's people."""
    who = actor()
    ticket = access.get_ticket(who, number)
    try:
        service.add_participants(who, ticket, data["emails"])
    except ValidationFailed as exc:
        raise _renamed(exc, {"cc": "emails"}) from None
    return _participants(ticket), 201


@bp.route("/tickets/<id:number>/cc", methods=["DELETE"])
@bp.arguments(schemas.CcRemoveArgs, location="query")
@bp.response(204)
@scoped(WRITE)
def remove_cc(args, number):
    """Take an address out of copy (never the requester)."""
    who = actor()
    ticket = access.get_ticket(who, number)
    try:
        service.remove_participant(who, ticket, args["email"])
    except ValidationFailed as exc:
        raise _in_query(exc, {"cc": "email"}) from None
    return None


# --------------------------------------------------------------------------- search

@bp.route("/search")
@bp.arguments(schemas.SearchArgs, location="query")
@bp.response(200, schemas.SearchResultSchema)
@scoped(READ)
def search_tickets(args):
    """Tickets matching the words of ``q`` that the token's owner may see, best first, with snippets (internal
    notes are searched for agents only)."""
    hits = search.search_tickets(actor(), args["q"], status=args.get("status"),
                                 department=args.get("department"), assignee=args.get("assignee"),
                                 limit=args["limit"])
    return {"items": [{"ticket": hit.ticket, "highlights": hit.highlights} for hit in hits], "total": hits.total}
