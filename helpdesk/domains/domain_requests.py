"""Domain requests: once an order with a domain (or a package with a free domain) is active, a member of the
customer account with the services permission (or its owner) files the domain request form (the name, registration
or transfer with its auth code, the registrant's data prefilled from the account's billing details, 2-4 name
servers); staff mark it done or reject it with a reason, or send it to the registrar (DOMAINS_REGISTRAR); a
registrar's failure leaves it open with the error shown to staff. The customer sees its status.

An active service entitles its account to one request (one open or done at a time; a rejected one may be filed
again): a domain service for its own name and action, a package with a free domain for a registration of any
offered TLD."""
import re
from dataclasses import dataclass

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts.memberships import require_permission
from helpdesk.accounts.models import PERM_SERVICES, CustomerAccount, Membership
from helpdesk.billing.catalogue_models import DOMAIN, Product
from helpdesk.billing.domain_prices import offered_tlds, tld_of
from helpdesk.billing.models import SERVICE_ACTIVE, BillingAccount, Service
from helpdesk.db import begin_write, commit_service_call, parse_id
from helpdesk.domains.models import (
    REGISTER,
    REQUEST_DONE,
    REQUEST_OPEN,
    TRANSFER,
    DomainRequest,
)
from helpdesk.domains.names import parse_name, parse_nameservers
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

REASON_MAX, AUTH_CODE_MAX, ADDRESS_MAX = 2000, 255, 1000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
REGISTRANT_FIELDS = ("name", "organisation", "email", "phone", "address", "country")


@dataclass(frozen=True)
class Entitlement:
    """An active service a domain request may be filed on: its domain name and action when it is a domain
    bought ("" and REGISTER for a package's free domain)."""

    service: Service
    name: str
    action: str
    free: bool


def _billing_account_id(account_id):
    return db.session.scalar(sa.select(BillingAccount.id).where(BillingAccount.customer_account_id == account_id))


def _used_service_ids(service_ids) -> set:
    return set(db.session.scalars(sa.select(DomainRequest.service_id).where(
        DomainRequest.service_id.in_(service_ids), DomainRequest.status.in_((REQUEST_OPEN, REQUEST_DONE)))))


def _entitlement(service) -> Entitlement | None:
    if service.product.kind == DOMAIN:
        action = next((o.get("choice") for o in service.options or () if o.get("option") == "action"), REGISTER)
        return Entitlement(service, service.identifier, action if action in (REGISTER, TRANSFER) else REGISTER,
                           False)
    if service.product.free_domain:
        return Entitlement(service, "", REGISTER, True)
    return None


def entitlements(actor, account_id) -> list[Entitlement]:
    """The account's active services on which a domain request may be filed now. Services permission."""
    require_permission(actor, account_id, PERM_SERVICES)
    billing_id = _billing_account_id(account_id)
    if billing_id is None:
        return []
    services = db.session.scalars(
        sa.select(Service).join(Product, Service.product_id == Product.id)
        .where(Service.account_id == billing_id, Service.status == SERVICE_ACTIVE,
               sa.or_(Product.kind == DOMAIN, Product.free_domain.is_(True))).order_by(Service.id)).all()
    used = _used_service_ids([s.id for s in services]) | _spent_free_domains(services)
    found = [_entitlement(service) for service in services if service.id not in used]
    return [entry for entry in found if entry is not None]


def _spent_free_domains(services) -> set:
    """The packages whose free domain was spent in their own order: a domain registered in the same cart took the
    first year free (billing's pricing), so that many of the order's free-domain packages entitle nothing more."""
    spent = set()
    for order_id in {s.order_id for s in services if s.product.free_domain and s.order_id is not None}:
        registered = db.session.scalars(
            sa.select(Service.options).join(Product, Service.product_id == Product.id)
            .where(Service.order_id == order_id, Product.kind == DOMAIN)).all()
        count = sum(1 for options in registered if not any(
            o.get("option") == "action" and o.get("choice") == TRANSFER for o in options or ()))
        packages = sorted(s.id for s in services if s.order_id == order_id and s.product.free_domain)
        spent.update(packages[:count])
    return spent


def registrant_defaults(actor, account_id) -> dict:
    """The registrant's data as the account's billing details and its owner give them, for prefilling the form."""
    require_permission(actor, account_id, PERM_SERVICES)
    account = db.session.get(CustomerAccount, account_id)
    billing = db.session.scalar(sa.select(BillingAccount).where(BillingAccount.customer_account_id == account_id))
    owner = db.session.scalar(sa.select(Membership).where(Membership.account_id == account_id,
                                                          Membership.is_owner.is_(True)).limit(1))
    person = owner.user if owner is not None else actor
    business = getattr(billing, "customer_type", "") == "business"
    billed_name = billing.name if billing is not None and billing.name else account.name
    # An individual registers in the name on their invoices; a business names its contact person.
    return {"name": (person.full_name or billed_name) if business else (billed_name or person.full_name),
            "organisation": billed_name if business else "",
            "email": person.email, "phone": person.phone or "",
            "address": billing.address if billing else "", "country": billing.country if billing else ""}


def _check_registrant(errors, registrant) -> dict:
    clean = {key: strip_control(str((registrant or {}).get(key) or "")).strip() for key in REGISTRANT_FIELDS}
    clean["name"] = clean_name(clean["name"], limit=200)
    clean["organisation"] = clean_name(clean["organisation"], limit=200)
    clean["address"] = clean["address"].replace("\r\n", "\n")
    clean["country"] = clean["country"].upper()
    if not clean["name"]:
        errors["registrant_name"] = _l("Enter the registrant's name.")
    if not _EMAIL.fullmatch(clean["email"]) or len(clean["email"]) > 254:
        errors["registrant_email"] = _l("Enter a valid email address.")
    if len(clean["phone"]) > 50:
        errors["registrant_phone"] = _l("At most %(num)d characters.", num=50)
    if len(clean["address"]) > ADDRESS_MAX:
        errors["registrant_address"] = _l("At most %(num)d characters.", num=ADDRESS_MAX)
    if not re.fullmatch(r"[A-Z]{2}", clean["country"]):
        errors["registrant_country"] = _l("Choose a country from the list.")
    return clean


def _check_name(errors, entitlement, typed, action, auth_code):
    """The request's name (DomainName or None), checked against what the service entitles."""
    name = None
    try:
        name = parse_name(typed, field="name")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if entitlement.free:
        if action != REGISTER:
            errors["action"] = _l("The package's free domain is a new registration.")
        if name is not None and tld_of(name.ascii, offered_tlds()) is None:
            errors["name"] = _l("We do not offer this ending. We offer: %(tlds)s",
                                tlds=", ".join("." + tld for tld in offered_tlds()))
    else:
        if name is not None and name.ascii != entitlement.name:
            errors["name"] = _l("This service is for %(name)s.", name=entitlement.name)
        if action != entitlement.action:
            errors["action"] = (_l("This service is for a domain registration.") if entitlement.action == REGISTER
                                else _l("This service is for a domain transfer."))
    if action == TRANSFER and not auth_code:
        errors["auth_code"] = _l("Enter the domain's auth code (transfer code) from its current registrar.")
    if len(auth_code) > AUTH_CODE_MAX:
        errors["auth_code"] = _l("At most %(num)d characters.", num=AUTH_CODE_MAX)
    return name


def file_request(actor, account_id, *, service_id, name, action, auth_code="", registrant=None,
                 nameservers=()) -> DomainRequest:
    """File the domain request form for the account's entitling service ``service_id``. Services permission
    (NotFound for a service that is not the account's or not entitling); ValidationFailed lists every problem.
    Commits; returns the open request."""
    require_permission(actor, account_id, PERM_SERVICES)
    found = {e.service.id: e for e in entitlements(actor, account_id)}.get(parse_id(service_id))
    if found is None:
        raise NotFound()
    errors = {}
    action = action if action in (REGISTER, TRANSFER) else None
    if action is None:
        errors["action"] = _l("Choose registration or transfer.")
    auth_code = strip_control(auth_code or "").strip() if action == TRANSFER else ""
    domain = _check_name(errors, found, name, action, auth_code)
    clean = _check_registrant(errors, registrant)
    try:
        servers = parse_nameservers(nameservers)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    begin_write(db.session)
    db.session.scalar(sa.select(Service.id).where(Service.id == found.service.id).with_for_update())
    if _used_service_ids([found.service.id]):
        raise Conflict()  # filed a moment ago from another window
    request = DomainRequest(
        account_id=account_id, service_id=found.service.id, requested_by_id=actor.id, name=domain.ascii,
        display_name=domain.unicode, action=action, auth_code=auth_code, nameservers=servers, status=REQUEST_OPEN,
        **{f"registrant_{key}": value for key, value in clean.items()})
    db.session.add(request)
    audit.record(actor, "domain-request", request, "filed", {"name": domain.ascii, "action": action,
                                                             "account": account_id})
    commit_service_call(db.session)
    return request


def requests_of(actor, account_id) -> list[DomainRequest]:
    """The account's domain requests, newest first. Services permission."""
    require_permission(actor, account_id, PERM_SERVICES)
    return db.session.scalars(sa.select(DomainRequest).where(DomainRequest.account_id == account_id)
                              .order_by(DomainRequest.id.desc()).limit(200)).all()


def get_request(actor, account_id, request_id) -> DomainRequest:
    """One of the account's requests; NotFound for another account's or none."""
    require_permission(actor, account_id, PERM_SERVICES)
    request_id = parse_id(request_id)
    found = db.session.get(DomainRequest, request_id) if request_id is not None else None
    if found is None or found.account_id != account_id:
        raise NotFound()
    return found
