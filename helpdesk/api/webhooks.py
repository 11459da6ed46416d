"""Webhooks in the API (issue 20): the endpoints of the desk (admins) or of a customer account (its owners), their
signing secrets (shown once: at creation and at rotation), the delivery log with the receiver's last answer,
redelivery and a test event. Scope webhooks:manage; who may do what is the webhooks service's to say."""
from marshmallow import Schema, fields, validate

from helpdesk.accounts.memberships import acting_account_id
from helpdesk.api.core import (
    NOT_MODIFIED,
    PageArgs,
    actor,
    check_if_match,
    keyset_page,
    new_blueprint,
    page_schema,
    problem_answers,
    scoped,
    with_etag,
)
from helpdesk.events import KINDS
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.webhooks import service
from helpdesk.webhooks.models import DISABLED_REASONS, STATUS_LABELS, WebhookDelivery, WebhookEndpoint

bp = new_blueprint("webhooks", __name__, _l("Webhook endpoints, their signing secrets and their delivery logs."))
SCOPE = "webhooks:manage"


class EndpointSchema(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(allow_none=True, required=True,
                                metadata={"description": "The customer account whose events it hears; null: "
                                                         "desk-wide (every event)"})
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(metadata={"enum": list(KINDS)}), required=True)
    allow_private = fields.Boolean(required=True, metadata={"description": "May reach private network addresses "
                                                                           "(set by admins)"})
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True,
                                    metadata={"enum": [*DISABLED_REASONS, None],
                                              "description": "Why the helpdesk disabled it (null: it did not)"})
    failing_since = fields.DateTime(allow_none=True, required=True,
                                    metadata={"description": "The first failed attempt since the last success"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class NewEndpointSchema(EndpointSchema):
    secret = fields.String(attribute="secret_once", required=True,
                           metadata={"description": "The signing secret (whsec_...), shown only now"})


class SecretSchema(Schema):
    secret = fields.String(required=True, metadata={"description": "The new signing secret, shown only now"})


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    endpoint_id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The webhook-id header; the same for every "
                                                                     "redelivery of the event"})
    kind = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUS_LABELS)})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(attribute="retry_at", allow_none=True, required=True,
                                      metadata={"description": "When it is tried again (null: it will not be)"})
    last_status_code = fields.Integer(allow_none=True, required=True)
    last_response = fields.String(allow_none=True, required=True,
                                  metadata={"description": "The first 2 KB of the receiver's last answer"})
    last_error = fields.String(allow_none=True, required=True)
    payload = fields.Dict(required=True, metadata={"description": "The body sent"})
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)


EndpointPage = page_schema(EndpointSchema, "WebhookEndpointPage")
DeliveryPage = page_schema(DeliverySchema, "WebhookDeliveryPage")


class EndpointListArgs(PageArgs):
    account_id = fields.Integer(metadata={"description": "A customer account's endpoints; without it an admin gets "
                                                         "the desk-wide ones, a customer their account's"})


class EndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(max=service.MAX_URL))
    events = fields.List(fields.String(validate=validate.OneOf(KINDS)), required=True)
    description = fields.String(load_default="", validate=validate.Length(max=service.MAX_DESCRIPTION))
    account_id = fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "null or absent: desk-wide (admins only)"})
    allow_private = fields.Boolean(load_default=False, metadata={"description": "Admins only"})


class EndpointPatchSchema(Schema):
    url = fields.String(validate=validate.Length(max=service.MAX_URL))
    events = fields.List(fields.String(validate=validate.OneOf(KINDS)))
    description = fields.String(validate=validate.Length(max=service.MAX_DESCRIPTION))
    enabled = fields.Boolean(metadata={"description": "true again sends what waited while it was disabled"})
    allow_private = fields.Boolean(metadata={"description": "Admins only"})


def endpoint_of(endpoint: WebhookEndpoint) -> dict:
    """The endpoint as the API shows it (dumped: for ETags and tagged answers)."""
    return EndpointSchema().dump(endpoint)


@bp.route("/webhooks")
@bp.arguments(EndpointListArgs, location="query")
@bp.response(200, EndpointPage)
@scoped(SCOPE)
def list_endpoints(args):
    """The desk-wide endpoints (admins) or a customer account's (its owners), newest first."""
    user = actor()
    account_id = args.get("account_id")
    if account_id is None and not user.is_admin:
        account_id = acting_account_id(user) or 0  # 0: none, so the service answers 404
    page = keyset_page(service.endpoints_select(user, account_id), WebhookEndpoint.id, after=args.get("after"),
                       before=args.get("before"), limit=args["limit"])
    return page


@bp.route("/webhooks", methods=["POST"])
@bp.arguments(EndpointCreateSchema)
@bp.response(201, NewEndpointSchema)
@scoped(SCOPE)
def create_endpoint(body):
    """Register an endpoint for the events listed; the answer holds its signing secret, shown this once. No
    Idempotency-Key: a kept answer would keep the secret. Only http(s) URLs on public addresses (unless an admin
    allows private ones): a refused URL is a 422 naming ``url``."""
    endpoint, secret = service.create_endpoint(actor(), url=body["url"], events=body["events"],
                                               description=body["description"], account_id=body["account_id"],
                                               allow_private=body["allow_private"])
    endpoint.secret_once = secret  # for the answer only; the row keeps it sealed
    return endpoint


@bp.route("/webhooks/<id:endpoint_id>")
@bp.response(200, EndpointSchema)
@bp.doc(responses=NOT_MODIFIED)
@scoped(SCOPE)
def read_endpoint(endpoint_id):
    """One endpoint (ETag)."""
    return with_etag(endpoint_of(service.get_endpoint(actor(), endpoint_id)))


@bp.route("/webhooks/<id:endpoint_id>", methods=["PATCH"])
@bp.arguments(EndpointPatchSchema)
@bp.response(200, EndpointSchema)
@bp.doc(responses=problem_answers(412))
@scoped(SCOPE)
def update_endpoint(body, endpoint_id):
    """Change the fields sent; enabling a disabled endpoint sends what waited. If-Match: 412 when it changed."""
    user = actor()
    check_if_match(endpoint_of(service.get_endpoint(user, endpoint_id)))
    return with_etag(endpoint_of(service.update_endpoint(user, endpoint_id, **body)))


@bp.route("/webhooks/<id:endpoint_id>", methods=["DELETE"])
@bp.response(204)
@scoped(SCOPE)
def delete_endpoint(endpoint_id):
    """Remove the endpoint and its delivery log."""
    service.delete_endpoint(actor(), endpoint_id)
    return "", 204


@bp.route("/webhooks/<id:endpoint_id>/rotate-secret", methods=["POST"])
@bp.response(200, SecretSchema)
@scoped(SCOPE)
def rotate_secret(endpoint_id):
    """A new signing secret, shown this once; the old one stops signing at once."""
    return {"secret": service.rotate_secret(actor(), endpoint_id)}


@bp.route("/webhooks/<id:endpoint_id>/deliveries")
@bp.arguments(PageArgs, location="query")
@bp.response(200, DeliveryPage)
@scoped(SCOPE)
def list_deliveries(args, endpoint_id):
    """The endpoint's delivery log, newest first, with the receiver's last answer."""
    page = keyset_page(service.deliveries_select(actor(), endpoint_id), WebhookDelivery.id,
                       after=args.get("after"), before=args.get("before"), limit=args["limit"])
    return page


@bp.route("/deliveries/<id:delivery_id>/redeliver", methods=["POST"])
@bp.response(202, DeliverySchema)
@scoped(SCOPE)
def redeliver(delivery_id):
    """Send the delivery's event again (a new delivery with the same event id); 422 while the endpoint is
    disabled."""
    return service.redeliver(actor(), delivery_id)


@bp.route("/webhooks/<id:endpoint_id>/test", methods=["POST"])
@bp.response(202, DeliverySchema)
@scoped(SCOPE)
def send_test(endpoint_id):
    """Send a "webhook.test" event to the endpoint; its delivery shows what the receiver answered."""
    return service.send_test(actor(), endpoint_id)
