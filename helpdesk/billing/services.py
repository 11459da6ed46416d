"""What customers have bought (Service rows): activation when an order's invoice is paid, the periods paid, the
next due date (what issue 17's renewals, reminders and suspension start from), the lists the portal and console
show, and the ticket form's service picker (registered with the tickets domain's seam in billing's init_app)."""
import calendar
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from helpdesk import audit
from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.billing import fulfilment
from helpdesk.billing.access import require_customer_area, require_manager, visible
from helpdesk.billing.catalogue import default_language
from helpdesk.billing.catalogue_models import CYCLE_MONTHS, text_in
from helpdesk.billing.customers import announce_service
from helpdesk.billing.models import (
    ORDER_ACTIVE,
    ORDER_CANCELLED,
    ORDER_ON_HOLD,
    SERVICE_ACTIVE,
    SERVICE_CANCELLED,
    SERVICE_PENDING,
    SERVICE_SUSPENDED,
    InvoiceLine,
    Service,
    ServicePeriod,
)
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import Conflict, NotAllowed
from helpdesk.extensions import db


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's last (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_after(start: date, cycle: str) -> date | None:
    """The day after the period of ``cycle`` starting on ``start`` ends (exclusive end); None for one-off."""
    months = CYCLE_MONTHS[cycle]
    return add_months(start, months) if months else None


def activate_order(actor, order, invoice, now) -> list[Service]:
    """Activate the pending services of ``order``, paid by ``invoice``: each starts its first period today (in the
    business time zone) and records it as paid by the invoice. Nothing while staff hold the order or after it was
    cancelled (accepting it later activates them). The caller holds the invoice's lock, which makes this happen
    once; never commits. The fulfillers of the activated services' kinds run last (billing.fulfilment)."""
    from helpdesk.billing.invoices import business_date

    if order.status in (ORDER_ON_HOLD, ORDER_CANCELLED):
        return []
    today = business_date(now)
    # The pending services with the first line of the invoice paying each (its price, not its setup fee): one query.
    first_line = (sa.select(sa.func.min(InvoiceLine.id)).where(InvoiceLine.invoice_id == invoice.id,
                                                              InvoiceLine.service_id == Service.id)
                  .correlate(Service).scalar_subquery())
    pending = db.session.execute(sa.select(Service, first_line).where(Service.order_id == order.id,
                                                                      Service.status == SERVICE_PENDING)
                                 .order_by(Service.id).with_for_update(of=Service)).all()
    activated = []
    for service, line_id in pending:
        end = period_after(today, service.cycle)
        service.status, service.activated_at = SERVICE_ACTIVE, now
        announce_service(service, SERVICE_PENDING)
        service.period_start, service.period_end, service.next_due_date = today, end, end
        db.session.add(ServicePeriod(service=service, period_start=today, period_end=end, invoice_id=invoice.id,
                                     invoice_line_id=line_id, paid_at=now))
        audit.record(actor, "billing-service", service.id, "activated",
                     {"invoice": invoice.id, "period_start": today.isoformat(),
                      "next_due_date": end.isoformat() if end else None})
        activated.append(service)
    order.status = ORDER_ACTIVE
    fulfilment.services_activated(actor, activated, invoice, now)
    return activated


def extend_paid_periods(actor, invoice, now) -> list[Service]:
    """``invoice`` (a renewal's, issue 17) was just paid: each period it invoiced is marked paid and its service runs
    on to the period's end (period and next due date move), and the overdue holds the invoice caused are lifted
    (suspensions.lift_overdue_holds: the service resumes unless a manual hold remains). The caller holds the
    invoice's lock, which makes this happen once; never commits."""
    from helpdesk.billing.suspensions import lift_overdue_holds

    periods = db.session.execute(sa.select(ServicePeriod, Service).join(Service, ServicePeriod.service_id == Service.id)
                                 .where(ServicePeriod.invoice_id == invoice.id, ServicePeriod.paid_at.is_(None))
                                 .order_by(Service.id).with_for_update(of=Service)).all()
    extended = []
    for period, service in periods:
        period.paid_at = now
        if service.status in (SERVICE_ACTIVE, SERVICE_SUSPENDED) and (
                service.period_end is None or period.period_start >= service.period_end):
            service.period_start, service.period_end = period.period_start, period.period_end
            service.next_due_date = period.period_end
            audit.record(actor, "billing-service", service.id, "period-paid",
                         {"invoice": invoice.id, "period_start": period.period_start.isoformat(),
                          "period_end": period.period_end.isoformat() if period.period_end else None})
            extended.append(service)
    lift_overdue_holds(actor, invoice, now)
    return extended


def service_name(service: Service, language: str) -> str:
    """The product's name in ``language`` with the service's identifier: "Start package (example.hu)"."""
    name = text_in(service.product.texts, language, default_language())
    return f"{name} ({service.identifier})" if service.identifier else name


def services_of(actor, account_id=None, *, statuses=None, limit=200) -> list[Service]:
    """Services ``actor`` may see (a customer's own; one account's for staff with ``account_id``), newest first,
    their products loaded; ``statuses`` filters (e.g. active and suspended)."""
    query = visible(actor, Service).options(selectinload(Service.product))
    if account_id is not None:
        query = query.where(Service.account_id == account_id)
    if statuses:
        query = query.where(Service.status.in_(tuple(statuses)))
    return db.session.scalars(query.order_by(Service.id.desc()).limit(limit)).all()


def ticket_services(customer):
    """The tickets domain's service picker: ``customer``'s active and suspended services (a suspended service is
    what many billing tickets are about), as tickets.details.CustomerService, named in their language."""
    from helpdesk.billing.customers import account_id_of
    from helpdesk.tickets.details import CustomerService

    language = getattr(customer, "locale", None) or default_language()
    try:  # the services of the account they act for, if their membership lets them see them
        require_customer_area(customer, PERM_SERVICES)
    except NotAllowed:
        return []
    account_id = account_id_of(customer)
    services = db.session.scalars(
        sa.select(Service).where(Service.account_id == account_id,
                                 Service.status.in_((SERVICE_ACTIVE, SERVICE_SUSPENDED)))
        .options(selectinload(Service.product)).order_by(Service.id)).all() if account_id is not None else []
    return [CustomerService(ref=f"service-{service.id}", label=service_name(service, language))
            for service in services]


def services_due(on_or_before: date, *, after_id=0, limit=500) -> list[Service]:
    """Active and suspended services whose next due date is ``on_or_before`` or earlier, by id from ``after_id``:
    where issue 17's renewal invoices, reminders and suspensions start (jobs; no access check)."""
    return db.session.scalars(sa.select(Service).where(
        Service.status.in_((SERVICE_ACTIVE, SERVICE_SUSPENDED)), Service.next_due_date.is_not(None),
        Service.next_due_date <= on_or_before, Service.id > after_id).order_by(Service.id).limit(limit)).all()


_MOVES = {
    "suspend": ({SERVICE_ACTIVE}, SERVICE_SUSPENDED),
    "resume": ({SERVICE_SUSPENDED}, SERVICE_ACTIVE),
    "cancel": ({SERVICE_PENDING, SERVICE_ACTIVE, SERVICE_SUSPENDED}, SERVICE_CANCELLED),
}


def change_status(actor, service: Service, move: str, *, reason: str = "") -> Service:
    """Suspend an active service, resume a suspended one, or cancel one (``move``). Billing staff (and issue 17's
    jobs as the system). Conflict when the service is not in a state the move starts from. Commits."""
    require_manager(actor)
    begin_write(db.session)
    db.session.refresh(service, with_for_update=True)
    allowed, new = _MOVES[move]
    if service.status not in allowed:
        raise Conflict()
    now = utcnow()
    old, service.status = service.status, new
    if new == SERVICE_SUSPENDED:
        service.suspended_at = now
    elif new == SERVICE_CANCELLED:
        service.cancelled_at, service.next_due_date = now, None
    else:
        service.suspended_at = None
    audit.record(actor, "billing-service", service.id,
                 "suspended" if move == "suspend" else "resumed" if move == "resume" else "cancelled",
                 {"status": [old, new], "reason": (reason or "")[:500]})
    announce_service(service, old)
    commit_service_call(db.session)
    return service
