"""Jobs of the notify package: deliver one outbox row; sweep for rows that are due or were lost."""
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue
from helpdesk.notify import mailer
from helpdesk.notify.models import FAILED, PENDING, SENDING, SENT, OutboxEmail
from helpdesk.notify.service import DELIVER_TASK, MAIL_QUEUE, render

log = logging.getLogger(__name__)


def _claim(outbox_id: int) -> bool:
    """Atomically take a due row for sending; False if another worker has it or it is done."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    result = db.session.execute(
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id == outbox_id,
            sa.or_(
                sa.and_(OutboxEmail.status == PENDING, OutboxEmail.next_attempt_at <= now),
                sa.and_(OutboxEmail.status == SENDING, OutboxEmail.claimed_at < stale),
            ),
        )
        .values(status=SENDING, claimed_at=now, attempts=OutboxEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s, 1 min, 2 min, ... up to OUTBOX_MAX_BACKOFF."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), current_app.config["OUTBOX_MAX_BACKOFF"]))


def deliver(outbox_id: int):
    """Send one outbox row if it is due; idempotent (a sent row is never sent again). A message that can never
    be built or sent (bad address, broken header, a final refusal) is marked failed with the reason; after any
    other error the row is released for a later try, never left claimed."""
    if not _claim(outbox_id):
        return "skipped"
    row = db.session.get(OutboxEmail, outbox_id)
    attempts, recipient = row.attempts, row.recipient
    try:
        if row.render_with:
            render(row)
            db.session.commit()  # rendered once: a retry sends exactly this
        mailer.send(row)
    except mailer.PermanentFailure as exc:
        log.warning("outbox %s to %s failed for good: %s", outbox_id, recipient, exc)
        _settle(outbox_id, status=FAILED, last_error=str(exc))
        return "failed"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        next_attempt_at = utcnow() + backoff(attempts)
        log.warning("outbox %s to %s not sent (attempt %s), retry at %s: %s",
                    outbox_id, recipient, attempts, next_attempt_at, error)
        _settle(outbox_id, status=PENDING, last_error=error, next_attempt_at=next_attempt_at)
        return "retry"
    _settle(outbox_id, status=SENT, sent_at=utcnow(), last_error=None)
    log.info("outbox %s sent to %s", outbox_id, recipient)
    return "sent"


def _settle(outbox_id: int, **values):
    """Record how an attempt ended, in a transaction of its own: whatever the attempt left in the session (a
    half-rendered row, a failed flush awaiting rollback) is rolled back first, so the row never stays claimed."""
    db.session.rollback()
    db.session.execute(
        sa.update(OutboxEmail).where(OutboxEmail.id == outbox_id, OutboxEmail.status == SENDING)
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire_all()


def deliver_many(*outbox_ids):
    """Deliver each of ``outbox_ids`` (the mail of one commit); one failing row never stops the rest."""
    results = []
    for outbox_id in outbox_ids:
        try:
            results.append(deliver(outbox_id))
        except Exception:  # e.g. the database went away: the row stays due and a sweep retries it
            db.session.rollback()
            log.exception("outbox %s: delivery failed", outbox_id)
            results.append("error")
    return results


def sweep(limit: int = 500) -> int:
    """Enqueue delivery of rows that are due again or whose worker died mid-send. Returns how many."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    ids = db.session.scalars(
        sa.select(OutboxEmail.id)
        .where(sa.or_(
            sa.and_(OutboxEmail.status == PENDING, OutboxEmail.next_attempt_at <= now),
            sa.and_(OutboxEmail.status == SENDING, OutboxEmail.claimed_at < stale),
        ))
        .order_by(OutboxEmail.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    for outbox_id in ids:
        enqueue(DELIVER_TASK, outbox_id, queue=MAIL_QUEUE)
    return len(ids)
