"""Publishing status notices: publish, edit, post an update, resolve, and a customer's choice about maintenance
mail. Each is one transaction with its audit row; telling the affected customers is a mailing row and a job after
commit (tasks.mail_affected), never mail sent from the request."""
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.billing.catalogue_models import Product
from helpdesk.billing.models import Service
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit
from helpdesk.sanitize import strip_control
from helpdesk.status_notices.access import require_manager
from helpdesk.status_notices.models import (
    AFFECTS_PRODUCT,
    AFFECTS_SERVICE,
    INVESTIGATING,
    KINDS,
    MAIL_PUBLISHED,
    MAIL_RESOLVED,
    MAIL_UPDATED,
    MAINTENANCE,
    OPEN_STATUSES,
    RESOLVED,
    SCHEDULED,
    SEVERITIES,
    StatusMailOptOut,
    StatusNotice,
    StatusNoticeAffect,
    StatusNoticeMailing,
    StatusNoticeUpdate,
)

TITLE_MAX = 200
TEXT_MAX = 10_000
AFFECTS_MAX = 500


def default_language() -> str:
    return current_app.config.get("DEFAULT_LOCALE", "en")


def _clean(value) -> str:
    return strip_control(str(value or "")).replace("\r\n", "\n").strip()


# --------------------------------------------------------------------------- checks

def check_texts(errors, texts) -> dict:
    """{language: {"title", "text"}} cleaned; a title and a text in the desk's default language are required."""
    clean = {}
    for code, text in (texts or {}).items():
        if code not in LANGUAGES:
            continue
        title, body = _clean((text or {}).get("title")), _clean((text or {}).get("text"))
        if len(title) > TITLE_MAX:
            errors[f"title_{code}"] = _l("At most %(num)d characters.", num=TITLE_MAX)
        if len(body) > TEXT_MAX:
            errors[f"text_{code}"] = _l("At most %(num)d characters.", num=TEXT_MAX)
        if title or body:
            clean[code] = {"title": " ".join(title.split()), "text": body}
    main = default_language()
    if not clean.get(main, {}).get("title"):
        errors[f"title_{main}"] = _l("Enter a title in the desk’s default language.")
    if not clean.get(main, {}).get("text"):
        errors[f"text_{main}"] = _l("Enter a text in the desk’s default language.")
    return clean


def check_update_texts(errors, texts) -> dict:
    """{language: text} of an update, cleaned; the desk's default language is required."""
    clean = {}
    for code, text in (texts or {}).items():
        text = _clean(text)
        if code not in LANGUAGES or not text:
            continue
        if len(text) > TEXT_MAX:
            errors[f"text_{code}"] = _l("At most %(num)d characters.", num=TEXT_MAX)
        clean[code] = text
    if not clean.get(default_language()):
        errors[f"text_{default_language()}"] = _l("Enter a text in the desk’s default language.")
    return clean


def _check_times(errors, starts_at, ends_at):
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            errors[name] = _l("Enter a date and time, such as 2026-11-24 09:30.")
    if starts_at is None:
        errors.setdefault("starts_at", _l("Enter when it starts."))
    if "starts_at" not in errors and ends_at is not None and "ends_at" not in errors and ends_at <= starts_at:
        errors["ends_at"] = _l("The expected end must come after the start.")


def _existing(model, ids) -> list[int]:
    ids = sorted({parse_id(i) or 0 for i in ids or ()} - {0})  # 0 or an id out of range: never found
    if not ids:
        return []
    return sorted(db.session.scalars(sa.select(model.id).where(model.id.in_(ids))).all())


def check_affects(errors, products, services) -> list[tuple[str, int]]:
    """[(kind, id)] of the products and services given; every one must exist, and at least one is needed."""
    products, services = list(products or ()), list(services or ())
    found_products, found_services = _existing(Product, products), _existing(Service, services)
    if len(set(products)) != len(found_products):
        errors["products"] = _l("Choose products from the list.")
    if len(set(services)) != len(found_services):
        errors["services"] = _l("There is no service with one of these numbers.")
    if not (products or services):
        errors["products"] = _l("Choose the products or services it affects.")
    if len(found_products) + len(found_services) > AFFECTS_MAX:
        errors["services"] = _l("At most %(num)d products and services.", num=AFFECTS_MAX)
    return [(AFFECTS_PRODUCT, i) for i in found_products] + [(AFFECTS_SERVICE, i) for i in found_services]


def check_notice(*, kind, severity, texts, starts_at, ends_at, products, services, status=None):
    """(texts, affects) cleaned; ValidationFailed with every problem of a notice's fields at once."""
    errors = {}
    if kind not in KINDS:
        errors["kind"] = _l("Choose incident or planned maintenance.")
    if severity not in SEVERITIES:
        errors["severity"] = _l("Choose a severity.")
    if status is not None and status not in OPEN_STATUSES:
        errors["status"] = _l("Choose a status.")
    elif status == SCHEDULED and kind != MAINTENANCE:
        errors["status"] = _l("Only planned maintenance is scheduled.")
    clean = check_texts(errors, texts)
    _check_times(errors, starts_at, ends_at)
    affects = check_affects(errors, products, services)
    if errors:
        raise ValidationFailed(errors)
    return clean, affects


def _mail(notice, event, update=None):
    """Tell the affected customers about ``event`` after commit (a mailing row and its job)."""
    mailing = StatusNoticeMailing(notice=notice, event=event, update=update, created_at=utcnow())
    db.session.add(mailing)
    from helpdesk.status_notices.tasks import mail_affected  # the job (tasks imports this package's reads)

    enqueue_after_commit(mail_affected, mailing)
    return mailing


# --------------------------------------------------------------------------- changes

def publish_notice(actor, *, kind, severity, texts, starts_at, ends_at=None, products=(), services=(),
                   status=None) -> StatusNotice:
    """Publish a notice: from now on affected customers see its banner (once it starts, or a day before for
    maintenance), the status page lists it, and the affected customers are mailed. Admins and billing staff.
    ``status`` defaults to scheduled for maintenance and investigating for an incident. Commits."""
    require_manager(actor)
    begin_write(db.session)
    clean, affects = check_notice(kind=kind, severity=severity, texts=texts, starts_at=starts_at,
                                   ends_at=ends_at, products=products, services=services, status=status)
    now = utcnow()
    status = status or (SCHEDULED if kind == MAINTENANCE else INVESTIGATING)
    notice = StatusNotice(kind=kind, severity=severity, status=status, texts=clean, starts_at=starts_at,
                          ends_at=ends_at, created_at=now, updated_at=now,
                          created_by_id=getattr(actor, "id", None))
    notice.affects = [StatusNoticeAffect(kind=k, target_id=i) for k, i in affects]
    db.session.add(notice)
    audit.record(actor, "status-notice", notice, "published",
                 {"kind": kind, "severity": severity, "status": status, "starts_at": starts_at.isoformat(),
                  "ends_at": ends_at.isoformat() if ends_at else None,
                  "products": [i for k, i in affects if k == AFFECTS_PRODUCT],
                  "services": [i for k, i in affects if k == AFFECTS_SERVICE]})
    _mail(notice, MAIL_PUBLISHED)
    commit_service_call(db.session)
    return notice


def _locked(notice) -> StatusNotice:
    begin_write(db.session)
    db.session.refresh(notice, with_for_update=True)
    if notice.status == RESOLVED:
        raise Conflict(_l("This notice is resolved; it can no longer change."))
    return notice


def edit_notice(actor, notice, *, kind, severity, texts, starts_at, ends_at=None, products=(),
                services=()) -> StatusNotice:
    """Correct a notice that is not resolved (texts, times, severity, what it affects). Customers are not mailed
    again: news goes out as an update. Admins and billing staff. Commits."""
    require_manager(actor)
    notice = _locked(notice)
    clean, affects = check_notice(kind=kind, severity=severity, texts=texts, starts_at=starts_at,
                                   ends_at=ends_at, products=products, services=services)
    changes = {}
    for name, value in (("kind", kind), ("severity", severity), ("texts", clean), ("starts_at", starts_at),
                        ("ends_at", ends_at)):
        old = getattr(notice, name)
        if old != value:
            changes[name] = ([old.isoformat() if old else None, value.isoformat() if value else None]
                             if name in ("starts_at", "ends_at") else
                             [sorted(old), sorted(value)] if name == "texts" else [old, value])
            setattr(notice, name, value)
    old_affects = sorted((a.kind, a.target_id) for a in notice.affects)
    if old_affects != sorted(affects):
        kept = {(a.kind, a.target_id): a for a in notice.affects}
        notice.affects = [kept.get((k, i)) or StatusNoticeAffect(kind=k, target_id=i) for k, i in affects]
        changes["affects"] = [[f"{k}:{i}" for k, i in old_affects], [f"{k}:{i}" for k, i in sorted(affects)]]
    if changes:
        notice.updated_at = utcnow()
        audit.record(actor, "status-notice", notice, "changed", changes)
    commit_service_call(db.session)
    return notice


def post_update(actor, notice, *, status, texts) -> StatusNoticeUpdate:
    """Add news to a notice that is not resolved, moving it to ``status`` (any but resolved: ``resolve_notice``
    ends it); the affected customers are mailed. Admins and billing staff. Commits."""
    require_manager(actor)
    notice = _locked(notice)
    errors = {}
    if status not in OPEN_STATUSES:
        errors["status"] = _l("Choose a status.")
    elif status == SCHEDULED and notice.kind != MAINTENANCE:
        errors["status"] = _l("Only planned maintenance is scheduled.")
    clean = check_update_texts(errors, texts)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    update = StatusNoticeUpdate(notice=notice, status=status, texts=clean, created_at=now,
                                author_id=getattr(actor, "id", None))
    db.session.add(update)
    old, notice.status, notice.updated_at = notice.status, status, now
    audit.record(actor, "status-notice", notice, "updated", {"status": [old, status], "update": update})
    _mail(notice, MAIL_UPDATED, update)
    commit_service_call(db.session)
    return update


def resolve_notice(actor, notice, *, texts=None) -> StatusNotice:
    """End a notice: resolved now, its banner gone, listed among the past notices; a closing text (optional, per
    language) becomes its last update; the affected customers are mailed. Admins and billing staff. Commits."""
    require_manager(actor)
    notice = _locked(notice)
    errors = {}
    clean = check_update_texts(errors, texts) if any(_clean(t) for t in (texts or {}).values()) else {}
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    update = None
    if clean:
        update = StatusNoticeUpdate(notice=notice, status=RESOLVED, texts=clean, created_at=now,
                                    author_id=getattr(actor, "id", None))
        db.session.add(update)
    old = notice.status
    notice.status, notice.resolved_at, notice.updated_at = RESOLVED, now, now
    audit.record(actor, "status-notice", notice, "resolved", {"status": [old, RESOLVED]})
    _mail(notice, MAIL_RESOLVED, update)
    commit_service_call(db.session)
    return notice


def wants_maintenance_mail(user) -> bool:
    return db.session.get(StatusMailOptOut, user.id) is None


def set_maintenance_mail(actor, user, wanted: bool) -> None:
    """Whether ``user`` (a customer) gets mail about planned maintenance of their services; incident mail always
    goes. The customer themselves (or the system). Commits."""
    if not (getattr(actor, "is_system", False) or getattr(actor, "id", None) == user.id):
        raise NotAllowed()
    begin_write(db.session)
    row = db.session.get(StatusMailOptOut, user.id)
    if wanted == (row is None):
        return
    if wanted:
        db.session.delete(row)
    else:
        db.session.add(StatusMailOptOut(user_id=user.id, created_at=utcnow()))
    audit.record(actor, "user", user, "maintenance-mail-on" if wanted else "maintenance-mail-off")
    commit_service_call(db.session)
