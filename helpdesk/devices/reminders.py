"""Contract reminders before the end (B1): a daily scheduler job tells each device's account (members with the
services permission) at DEVICES_REMINDER_DAYS days before its service contract ends, by email and SMS. A row per
(device, contract end, threshold) makes each reminder go out once, however often or in how many processes the day
runs; a renewed contract's new end is reminded of again."""
import logging
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from helpdesk.accounts.identity_models import account_recipients
from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.db import begin_write
from helpdesk.devices.contract_models import ContractReminder
from helpdesk.devices.mail_notices import CONTRACT_EXPIRING
from helpdesk.devices.models import PLAN_CONTRACT, Device
from helpdesk.devices.registry import today
from helpdesk.extensions import db
from helpdesk.notify.channels import Notice, notify
from helpdesk.scheduler import Job, parse_time_of_day

log = logging.getLogger(__name__)

TASK = "helpdesk.devices.reminders.run_day_task"
DEFAULT_DAYS = (30, 7, 0)


def thresholds() -> list[int]:
    """DEVICES_REMINDER_DAYS, largest first (days before the contract's end; 0: the day it ends)."""
    days = current_app.config.get("DEVICES_REMINDER_DAYS", DEFAULT_DAYS)
    return sorted({int(d) for d in days if int(d) >= 0}, reverse=True)


def due_threshold(days_left: int, steps: list[int]) -> int | None:
    """The threshold a contract ``days_left`` from its end has reached (the smallest not below it), None when
    it is further off than the largest or already past its end."""
    reached = [step for step in steps if step >= days_left >= 0]
    return min(reached) if reached else None


def send_reminders(day: date) -> int:
    """Send the reminders due on ``day`` (each once); returns how many devices were reminded. Commits per
    device."""
    steps = thresholds()
    if not steps:
        return 0
    candidates = db.session.execute(
        sa.select(Device.id, Device.service_ends_on).where(
            Device.plan == PLAN_CONTRACT, Device.confirmed_at.is_not(None),
            Device.service_ends_on >= day, Device.service_ends_on <= day + timedelta(days=steps[0]))
        .order_by(Device.id)).all()
    db.session.commit()
    sent = 0
    for device_id, ends_on in candidates:
        threshold = due_threshold((ends_on - day).days, steps)
        if threshold is not None and _remind(device_id, ends_on, threshold, day):
            sent += 1
    return sent


def _remind(device_id, ends_on, threshold, day) -> bool:
    begin_write(db.session)
    try:
        sent_before = db.session.scalar(sa.select(ContractReminder.id).where(
            ContractReminder.device_id == device_id, ContractReminder.ends_on == ends_on,
            ContractReminder.days_before <= threshold).limit(1))
        if sent_before is not None:  # this threshold, or a nearer one already (a late run), went out
            db.session.rollback()
            return False
        device = db.session.scalar(sa.select(Device).where(Device.id == device_id)
                                   .options(joinedload(Device.device_type)))
        if device is None or device.service_ends_on != ends_on or device.plan != PLAN_CONTRACT:
            db.session.rollback()
            return False
        db.session.add(ContractReminder(device_id=device_id, ends_on=ends_on, days_before=threshold))
        db.session.flush()  # a second process reminding at the same moment fails here, before any notice
        notify(Notice(CONTRACT_EXPIRING, account_recipients(device.account_id, PERM_SERVICES),
                      {"device": device, "ends_on": ends_on, "days": (ends_on - day).days}, automatic=True))
        db.session.commit()
        return True
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False


def run_day_task(day_iso: str | None = None) -> int:
    """The scheduler's job: the reminders of ``day_iso`` (YYYY-MM-DD; the business day when None)."""
    day = date.fromisoformat(day_iso) if day_iso else today()
    count = send_reminders(day)
    log.info("device contract reminders %s: %d", day.isoformat(), count)
    return count


def register(app) -> None:
    """Run the reminders daily at DEVICES_REMINDER_RUN_AT (local time; "" switches them off), as each app's own
    settings say (a process may build several apps)."""
    from helpdesk import scheduler

    def make(config):
        run_at = config.get("DEVICES_REMINDER_RUN_AT")
        return Job("devices.contract_reminders", TASK, daily_at=parse_time_of_day(run_at)) if run_at else None

    scheduler.register_when("devices.contract_reminders", make)
