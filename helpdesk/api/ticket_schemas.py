"""The shapes of the tickets API (helpdesk/api/tickets.py): what a client sends and what it gets back."""
from flask import request, url_for
from marshmallow import Schema, fields, validate

from helpdesk.api.core import PREFIX, PageArgs, page_schema
from helpdesk.tickets.models import AGENT_REPLY, CUSTOMER_MESSAGE, INTERNAL_NOTE, PRIORITIES, STATUSES
from helpdesk.tickets.queue import SORTS, VIEWS

# A message's kind as the API names it.
KINDS = {AGENT_REPLY: "reply", INTERNAL_NOTE: "note", CUSTOMER_MESSAGE: "customer"}
DETAIL_NAMES = ("reference", "server_ip", "problem_started", "problem_timezone", "diagnostics", "service",
                "company_name", "customer_number", "device")


# --------------------------------------------------------------------------- representations

class TicketDepartmentSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class TicketAgentSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(attribute="display_name", required=True)


class TicketRequesterSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.Function(lambda user: user.full_name or user.email, required=True, metadata={"type": "string"})
    email = fields.String(required=True)


def _links(ticket) -> dict:
    """Where the ticket, its messages and its CCs are (built as strings: url_for three times per ticket was a
    quarter of a list page's time)."""
    base = f"{request.script_root}{PREFIX}/tickets/{ticket.number}"
    return {"self": base, "messages": f"{base}/messages", "cc": f"{base}/cc"}


_LINKS = {"type": "object", "required": ["self", "messages", "cc"],
          "properties": {name: {"type": "string"} for name in ("self", "messages", "cc")}}


class TicketSchema(Schema):
    number = fields.Integer(required=True)
    subject = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    priority = fields.String(required=True, metadata={"enum": list(PRIORITIES)})
    department = fields.Nested(TicketDepartmentSchema, allow_none=True, required=True)
    requester = fields.Nested(TicketRequesterSchema, required=True)
    assignee = fields.Nested(TicketAgentSchema, allow_none=True, required=True)
    source = fields.String(required=True)
    merged_into = fields.Function(lambda t: t.merged_into.number if t.merged_into else None, allow_none=True,
                                  required=True, metadata={"type": "integer",
                                                           "description": "The ticket this one was merged into"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    last_activity_at = fields.DateTime(required=True)
    first_response_at = fields.DateTime(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    links = fields.Function(_links, required=True, metadata=_LINKS)


TicketPageSchema = page_schema(TicketSchema, "TicketPage")


class MessageAttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    content_type = fields.String(required=True)
    url = fields.Function(lambda a: url_for("api_tickets.download_attachment", attachment_id=a.id),
                          required=True, metadata={"type": "string"})


def _author(message):
    """Who wrote it: the customer side with their address; agents by name only (their address is not the
    desk's to hand out, as the web thread shows them)."""
    email = message.author_email if message.kind == CUSTOMER_MESSAGE else None
    return {"id": message.author_id, "name": message.author_name, "email": email}


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.Function(lambda m: KINDS[m.kind], required=True, metadata={"enum": list(KINDS.values())})
    author = fields.Function(_author, required=True, metadata={
        "type": "object", "description": "{id, name, email}: id null for mail from outside, email null for agents"})
    body_text = fields.String(required=True)
    body_html = fields.String(required=True, metadata={"description": "Sanitised HTML, as stored"})
    created_at = fields.DateTime(required=True)
    attachments = fields.List(fields.Nested(MessageAttachmentSchema), required=True)


MessagePageSchema = page_schema(MessageSchema, "MessagePage")


class TicketParticipantSchema(Schema):
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["requester", "cc"]})


class TicketParticipantListSchema(Schema):
    items = fields.List(fields.Nested(TicketParticipantSchema), required=True)


class SearchHitSchema(Schema):
    ticket = fields.Nested(TicketSchema, required=True)
    highlights = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                             metadata={"description": "Matching snippets by field (HTML, escaped, <b> marks)"})


class SearchResultSchema(Schema):
    items = fields.List(fields.Nested(SearchHitSchema), required=True)
    total = fields.Integer(required=True, metadata={"description": "How many tickets matched in all"})


# --------------------------------------------------------------------------- what clients send

class ListArgs(PageArgs):
    limit = fields.Integer(load_default=25, validate=validate.Range(1, 100),
                           metadata={"description": "Items per page, 1 to 100"})


class TicketListArgs(ListArgs):
    view = fields.String(load_default="open", validate=validate.OneOf(list(VIEWS)),
                         metadata={"description": "A named view of the queue (customers: open or closed)"})
    sort = fields.String(load_default="activity", validate=validate.OneOf(list(SORTS)))
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    priority = fields.String(validate=validate.OneOf(list(PRIORITIES)))
    department = fields.String(metadata={"description": "A department id, or none"})
    assignee = fields.String(metadata={"description": "An agent's id, or none"})
    server_ip = fields.String(metadata={"description": "An address given with the ticket, or any"})
    reference = fields.String(metadata={"description": "The start of an order or service reference"})


class DetailsSchema(Schema):
    """Facts given with a new ticket, as the web form takes them (the service checks each)."""

    reference = fields.String()
    server_ip = fields.String()
    problem_started = fields.DateTime(metadata={"description": "With an offset, or with problem_timezone"})
    problem_timezone = fields.String()
    diagnostics = fields.String()
    service = fields.String(metadata={"description": "The reference of one of the requester's services"})
    company_name = fields.String()
    customer_number = fields.String()
    device = fields.String(metadata={"description": "The reference of one of the requester's devices"})


class NewTicketSchema(Schema):
    subject = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "The first message, as text"})
    body_html = fields.String(metadata={"description": "The first message as HTML (sanitised by the store)"})
    priority = fields.String(load_default="normal", metadata={"enum": list(PRIORITIES)})
    department = fields.Integer(allow_none=True, load_default=None)
    requester_email = fields.String(metadata={"description": "Agents: who the ticket is for (customers open "
                                                             "tickets for themselves)"})
    requester_name = fields.String(load_default="")
    cc = fields.List(fields.String(), load_default=list)
    details = fields.Nested(DetailsSchema, load_default=dict)


class TicketChangeSchema(Schema):
    subject = fields.String()
    priority = fields.String()
    department = fields.Integer(allow_none=True)
    status = fields.String()
    assignee = fields.Integer(allow_none=True, metadata={"description": "An agent's id; null unassigns"})


class MergeSchema(Schema):
    into = fields.Integer(required=True, metadata={"description": "The number of the ticket to merge into"})


class ReplySchema(Schema):
    body = fields.String(required=True)
    body_html = fields.String()
    status = fields.String(metadata={"description": "Agents: the status after the reply (default answered)"})
    seen_up_to = fields.Integer(metadata={"description": "Agents: the newest message id seen; 409 when a newer "
                                                         "one arrived"})
    cc = fields.List(fields.String(), load_default=list, metadata={"description": "Customers: addresses to add "
                                                                                  "in copy"})


class NoteSchema(Schema):
    body = fields.String(required=True)
    body_html = fields.String()


class CcArgs(Schema):
    emails = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class CcRemoveArgs(Schema):
    email = fields.String(required=True)


_ID_OR_NONE = r"^(none|[1-9][0-9]{0,8})$"


class SearchArgs(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=500))
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    department = fields.String(validate=validate.Regexp(_ID_OR_NONE),
                               metadata={"description": "A department id, or none"})
    assignee = fields.String(validate=validate.Regexp(_ID_OR_NONE), metadata={"description": "An agent's id, or none"})
    limit = fields.Integer(load_default=25, validate=validate.Range(1, 50))


def multipart_body(schema_cls, description):
    """The request body of an operation that takes ``schema_cls`` as JSON, or the same fields as
    multipart/form-data with files in ``attachments``."""
    fields_ = set(schema_cls._declared_fields)
    form = {"type": "object", "properties": {
        "body": {"type": "string"}, "body_html": {"type": "string"}, "status": {"type": "string"},
        "seen_up_to": {"type": "integer"}, "cc": {"type": "array", "items": {"type": "string"}},
        "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        "required": ["body"]}
    form["properties"] = {name: value for name, value in form["properties"].items()
                          if name in fields_ or name == "attachments"}
    as_json = dict(form, properties={k: v for k, v in form["properties"].items() if k != "attachments"})
    return {"description": description, "required": True,
            "content": {"application/json": {"schema": as_json}, "multipart/form-data": {"schema": form}}}
