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
    """Send one outbox row if it is due; idempotent (a sent row is never sent again)."""
    if not _claim(outbox_id):
        return "skipped"
    row = db.session.get(OutboxEmail, outbox_id)
    try:
        if row.render_with:
            render(row)
            db.session.commit()  # rendered once: a retry sends exactly this
        mailer.send(row)
    except mailer.PermanentFailure as exc:
        row.status, row.last_error = FAILED, str(exc)
        log.warning("outbox %s to %s refused permanently: %s", row.id, row.recipient, exc)
        db.session.commit()
        return "failed"
    except Exception as exc:
        row.status = PENDING
        row.last_error = f"{type(exc).__name__}: {exc}"
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        log.warning("outbox %s to %s not sent (attempt %s), retry at %s: %s",
                    row.id, row.recipient, row.attempts, row.next_attempt_at, row.last_error)
        db.session.commit()
        return "retry"
    row.status, row.sent_at, row.last_error = SENT, utcnow(), None
    db.session.commit()
    log.info("outbox %s sent to %s", row.id, row.recipient)
    return "sent"


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
