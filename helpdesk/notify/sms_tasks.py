"""Jobs of the SMS outbox: send rows through the configured provider (each row claimed by one statement before
the provider is called, so two workers never send it twice), retry temporary failures with a back-off, and a
periodic sweep for rows that are due again or whose job was lost."""
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue
from helpdesk.notify.sms import SMS_QUEUE, SmsResult, current_provider
from helpdesk.notify.sms_models import FAILED, PENDING, SENDING, SENT, SmsMessage
from helpdesk.notify.tasks import backoff

log = logging.getLogger(__name__)
NO_PROVIDER = "not sent: no SMS provider (SMS_PROVIDER is empty)"
SWEEP_TASK = "helpdesk.notify.sms_tasks.sweep_task"


def _due():
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    return sa.or_(sa.and_(SmsMessage.status == PENDING, SmsMessage.next_attempt_at <= now),
                  sa.and_(SmsMessage.status == SENDING, SmsMessage.claimed_at < stale))


def _claim(sms_id: int, provider_name: str) -> bool:
    """Take the row for sending if it is due (one statement, committed): a row another worker holds, or one
    already sent or failed, is left alone. A row whose worker died mid-send is taken again after
    OUTBOX_CLAIM_TIMEOUT; the provider recognises its reference, so the retry does not send it twice."""
    taken = db.session.execute(
        sa.update(SmsMessage).where(SmsMessage.id == sms_id, _due())
        .values(status=SENDING, claimed_at=utcnow(), attempts=SmsMessage.attempts + 1, provider=provider_name)
        .returning(SmsMessage.id).execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return bool(taken)


def _settle(sms_id: int, **values):
    db.session.rollback()
    db.session.execute(sa.update(SmsMessage).where(SmsMessage.id == sms_id, SmsMessage.status == SENDING)
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def deliver_sms(*sms_ids):
    """Send the due rows among ``sms_ids``: a result per id ("sent", "retry", "failed", "skipped", "error").
    Idempotent: a sent or failed row is never sent again. One failing row never stops the rest."""
    results = []
    for sms_id in sms_ids:
        try:
            results.append(_deliver_one(sms_id))
        except Exception:  # e.g. the database went away: the row stays due and the sweep retries it
            db.session.rollback()
            log.exception("sms %s: delivery failed", sms_id)
            results.append("error")
    return results


def _deliver_one(sms_id: int) -> str:
    provider = current_provider()
    if not _claim(sms_id, provider.name if provider else ""):
        return "skipped"
    if provider is None:
        _settle(sms_id, status=FAILED, last_error=NO_PROVIDER)
        log.info("sms %s %s", sms_id, NO_PROVIDER)
        return "failed"
    row = db.session.get(SmsMessage, sms_id)
    phone, text, reference, attempts = row.phone, row.text, row.reference, row.attempts
    db.session.rollback()  # no transaction stays open while the provider answers
    try:
        result = provider.send(phone, text, reference=reference)
    except Exception as exc:  # an adapter's bug: its message may hold anything, so only the type is kept
        log.warning("sms %s: provider %s raised %s", sms_id, provider.name, type(exc).__name__)
        result = SmsResult(accepted=False, error=f"{provider.name} failed ({type(exc).__name__})", retry=True)
    if result.accepted:
        _settle(sms_id, status=SENT, sent_at=utcnow(), provider_id=result.provider_id[:100], last_error=None)
        log.info("sms %s sent to %s through %s (%s)", sms_id, phone, provider.name, result.provider_id)
        return "sent"
    if result.retry and attempts < current_app.config["SMS_MAX_ATTEMPTS"]:
        next_attempt_at = utcnow() + backoff(attempts)
        _settle(sms_id, status=PENDING, last_error=result.error, next_attempt_at=next_attempt_at)
        log.warning("sms %s to %s not sent (attempt %s), retry at %s: %s", sms_id, phone, attempts,
                    next_attempt_at, result.error)
        return "retry"
    _settle(sms_id, status=FAILED, last_error=result.error)
    log.warning("sms %s to %s failed for good (attempt %s): %s", sms_id, phone, attempts, result.error)
    return "failed"


def sweep(limit: int = 500) -> int:
    """Enqueue delivery of rows that are due again (a retry's time came) or whose worker died mid-send."""
    ids = db.session.scalars(sa.select(SmsMessage.id).where(_due())
                             .order_by(SmsMessage.next_attempt_at).limit(limit)).all()
    db.session.rollback()
    if ids:
        enqueue(deliver_sms, *ids, queue=SMS_QUEUE)
    return len(ids)


def sweep_task(period: str = "") -> int:
    """The scheduler's job "sms.sweep" (every SMS_SWEEP_MINUTES)."""
    return sweep()
