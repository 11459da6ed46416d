"""Jobs of the notify package: deliver one outbox row; sweep for rows that are due or were lost."""
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk.db import begin_write, utcnow
from helpdesk.extensions import db
from helpdesk.jobs import enqueue
from helpdesk.notify import mailer
from helpdesk.notify.models import FAILED, PENDING, SENDING, SENT, OutboxEmail
from helpdesk.notify.service import MAIL_QUEUE, prefetch_for_render, render

log = logging.getLogger(__name__)
# Sent rows are recorded every so many messages: a process killed mid-batch sends at most this many twice
# (after OUTBOX_CLAIM_TIMEOUT), never none.
SETTLE_EVERY = 50


def _claim(outbox_ids) -> list[int]:
    """Atomically take the due rows among ``outbox_ids`` for sending (one statement); returns the ids
    taken. A row another worker holds, or one already done, is left alone."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    taken = db.session.execute(
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id.in_(outbox_ids),
            sa.or_(
                sa.and_(OutboxEmail.status == PENDING, OutboxEmail.next_attempt_at <= now),
                sa.and_(OutboxEmail.status == SENDING, OutboxEmail.claimed_at < stale),
            ),
        )
        .values(status=SENDING, claimed_at=now, attempts=OutboxEmail.attempts + 1)
        .returning(OutboxEmail.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return sorted(taken)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 30 s, 1 min, 2 min, ... up to OUTBOX_MAX_BACKOFF."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), current_app.config["OUTBOX_MAX_BACKOFF"]))


def deliver(outbox_id: int):
    """Send one outbox row if it is due: "sent", "failed", "retry" or "skipped" (see ``deliver_many``)."""
    return deliver_many(outbox_id)[0]


def deliver_many(*outbox_ids):
    """Send the due rows among ``outbox_ids`` (the mail of one commit, or of a whole import), in one SMTP
    session, with one statement to claim them and one to record those sent. Idempotent: a sent row is never
    sent again. A message that can never be built or sent (bad address, broken header, a final refusal) is
    marked failed with the reason; after any other error the row is released for a later try, never left
    claimed. One failing row never stops the rest. Returns a result per id, in order."""
    try:
        claimed = set(_claim(outbox_ids))
    except Exception:  # e.g. the database went away: the rows stay due and a sweep retries them
        db.session.rollback()
        log.exception("outbox %s: delivery failed", ", ".join(map(str, outbox_ids)))
        return ["error"] * len(outbox_ids)
    results = {outbox_id: "skipped" for outbox_id in outbox_ids}
    rows = _rendered(claimed, results)
    for row in rows:
        # What goes out is the rows as rendered and read back: out of the session, the commits that record
        # progress every SETTLE_EVERY rows do not expire them (each would be read again, one query per row).
        db.session.expunge(row)
    sent = []
    with mailer.Connection() as connection:
        for row in rows:
            try:
                connection.send(row)
            except Exception as exc:
                results[row.id] = _failed(row, exc)
                continue
            results[row.id] = "sent"
            sent.append((row.id, row.recipient))
            if len(sent) == SETTLE_EVERY:
                _settle_sent(sent)
                sent = []
    _settle_sent(sent)
    return [results[outbox_id] for outbox_id in outbox_ids]


# When an import's held mail is shared between two processes (jobs.held), it goes in calls of this many rows, so
# the process that is done first can take over the calls the other has not started.
deliver_many.held_share = 100


def _rendered(claimed, results):
    """The claimed rows, each rendered once (a retry sends exactly this) and committed together. A row
    whose rendering fails is released with the error (the others are rendered again without it)."""
    pending = set(claimed)
    while pending:
        # It reads, then writes what it rendered: on SQLite it takes the write lock first, so a delivery running
        # beside it (another worker, the other half of an import's mail) makes it wait rather than fail.
        begin_write(db.session)
        rows = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.id.in_(pending))
                                  .order_by(OutboxEmail.id)).all()
        try:
            broken = None
            loaded = prefetch_for_render(rows)  # noqa: F841 (kept alive while rendering)
            for row in rows:
                broken = row
                render(row)
            broken = None
            ids = [row.id for row in rows]
            db.session.commit()
            # The commit expired them: read them back in one query, not one per row.
            return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.id.in_(ids))
                                      .order_by(OutboxEmail.id)).all()
        except Exception as exc:
            db.session.rollback()
            if broken is None:  # the commit failed: no single row to blame, so one commit per row
                return _rendered_one_by_one(rows, results)
            results[broken.id] = _failed(broken, exc)
            pending.discard(broken.id)
    return []


def _rendered_one_by_one(rows, results):
    ready = []
    for row in rows:
        try:
            render(row)
            db.session.commit()
        except Exception as exc:
            results[row.id] = _failed(row, exc)
            continue
        ready.append(row.id)
    return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.id.in_(ready))
                              .order_by(OutboxEmail.id)).all() if ready else []


def _failed(row, exc):
    """Record why ``row`` was not sent: failed for good, or released for a later try with a backoff. What the
    attempt left in the session is rolled back first."""
    db.session.rollback()
    outbox_id, recipient, attempts = row.id, row.recipient, row.attempts
    if isinstance(exc, mailer.PermanentFailure):
        log.warning("outbox %s to %s failed for good: %s", outbox_id, recipient, exc)
        values, result = {"status": FAILED, "last_error": str(exc)}, "failed"
    else:
        error = f"{type(exc).__name__}: {exc}"
        next_attempt_at = utcnow() + backoff(attempts)
        log.warning("outbox %s to %s not sent (attempt %s), retry at %s: %s",
                    outbox_id, recipient, attempts, next_attempt_at, error)
        values, result = {"status": PENDING, "last_error": error, "next_attempt_at": next_attempt_at}, "retry"
    _settle(outbox_id, **values)
    return result


def _settle(outbox_id: int, **values):
    """Record how an attempt ended, in a transaction of its own: whatever the attempt left in the session (a
    half-rendered row, a failed flush awaiting rollback) is rolled back first, so the row never stays claimed."""
    db.session.rollback()
    db.session.execute(
        sa.update(OutboxEmail).where(OutboxEmail.id == outbox_id, OutboxEmail.status == SENDING)
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()


def _settle_sent(sent):
    """Mark the rows sent: one statement, one commit."""
    if not sent:
        return
    db.session.rollback()
    db.session.execute(
        sa.update(OutboxEmail).where(OutboxEmail.id.in_([outbox_id for outbox_id, _ in sent]),
                                     OutboxEmail.status == SENDING)
        .values(status=SENT, sent_at=utcnow(), last_error=None).execution_options(synchronize_session=False)
    )
    db.session.commit()
    for outbox_id, recipient in sent:
        log.info("outbox %s sent to %s", outbox_id, recipient)


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
        enqueue(deliver, outbox_id, queue=MAIL_QUEUE)
    return len(ids)
