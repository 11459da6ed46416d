"""The CRM sync: device events become outbox rows in the caller's transaction (``record_event``, a follower of
helpdesk.devices.events), a job after the commit pushes them (``send_device``: the device's state as it is when
sent, so the latest wins, and a note per contract, case, transfer or confirmation), retried with a growing delay,
never lost (the rows stay until sent; ``sweep_task`` hands due ones over again) and never applied twice (the CRM's
id is remembered from the first push and looked up by our code before a record is created; a note is marked sent
as soon as the CRM took it). The nightly ``reconcile_task`` compares our devices with the CRM's records and queues
a push for each difference. Staff see the state and failures, and retry, through ``overview`` and ``retry``.

Nothing is queued while CRM_PROVIDER is empty. Errors are stored and logged through ``crm.redact``: the API key
travels in the query string and never reaches a log line, an exception message or a row."""
import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext

from helpdesk import audit
from helpdesk.accounts.memberships import account_name
from helpdesk.audit.sentences import register
from helpdesk.billing.money import format_amount
from helpdesk.db import commit_service_call, utcnow
from helpdesk.devices import crm
from helpdesk.devices.crm_models import (
    FAILED,
    NOTE_KINDS,
    PENDING,
    RECONCILE,
    SENDING,
    SENT,
    CrmDeviceLink,
    CrmOutboxEntry,
)
from helpdesk.devices.models import Device
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue, enqueue_after_commit, task_path

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)  # a row claimed longer ago than this was left by a dead worker


def _secrets():
    return (current_app.config.get("DIDAR_API_KEY") or "",)


def redacted(text) -> str:
    return crm.redact(text, _secrets())


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "__mapper__"):
        return getattr(value, "id", None)
    return str(value)


# --------------------------------------------------------------------------- queueing (the caller's transaction)

def record_event(kind: str, device, details: dict) -> None:
    """Follower of helpdesk.devices.events: one outbox row for ``kind`` in the caller's transaction, and the push
    queued for after its commit (several events of one commit make one push). Nothing when no CRM is configured."""
    if not current_app.config.get("CRM_PROVIDER"):
        return
    db.session.add(CrmOutboxEntry(device=device, kind=kind[:40], details=_jsonable(details or {}),
                                  status=PENDING, next_attempt_at=utcnow()))
    enqueue_after_commit(send_device, device)


# --------------------------------------------------------------------------- what the CRM is told

def device_record(device: Device) -> crm.DeviceRecord:
    """``device`` as the CRM keeps it (the owner is the account's name)."""
    from helpdesk.devices.status import status_of

    def day(value):
        return value.isoformat() if value else ""

    kind = device.device_type
    title = " ".join(part for part in (kind.label if kind else "", device.serial_number or device.dongle_id) if part)
    return crm.DeviceRecord(
        code=crm.device_code(device.id), title=title[:200], owner=account_name(device.account_id) or "",
        fields={"device_type": kind.code if kind else "", "serial_number": device.serial_number or "",
                "dongle_id": device.dongle_id or "", "installed_on": day(device.installed_on),
                "warranty_ends_on": day(device.warranty_ends_on), "service_ends_on": day(device.service_ends_on),
                "plan": device.plan or "", "status": status_of(device).code,
                "installation_confirmed": "yes" if device.confirmed_at else "no"})


def _note(entry: CrmOutboxEntry) -> str:
    """The note an event leaves on the CRM's record, in the desk's default language (the seller's staff read it)."""
    details = entry.details or {}
    language = current_app.config.get("DEFAULT_LOCALE", "en")
    with force_locale(language):
        if entry.kind == "contract.added":
            return gettext("Service contract added, until %(day)s.", day=details.get("ends_on") or "?")
        if entry.kind == "case.charged":
            amount, currency = details.get("amount"), details.get("currency")
            if isinstance(amount, int) and currency:
                amount = format_amount(amount, currency, language)
            return gettext("Pay-per-case service charged for ticket %(ticket)s: %(amount)s (invoice %(invoice)s).",
                           ticket=details.get("ticket", "?"), amount=amount if amount is not None else "?",
                           invoice=details.get("invoice") or "?")
        if entry.kind == "device.transferred":
            return gettext("Ownership transferred to another customer account.")
        return gettext("Installation confirmed by the buyer.")


# --------------------------------------------------------------------------- sending (a job after the commit)

def _claim(device_id: int) -> list[int]:
    now = utcnow()
    taken = db.session.execute(
        sa.update(CrmOutboxEntry)
        .where(CrmOutboxEntry.device_id == device_id,
               sa.or_(sa.and_(CrmOutboxEntry.status == PENDING, CrmOutboxEntry.next_attempt_at <= now),
                      sa.and_(CrmOutboxEntry.status == SENDING, CrmOutboxEntry.claimed_at < now - CLAIM_TIMEOUT)))
        .values(status=SENDING, claimed_at=now, attempts=CrmOutboxEntry.attempts + 1)
        .returning(CrmOutboxEntry.id).execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(taken)


def backoff(attempts: int) -> timedelta:
    """CRM_RETRY_SECONDS, then twice as long each try, at most CRM_MAX_BACKOFF."""
    config = current_app.config
    return timedelta(seconds=min(config["CRM_RETRY_SECONDS"] * 2 ** max(attempts - 1, 0), config["CRM_MAX_BACKOFF"]))


def send_device(device_id: int) -> str:
    """Push the due outbox rows of ``device_id``: "sent", "retry", "failed" or "skipped" (nothing due, or no CRM
    configured: the rows wait). Idempotent; safe to run in several workers at once (rows are claimed first)."""
    client = crm.current_client()
    if client is None:
        return "skipped"
    claimed = _claim(device_id)
    if not claimed:
        return "skipped"
    try:
        _push(client, device_id, claimed)
    except Exception as exc:  # a failed push keeps its rows: retried later, or shown to staff as failed
        return _failed(device_id, claimed, exc)
    db.session.execute(sa.update(CrmOutboxEntry).where(CrmOutboxEntry.id.in_(claimed))
                       .values(status=SENT, sent_at=utcnow(), last_error=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    log.info("crm: device %s pushed (%d event(s))", device_id, len(claimed))
    return "sent"


def _push(client, device_id, claimed):
    device = db.session.get(Device, device_id)
    if device is None:  # deleted since: nothing left to tell
        return
    link = db.session.scalar(sa.select(CrmDeviceLink).where(CrmDeviceLink.device_id == device_id))
    record = device_record(device)
    crm_id = link.crm_id if link else client.find_device(record.code)
    crm_id = client.push_device(record, crm_id)
    if link is None:
        db.session.add(CrmDeviceLink(device_id=device_id, crm_id=crm_id, pushed_at=utcnow()))
    else:
        link.crm_id, link.pushed_at = crm_id, utcnow()
    db.session.commit()  # the CRM's id is ours from here on, whatever happens to the notes
    notes = db.session.scalars(sa.select(CrmOutboxEntry).where(
        CrmOutboxEntry.id.in_(claimed), CrmOutboxEntry.kind.in_(NOTE_KINDS),
        CrmOutboxEntry.note_sent.is_(False)).order_by(CrmOutboxEntry.id)).all()
    for entry in notes:
        client.push_event(crm_id, entry.kind, _note(entry), key=f"helpdesk-crm-{entry.id}")
        entry.note_sent = True
        db.session.commit()  # one note, one commit: a retry never notes it twice


def _failed(device_id, claimed, exc) -> str:
    db.session.rollback()
    error = redacted(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:2000]
    attempts = db.session.scalar(sa.select(sa.func.max(CrmOutboxEntry.attempts))
                                 .where(CrmOutboxEntry.id.in_(claimed))) or 1
    final = not getattr(exc, "retry", True) or attempts >= current_app.config["CRM_MAX_ATTEMPTS"]
    values = {"status": FAILED} if final else {"status": PENDING, "next_attempt_at": utcnow() + backoff(attempts)}
    db.session.execute(sa.update(CrmOutboxEntry).where(CrmOutboxEntry.id.in_(claimed))
                       .values(last_error=error, **values).execution_options(synchronize_session=False))
    db.session.commit()
    log.warning("crm: device %s not pushed (attempt %s, %s): %s", device_id, attempts,
                "failed" if final else "will retry", error)
    return "failed" if final else "retry"


# --------------------------------------------------------------------------- periodic jobs

def sweep(limit: int = 500) -> int:
    """Hand over again the devices whose rows are due (a retry's time came, or a worker died mid-push)."""
    now = utcnow()
    device_ids = db.session.scalars(
        sa.select(CrmOutboxEntry.device_id).where(sa.or_(
            sa.and_(CrmOutboxEntry.status == PENDING, CrmOutboxEntry.next_attempt_at <= now),
            sa.and_(CrmOutboxEntry.status == SENDING, CrmOutboxEntry.claimed_at < now - CLAIM_TIMEOUT)))
        .distinct().limit(limit)).all()
    db.session.rollback()
    for device_id in device_ids:
        enqueue(send_device, device_id)
    return len(device_ids)


def sweep_task(period: str) -> None:
    """The scheduler's job every few minutes (a no-op without a CRM)."""
    if crm.current_client() is not None:
        sweep()


def reconcile() -> int:
    """Compare every device with the CRM's records; queue a push for each one missing there or different, and
    remember the CRM's id of a record we made but lost track of. Returns how many pushes were queued."""
    client = crm.current_client()
    if client is None:
        return 0
    remote = {item.code: item for item in client.list_devices()}
    waiting = set(db.session.scalars(sa.select(CrmOutboxEntry.device_id)
                                     .where(CrmOutboxEntry.status.in_((PENDING, SENDING)))))
    links = {link.device_id: link for link in db.session.scalars(sa.select(CrmDeviceLink))}
    queued = 0
    for device in db.session.scalars(sa.select(Device).order_by(Device.id)):
        record, there = device_record(device), remote.get(crm.device_code(device.id))
        if there is not None and device.id not in links:
            db.session.add(CrmDeviceLink(device_id=device.id, crm_id=there.crm_id, pushed_at=utcnow()))
        if device.id in waiting or (there is not None and there.fingerprint() == record.fingerprint()):
            continue
        db.session.add(CrmOutboxEntry(device_id=device.id, kind=RECONCILE, status=PENDING, next_attempt_at=utcnow(),
                                      details={"reason": "missing" if there is None else "different"}))
        enqueue_after_commit(send_device, device.id)
        queued += 1
    db.session.commit()
    log.info("crm: reconcile queued %d push(es)", queued)
    return queued


def reconcile_task(period: str) -> None:
    """The nightly scheduler job."""
    reconcile()


# --------------------------------------------------------------------------- staff

@dataclass(frozen=True)
class SyncOverview:
    provider: str
    counts: dict  # status → rows
    linked: int  # devices the CRM has a record of
    failed: list  # CrmOutboxEntry rows that failed for good, newest first
    waiting: list  # rows pending or being sent


def _require_staff(actor):
    if not (getattr(actor, "is_system", False) or getattr(actor, "is_agent", False)):
        raise NotAllowed()


def overview(actor, limit: int = 50) -> SyncOverview:
    """The sync's state for the console: rows per status, the failures and what waits (agents and admins)."""
    _require_staff(actor)
    counts = dict(db.session.execute(sa.select(CrmOutboxEntry.status, sa.func.count())
                                     .group_by(CrmOutboxEntry.status)).all())
    linked = db.session.scalar(sa.select(sa.func.count()).select_from(CrmDeviceLink)) or 0

    def rows(*statuses):
        return db.session.scalars(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.status.in_(statuses))
                                  .order_by(CrmOutboxEntry.id.desc()).limit(limit)).all()

    return SyncOverview(provider=current_app.config.get("CRM_PROVIDER") or "", counts=counts, linked=linked,
                        failed=rows(FAILED), waiting=rows(PENDING, SENDING))


def retry(actor, entry_id: int) -> CrmOutboxEntry:
    """Send a failed row again (with the other failed rows of its device), now; audited. Admins only."""
    if not getattr(actor, "is_admin", False):
        raise NotAllowed()
    entry = db.session.get(CrmOutboxEntry, entry_id)
    if entry is None:
        raise NotFound()
    if entry.status == FAILED:
        db.session.execute(sa.update(CrmOutboxEntry)
                           .where(CrmOutboxEntry.device_id == entry.device_id, CrmOutboxEntry.status == FAILED)
                           .values(status=PENDING, attempts=0, next_attempt_at=utcnow())
                           .execution_options(synchronize_session=False))
        audit.record(actor, "crm-outbox", entry.id, "retried", {"device": entry.device_id, "kind": entry.kind})
        enqueue_after_commit(send_device, entry.device_id)
    commit_service_call(db.session)
    return entry


register("crm-outbox", "retried", _l("Sent the CRM update of device #%(device)s again."))


SWEEP_JOB, RECONCILE_JOB = "crm.sweep", "crm.reconcile"


def register_hooks(app) -> None:
    """Follow the device events; with a CRM configured, run the sweep every five minutes and the reconcile nightly
    at CRM_RECONCILE_AT ("" switches it off)."""
    from helpdesk import scheduler
    from helpdesk.devices import events

    events.follow(record_event)
    scheduler.register_when(SWEEP_JOB, _sweep_job)
    scheduler.register_when(RECONCILE_JOB, _reconcile_job)


def _sweep_job(config):
    from helpdesk import scheduler

    return scheduler.Job(SWEEP_JOB, task_path(sweep_task), every_minutes=5) if config.get("CRM_PROVIDER") else None


def _reconcile_job(config):
    from helpdesk import scheduler

    if not (config.get("CRM_PROVIDER") and config.get("CRM_RECONCILE_AT")):
        return None
    return scheduler.Job(RECONCILE_JOB, task_path(reconcile_task),
                         daily_at=scheduler.parse_time_of_day(config["CRM_RECONCILE_AT"]))
