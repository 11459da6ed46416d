"""Who may change status notices, and the reads each door shows: the console's list (every agent reads), the
banners of one customer (only notices about their own services), and the public status page (notices and the
products they affect, never a customer).

Changing notices (publish, edit, post an update, resolve) is for admins and billing staff (billing.access's
billing permission: the people who look after what customers have bought) and for the system."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from helpdesk.billing.access import is_billing_staff
from helpdesk.db import parse_id
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.status_notices.audience import notices_affecting
from helpdesk.status_notices.models import MAINTENANCE, RESOLVED, StatusNotice


def may_manage(actor) -> bool:
    """The system, admins and billing staff."""
    return bool(getattr(actor, "is_system", False) or is_billing_staff(actor))


def require_manager(actor):
    if not may_manage(actor):
        raise NotAllowed()


def _require_staff(actor):
    if not (getattr(actor, "is_system", False) or getattr(actor, "is_agent", False)):
        raise NotFound()


def get_notice(actor, notice_id) -> StatusNotice:
    """A notice for the console (agents and the system); NotFound for anyone else or an unknown id."""
    _require_staff(actor)
    notice_id = parse_id(notice_id)
    notice = db.session.get(StatusNotice, notice_id) if notice_id else None
    if notice is None:
        raise NotFound()
    return notice


def console_notices(actor, *, limit=200) -> list[StatusNotice]:
    """Every notice, the unresolved first, then the newest."""
    _require_staff(actor)
    return db.session.scalars(sa.select(StatusNotice).options(selectinload(StatusNotice.affects))
                              .order_by(StatusNotice.resolved_at.is_not(None), StatusNotice.starts_at.desc(),
                                        StatusNotice.id.desc()).limit(limit)).all()


def _shown_from(now):
    """Notices that have started, and maintenance starting within STATUS_MAINTENANCE_NOTICE_HOURS."""
    ahead = now + timedelta(hours=current_app.config["STATUS_MAINTENANCE_NOTICE_HOURS"])
    return sa.or_(StatusNotice.starts_at <= now,
                  sa.and_(StatusNotice.kind == MAINTENANCE, StatusNotice.starts_at <= ahead))


def current_notices(now) -> list[StatusNotice]:
    """Unresolved notices that have started (or are maintenance starting soon): what banners may show."""
    return db.session.scalars(sa.select(StatusNotice).where(StatusNotice.resolved_at.is_(None),
                                                            StatusNotice.status != RESOLVED, _shown_from(now))
                              .order_by(StatusNotice.starts_at, StatusNotice.id)).all()


def banners_for(user, now) -> list[StatusNotice]:
    """The current notices about ``user``'s own live services: none for guests, staff, or unaffected customers."""
    if user is None or not getattr(user, "is_customer", False):
        return []
    current = current_notices(now)
    if not current:
        return []
    mine = notices_affecting(user, [notice.id for notice in current])
    return [notice for notice in current if notice.id in mine]


def public_notices(now):
    """(current, upcoming, past) for the public status page: unresolved notices that have started (and maintenance
    starting soon), maintenance planned later, and those resolved in the last STATUS_PAGE_HISTORY_DAYS, newest
    first. Each with what it affects loaded."""
    config = current_app.config
    since = now - timedelta(days=config["STATUS_PAGE_HISTORY_DAYS"])
    rows = db.session.scalars(
        sa.select(StatusNotice).options(selectinload(StatusNotice.affects), selectinload(StatusNotice.updates))
        .where(sa.or_(StatusNotice.resolved_at.is_(None), StatusNotice.resolved_at >= since))
        .order_by(StatusNotice.starts_at.desc(), StatusNotice.id.desc()).limit(500)).all()
    shown = set(current_notices(now))
    current = [n for n in rows if n in shown]
    upcoming = [n for n in rows if n.resolved_at is None and n not in shown]
    past = [n for n in rows if n.resolved_at is not None]
    return list(reversed(current)), sorted(upcoming, key=lambda n: n.starts_at), past


def public_notice(notice_id, now) -> StatusNotice:
    """A notice the public status page lists (unresolved, or resolved within its history); NotFound otherwise."""
    notice_id = parse_id(notice_id)
    notice = db.session.get(StatusNotice, notice_id) if notice_id else None
    since = now - timedelta(days=current_app.config["STATUS_PAGE_HISTORY_DAYS"])
    if notice is None or (notice.resolved_at is not None and notice.resolved_at < since):
        raise NotFound()
    return notice
