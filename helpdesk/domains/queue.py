"""The staff side of domain requests: the console's queue (every agent reads it), and the decisions, for the
staff who may change billing (admins and billing staff): mark done, reject with a reason the customer reads, or
send to the registrar. Deciding wipes a transfer's auth code; a registrar's failure keeps the request open with
its error for staff."""
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.billing.access import may_manage
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.domains.domain_requests import REASON_MAX
from helpdesk.domains.mail_notices import tell_decision
from helpdesk.domains.models import (
    REQUEST_DONE,
    REQUEST_OPEN,
    REQUEST_REJECTED,
    REQUEST_STATUS_LABELS,
    TRANSFER,
    DomainRequest,
)
from helpdesk.domains.registrars import RegistrarError, RegistrarOrder, current_registrar
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

PER_PAGE = 50


def _require_reader(actor):
    if not (actor.is_system or getattr(actor, "is_agent", False)):
        raise NotAllowed()


def _require_decider(actor):
    if not may_manage(actor):
        raise NotAllowed()


def may_decide(actor) -> bool:
    return may_manage(actor)


def queue(actor, status=REQUEST_OPEN, *, before_id=None) -> list[DomainRequest]:
    """A page of requests in ``status`` (oldest open first; decided ones newest first). Staff."""
    _require_reader(actor)
    if status not in REQUEST_STATUS_LABELS:
        raise NotFound()
    query = sa.select(DomainRequest).where(DomainRequest.status == status)
    if status == REQUEST_OPEN:
        query = query.order_by(DomainRequest.id)
        if before_id is not None:
            query = query.where(DomainRequest.id > before_id)
    else:
        query = query.order_by(DomainRequest.id.desc())
        if before_id is not None:
            query = query.where(DomainRequest.id < before_id)
    return db.session.scalars(query.limit(PER_PAGE)).all()


def get_for_staff(actor, request_id) -> DomainRequest:
    _require_reader(actor)
    request_id = parse_id(request_id)
    found = db.session.get(DomainRequest, request_id) if request_id is not None else None
    if found is None:
        raise NotFound()
    return found


def _locked_open(request) -> DomainRequest:
    begin_write(db.session)
    db.session.refresh(request, with_for_update=True)
    if request.status != REQUEST_OPEN:
        raise Conflict(_l("This request was decided already."))
    return request


def _decide(actor, request, status):
    request.status, request.decided_at, request.decided_by_id = status, utcnow(), getattr(actor, "id", None)
    request.auth_code = ""


def mark_done(actor, request: DomainRequest, *, reference: str = "") -> DomainRequest:
    """Staff registered or transferred the domain (by hand, or the registrar did): the customer sees "Done".
    Billing staff; Conflict once decided. Commits."""
    _require_decider(actor)
    request = _locked_open(request)
    _decide(actor, request, REQUEST_DONE)
    request.registrar_reference = strip_control(reference or request.registrar_reference).strip()[:200]
    request.registrar_error = ""
    audit.record(actor, "domain-request", request.id, "done", {"name": request.name})
    tell_decision(request)
    commit_service_call(db.session)
    return request


def reject(actor, request: DomainRequest, *, reason: str) -> DomainRequest:
    """Refuse the request with a ``reason`` the customer reads; they may file again. Billing staff; Conflict once
    decided. Commits."""
    _require_decider(actor)
    reason = strip_control(reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise ValidationFailed({"reason": _l("Say why, for the customer.")})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": _l("At most %(num)d characters.", num=REASON_MAX)})
    request = _locked_open(request)
    _decide(actor, request, REQUEST_REJECTED)
    request.reason = reason
    audit.record(actor, "domain-request", request.id, "rejected", {"name": request.name, "reason": reason})
    tell_decision(request)
    commit_service_call(db.session)
    return request


def _order_of(request) -> RegistrarOrder:
    return RegistrarOrder(
        key=f"domain-request-{request.id}", domain=request.name, auth_code=request.auth_code,
        registrant={key: getattr(request, f"registrant_{key}") for key in
                    ("name", "organisation", "email", "phone", "address", "country")},
        nameservers=tuple(request.nameservers or ()))


def send_to_registrar(actor, request: DomainRequest) -> DomainRequest:
    """Ask DOMAINS_REGISTRAR to register (or transfer) the request's domain; on success the request is done with
    the registrar's reference, on failure it stays open with the error (RegistrarError is raised after that is
    committed). The registrar is called outside any transaction, with the request's own idempotency key, so a
    retry or a second click is one registration. Billing staff; NotFound when no registrar is configured."""
    _require_decider(actor)
    registrar = current_registrar()
    if registrar is None:
        raise NotFound()
    request = _locked_open(request)
    order, action, request_id = _order_of(request), request.action, request.id
    db.session.rollback()
    try:
        reference = (registrar.transfer if action == TRANSFER else registrar.register)(order)
    except RegistrarError as exc:
        failure = exc
    else:
        failure = None
    request = db.session.get(DomainRequest, request_id)
    request = _locked_open(request)
    if failure is not None:
        request.registrar_error = failure.message[:500]
        audit.record(actor, "domain-request", request.id, "registrar-failed", {"error": request.registrar_error})
        commit_service_call(db.session)
        raise failure
    _decide(actor, request, REQUEST_DONE)
    request.registrar_reference, request.registrar_error = reference[:200], ""
    audit.record(actor, "domain-request", request.id, "sent", {"name": request.name, "registrar": registrar.name,
                                                               "reference": reference[:200]})
    tell_decision(request)
    commit_service_call(db.session)
    return request
