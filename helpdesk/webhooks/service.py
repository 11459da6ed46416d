"""The webhooks' operations for every door (the console, the portal, the API): endpoints registered by admins
(desk-wide: they hear every event) and by the owners of a customer account (they hear that account's events),
their secrets, their delivery log, redelivery and a test ping. Each call takes the acting person first, checks
what they may do, audits the change and commits once.

Who may do what: admins manage desk-wide endpoints and may look after any account's; the owners of a customer
account manage its endpoints; another member of the account gets NotAllowed, anyone else NotFound. Only admins may
let an endpoint reach private networks (``allow_private``)."""
import base64
import secrets as random_secrets

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk import events as domain_events
from helpdesk.accounts.memberships import membership
from helpdesk.db import commit_service_call, parse_id, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.webhooks import addresses, delivery, signing
from helpdesk.webhooks.models import WAITING, WebhookDelivery, WebhookEndpoint

EVENT_LABELS = {
    "ticket.created": _l("Ticket created"),
    "ticket.updated": _l("Ticket updated"),
    "ticket.closed": _l("Ticket closed"),
    "message.added": _l("Message added to a ticket"),
    "invoice.finalised": _l("Invoice finalised"),
    "payment.recorded": _l("Payment recorded"),
    "service.status_changed": _l("Service status changed"),
    "device.status_changed": _l("Device status changed"),
}
assert set(EVENT_LABELS) == set(domain_events.KINDS), "every event kind needs a label"

SECRET_PREFIX = signing.PREFIX
SECRET_BYTES = 32
MAX_URL, MAX_DESCRIPTION = 2000, 500
MAX_PAGE = 200


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()


# --------------------------------------------------------------------------- who may

def _is_admin(actor) -> bool:
    return bool(getattr(actor, "is_admin", False))


def _check_account(actor, account_id) -> None:
    """NotFound unless ``actor`` is an admin or a member of ``account_id``; NotAllowed for a member who does not
    own it."""
    if _is_admin(actor):
        return
    if account_id is None:
        raise NotAllowed()
    found = membership(actor, account_id)
    if found is None:
        raise NotFound()
    if not found.is_owner:
        raise NotAllowed()


def _endpoint(actor, endpoint_id, *, lock=False) -> WebhookEndpoint:
    endpoint_id = parse_id(endpoint_id)
    query = sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    endpoint = db.session.scalar(query.with_for_update() if lock else query) if endpoint_id else None
    if endpoint is None:
        raise NotFound()
    if not _is_admin(actor):
        if endpoint.account_id is None:
            raise NotFound()
        _check_account(actor, endpoint.account_id)
    return endpoint


# --------------------------------------------------------------------------- secrets

def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: "whsec_" and the base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _place(endpoint_id: int) -> bytes:
    return f"webhook_endpoints|{endpoint_id}|secret".encode()


def _seal(endpoint: WebhookEndpoint, secret: str) -> None:
    from helpdesk.vault.keys import keyring

    if endpoint.id is None:
        db.session.flush()
    endpoint.secret = keyring().seal(secret, _place(endpoint.id))


def secret_of(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, opened (for the sender; never shown again, never logged)."""
    from helpdesk.vault.keys import keyring

    return keyring().open(endpoint.secret, _place(endpoint.id))


# --------------------------------------------------------------------------- checks

def _private_allowed(endpoint_allows: bool) -> bool:
    return bool(endpoint_allows or current_app.config.get("WEBHOOKS_ALLOW_PRIVATE_NETWORKS"))


def _check_fields(actor, errors: dict, *, url=UNSET, events_=UNSET, description=UNSET, allow_private=False):
    if url is not UNSET:
        url = (url or "").strip()
        if not url:
            errors["url"] = _l("Enter the URL that should receive the events.")
        elif len(url) > MAX_URL:
            errors["url"] = _l("The URL is too long.")
        else:
            try:
                addresses.check(url, allow_private=_private_allowed(allow_private))
            except addresses.UnsafeAddress as exc:
                errors["url"] = _l("This URL cannot receive webhooks: %(reason)s.", reason=exc.reason)
    if events_ is not UNSET:
        chosen = list(events_) if isinstance(events_, (list, tuple, set)) else None
        if not chosen:
            errors["events"] = _l("Choose at least one event.")
        elif any(kind not in domain_events.KINDS for kind in chosen):
            errors["events"] = _l("Choose events from the list.")
    if description is not UNSET and len(description or "") > MAX_DESCRIPTION:
        errors["description"] = _l("The description is too long.")
    if allow_private and not _is_admin(actor):
        errors["allow_private"] = _l("Only administrators may allow private network addresses.")


def _kinds(chosen) -> list[str]:
    return [kind for kind in domain_events.KINDS if kind in set(chosen)]


def _summary(endpoint: WebhookEndpoint) -> dict:
    """What the audit trail keeps of an endpoint: never its secret."""
    return {"url": endpoint.url, "events": list(endpoint.events or ()), "account": endpoint.account_id}


# --------------------------------------------------------------------------- reads

def endpoints_select(actor, account_id=None):
    """A select of the desk-wide endpoints (``account_id`` None, admins) or one account's, for a door that orders
    and pages them itself."""
    if account_id is None:
        if not _is_admin(actor):
            raise NotAllowed()
        return sa.select(WebhookEndpoint).where(WebhookEndpoint.account_id.is_(None))
    parsed = parse_id(account_id)
    if parsed is None:
        raise NotFound()
    _check_account(actor, parsed)
    return sa.select(WebhookEndpoint).where(WebhookEndpoint.account_id == parsed)


def endpoints_for(actor, account_id=None) -> list[WebhookEndpoint]:
    """The desk-wide endpoints (``account_id`` None, admins) or one account's, oldest first."""
    return list(db.session.scalars(endpoints_select(actor, account_id).order_by(WebhookEndpoint.id)))


def get_endpoint(actor, endpoint_id) -> WebhookEndpoint:
    return _endpoint(actor, endpoint_id)


def deliveries_select(actor, endpoint_id):
    """A select of the endpoint's delivery log, for a door that orders and pages it itself."""
    endpoint = _endpoint(actor, endpoint_id)
    return sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)


def deliveries(actor, endpoint_id, *, before_id=None, limit=50) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first (``before_id``: the page after the one ending there)."""
    query = deliveries_select(actor, endpoint_id)
    before_id = parse_id(before_id) if before_id is not None else None
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    limit = max(1, min(int(limit or 50), MAX_PAGE))
    return list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def get_delivery(actor, delivery_id) -> WebhookDelivery:
    """One delivery of an endpoint ``actor`` may see."""
    delivery_id = parse_id(delivery_id)
    found = db.session.get(WebhookDelivery, delivery_id) if delivery_id else None
    if found is None:
        raise NotFound()
    _endpoint(actor, found.endpoint_id)
    return found


# --------------------------------------------------------------------------- changes

def create_endpoint(actor, *, url, events, description="", account_id=None, allow_private=False):
    """Register an endpoint; returns it and its signing secret (shown once). Desk-wide ones: admins only."""
    if account_id is not None:
        parsed = parse_id(account_id)
        if parsed is None:
            raise NotFound()
        account_id = parsed
    _check_account(actor, account_id)
    errors = {}
    _check_fields(actor, errors, url=url, events_=events, description=description, allow_private=allow_private)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    endpoint = WebhookEndpoint(account_id=account_id, created_by_id=getattr(actor, "id", None), url=url.strip(),
                               description=(description or "").strip(), events=_kinds(events),
                               allow_private=bool(allow_private), enabled=True, secret="", created_at=now,
                               updated_at=now)
    db.session.add(endpoint)
    secret = new_secret()
    _seal(endpoint, secret)
    audit.record(actor, "webhook-endpoint", endpoint, "created", _summary(endpoint), account_id=account_id)
    commit_service_call(db.session)
    return endpoint, secret


def update_endpoint(actor, endpoint_id, *, url=UNSET, events=UNSET, description=UNSET, enabled=UNSET,
                    allow_private=UNSET) -> WebhookEndpoint:
    """Change what was given. Enabling a disabled endpoint clears why it was disabled and sends what waited."""
    endpoint = _endpoint(actor, endpoint_id, lock=True)
    private = endpoint.allow_private if allow_private is UNSET else bool(allow_private)
    errors = {}
    if allow_private is not UNSET and bool(allow_private) != endpoint.allow_private and not _is_admin(actor):
        errors["allow_private"] = _l("Only administrators may allow private network addresses.")
    check_url = url if url is not UNSET else (endpoint.url if private != endpoint.allow_private else UNSET)
    _check_fields(actor, errors, url=check_url, events_=events, description=description)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    values = {"url": None if url is UNSET else url.strip(), "events": None if events is UNSET else _kinds(events),
              "description": None if description is UNSET else (description or "").strip(),
              "allow_private": None if allow_private is UNSET else private}
    for field, value in values.items():
        if value is not None and value != getattr(endpoint, field):
            changes[field] = [getattr(endpoint, field), value]
            setattr(endpoint, field, value)
    if enabled is not UNSET and bool(enabled) != endpoint.enabled:
        changes["enabled"] = [endpoint.enabled, bool(enabled)]
        endpoint.enabled = bool(enabled)
        if endpoint.enabled:
            endpoint.disabled_reason, endpoint.failing_since, endpoint.given_up_in_a_row = None, None, 0
            delivery.resume(endpoint)
        else:
            endpoint.disabled_reason = None
    if changes:
        endpoint.updated_at = utcnow()
        audit.record(actor, "webhook-endpoint", endpoint, "changed", changes, account_id=endpoint.account_id)
    commit_service_call(db.session)
    return endpoint


def rotate_secret(actor, endpoint_id) -> str:
    """A new signing secret for the endpoint (the old one stops at once); returned to be shown once."""
    endpoint = _endpoint(actor, endpoint_id, lock=True)
    secret = new_secret()
    _seal(endpoint, secret)
    endpoint.updated_at = utcnow()
    audit.record(actor, "webhook-endpoint", endpoint, "secret-rotated", {"url": endpoint.url},
                 account_id=endpoint.account_id)
    commit_service_call(db.session)
    return secret


def delete_endpoint(actor, endpoint_id) -> None:
    """Remove the endpoint and its delivery log; what waited is not sent."""
    endpoint = _endpoint(actor, endpoint_id, lock=True)
    audit.record(actor, "webhook-endpoint", endpoint.id, "deleted", _summary(endpoint),
                 account_id=endpoint.account_id)
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    commit_service_call(db.session)


def redeliver(actor, delivery_id) -> WebhookDelivery:
    """Send a delivery's event again: a new delivery of the same payload and event id, now."""
    original = get_delivery(actor, delivery_id)
    endpoint = original.endpoint
    if not endpoint.enabled:
        raise ValidationFailed({"endpoint": _l("Enable the endpoint before sending events to it again.")})
    again = delivery.queue(endpoint, kind=original.kind, payload=original.payload, event_id=original.event_id,
                           key=original.ordering_key)
    audit.record(actor, "webhook-endpoint", endpoint, "redelivered",
                 {"event": original.event_id, "kind": original.kind, "delivery": original.id},
                 account_id=endpoint.account_id)
    commit_service_call(db.session)
    return again


def send_test(actor, endpoint_id) -> WebhookDelivery:
    """Queue a "webhook.test" ping to the endpoint (its delivery shows what the receiver answered)."""
    endpoint = _endpoint(actor, endpoint_id)
    if not endpoint.enabled:
        raise ValidationFailed({"endpoint": _l("Enable the endpoint before sending it a test event.")})
    sent = delivery.queue_test(endpoint)
    audit.record(actor, "webhook-endpoint", endpoint, "tested", {"url": endpoint.url},
                 account_id=endpoint.account_id)
    commit_service_call(db.session)
    return sent


def waiting_count(endpoint: WebhookEndpoint) -> int:
    """How many deliveries of the endpoint are still to be sent."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status.in_(WAITING))) or 0
