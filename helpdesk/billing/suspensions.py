"""Holds on services: a service is suspended while it has an open hold. The daily run places an overdue hold when a
renewal invoice stays unpaid (``place_overdue_hold``) and the payment path lifts it when that invoice is paid
(``lift_overdue_holds``); staff place and lift manual holds with a reason ("awaiting ID verification", "abuse"),
which automation never lifts. Also the state and reason the portal shows for a service."""
from dataclasses import dataclass

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.billing import renewal_sentences  # noqa: F401  (the audit trail's sentences for these actions)
from helpdesk.billing.access import require_manager
from helpdesk.billing.customers import announce_service
from helpdesk.billing.models import SERVICE_ACTIVE, SERVICE_SUSPENDED, Invoice, Service
from helpdesk.billing.renewal_models import HOLD_MANUAL, HOLD_OVERDUE, ServiceHold
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

REASON_MAX = 500


def open_holds(service) -> list[ServiceHold]:
    """The holds on ``service`` (a row or an id) that are not lifted, oldest first, their invoices loaded."""
    service_id = getattr(service, "id", service)
    return db.session.scalars(sa.select(ServiceHold).where(ServiceHold.service_id == service_id,
                                                           ServiceHold.lifted_at.is_(None))
                              .order_by(ServiceHold.id)).all()


def _locked_service(service) -> Service:
    begin_write(db.session)
    return db.session.scalar(sa.select(Service).where(Service.id == getattr(service, "id", service))
                             .with_for_update().execution_options(populate_existing=True))


def sync_status(actor, service: Service, now, *, reason: str = "") -> str | None:
    """Suspend ``service`` if it has an open hold and is active, resume it if it has none and is suspended (a
    cancelled or pending service stays as it is). Returns "suspended", "resumed" or None. The caller holds the
    service's lock; never commits."""
    if service.status not in (SERVICE_ACTIVE, SERVICE_SUSPENDED):
        return None
    held = db.session.scalar(sa.select(sa.func.count()).select_from(ServiceHold).where(
        ServiceHold.service_id == service.id, ServiceHold.lifted_at.is_(None)))
    if held and service.status == SERVICE_ACTIVE:
        service.status, service.suspended_at = SERVICE_SUSPENDED, now
        audit.record(actor, "billing-service", service.id, "suspended",
                     {"status": [SERVICE_ACTIVE, SERVICE_SUSPENDED], "reason": reason[:REASON_MAX]})
        announce_service(service, SERVICE_ACTIVE)
        return "suspended"
    if not held and service.status == SERVICE_SUSPENDED:
        service.status, service.suspended_at = SERVICE_ACTIVE, None
        audit.record(actor, "billing-service", service.id, "resumed",
                     {"status": [SERVICE_SUSPENDED, SERVICE_ACTIVE], "reason": reason[:REASON_MAX]})
        announce_service(service, SERVICE_SUSPENDED)
        return "resumed"
    return None


def _check_reason(reason):
    reason = " ".join(strip_control(reason or "").split())
    if not reason:
        raise ValidationFailed({"reason": _l("Say why the service is held.")})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": _l("At most %(num)d characters.", num=REASON_MAX)})
    return reason


def place_manual_hold(actor, service, reason: str) -> ServiceHold:
    """Staff hold ``service`` for ``reason`` (required, shown to the customer): it is suspended until every hold is
    lifted; only staff lift a manual hold (``lift_manual_hold``). Billing staff; Conflict for a cancelled or
    pending service. Commits; returns the hold."""
    require_manager(actor)
    reason = _check_reason(reason)
    service = _locked_service(service)
    if service.status not in (SERVICE_ACTIVE, SERVICE_SUSPENDED):
        raise Conflict()
    now = utcnow()
    hold = ServiceHold(service_id=service.id, kind=HOLD_MANUAL, reason=reason, placed_by_id=getattr(actor, "id", None),
                       placed_by_label=actor.label, placed_at=now)
    db.session.add(hold)
    db.session.flush()
    audit.record(actor, "billing-service", service.id, "held", {"hold": hold.id, "reason": reason})
    sync_status(actor, service, now, reason=reason)
    commit_service_call(db.session)
    return hold


def lift_manual_hold(actor, hold: ServiceHold) -> ServiceHold:
    """Staff lift a manual hold: the service resumes when no other hold (manual or overdue) remains. Billing
    staff; Conflict for an overdue hold (paying the invoice lifts it). Lifting a lifted hold changes nothing.
    Commits; returns the hold."""
    require_manager(actor)
    service = _locked_service(hold.service_id)
    hold = db.session.scalar(sa.select(ServiceHold).where(ServiceHold.id == hold.id)
                             .execution_options(populate_existing=True))
    if hold.kind != HOLD_MANUAL:
        raise Conflict()
    if hold.lifted_at is not None:
        db.session.rollback()
        return hold
    now = utcnow()
    hold.lifted_at, hold.lifted_by_id, hold.lifted_by_label = now, getattr(actor, "id", None), actor.label
    audit.record(actor, "billing-service", service.id, "hold-lifted", {"hold": hold.id, "reason": hold.reason})
    sync_status(actor, service, now)
    commit_service_call(db.session)
    return hold


def place_overdue_hold(actor, service: Service, invoice: Invoice, now) -> ServiceHold | None:
    """Suspend ``service`` for its unpaid ``invoice`` (the daily run): one hold per service and invoice, so a second
    run finds it and returns None. The caller holds the invoice's lock, then the service's (the payments' order);
    never commits."""
    try:
        with db.session.begin_nested():
            hold = ServiceHold(service_id=service.id, kind=HOLD_OVERDUE, invoice_id=invoice.id, reason="",
                               placed_by_id=getattr(actor, "id", None), placed_by_label=actor.label, placed_at=now)
            db.session.add(hold)
    except sa.exc.IntegrityError:  # placed by another run: it stands
        return None
    audit.record(actor, "billing-service", service.id, "held-overdue", {"hold": hold.id, "invoice": invoice.id})
    sync_status(actor, service, now, reason=f"invoice {invoice.name}")
    return hold


def lift_overdue_holds(actor, invoice: Invoice, now) -> list[int]:
    """``invoice`` was paid: lift the overdue holds it caused and resume each service that has no other open hold
    (a manual hold keeps it suspended). Returns the ids of the services resumed. Runs in the payment's transaction,
    which holds the invoice's lock; never commits."""
    holds = db.session.scalars(sa.select(ServiceHold).where(ServiceHold.invoice_id == invoice.id,
                                                            ServiceHold.kind == HOLD_OVERDUE,
                                                            ServiceHold.lifted_at.is_(None))).all()
    resumed = []
    for hold in holds:
        hold.lifted_at, hold.lifted_by_id, hold.lifted_by_label = now, getattr(actor, "id", None), actor.label
        db.session.flush()
        service = _locked_service(hold.service_id)
        audit.record(actor, "billing-service", service.id, "hold-lifted", {"hold": hold.id, "invoice": invoice.id})
        if sync_status(actor, service, now, reason=f"invoice {invoice.name} paid") == "resumed":
            resumed.append(service.id)
    return resumed


# --------------------------------------------------------------------------- what the customer sees

STATE_ACTIVE, STATE_OVERDUE, STATE_HELD, STATE_OTHER = "active", "overdue", "held", "other"


@dataclass(frozen=True)
class ServiceState:
    """A service's state as the portal says it: ``state`` (active, overdue: suspended for non-payment, held:
    suspended by staff, other: pending or cancelled), the invoices it waits for and the staff's reasons."""

    state: str
    invoices: tuple = ()
    reasons: tuple = ()


def service_states(services) -> dict:
    """{service id: ServiceState} for ``services``, in one query for their open holds."""
    services = list(services)
    ids = [s.id for s in services if s.status == SERVICE_SUSPENDED]
    holds = {}
    if ids:
        rows = db.session.execute(sa.select(ServiceHold.service_id, ServiceHold.kind, ServiceHold.reason,
                                            Invoice.number, Invoice.reference)
                                  .outerjoin(Invoice, ServiceHold.invoice_id == Invoice.id)
                                  .where(ServiceHold.service_id.in_(ids), ServiceHold.lifted_at.is_(None))
                                  .order_by(ServiceHold.id)).all()
        for service_id, kind, reason, number, reference in rows:
            holds.setdefault(service_id, []).append((kind, reason, number or reference))
    states = {}
    for service in services:
        if service.status == SERVICE_ACTIVE:
            states[service.id] = ServiceState(STATE_ACTIVE)
        elif service.status == SERVICE_SUSPENDED:
            mine = holds.get(service.id, [])
            reasons = tuple(reason for kind, reason, _name in mine if kind == HOLD_MANUAL)
            invoices = tuple(name for kind, _reason, name in mine if kind == HOLD_OVERDUE)
            states[service.id] = ServiceState(STATE_HELD if reasons else STATE_OVERDUE, invoices, reasons)
        else:
            states[service.id] = ServiceState(STATE_OTHER)
    return states

