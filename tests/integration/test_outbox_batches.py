"""The mail of one commit (a gateway batch's acknowledgements, an import's) is delivered together: one SMTP
session, rows claimed and recorded in a few statements, and nothing lost or sent twice when the server
refuses one message or closes the session halfway."""
from datetime import timedelta

import sqlalchemy as sa

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.notify import tasks
from helpdesk.notify.models import FAILED, PENDING, SENT, OutboxEmail
from tests.conftest import selects_on


def _rows(count, refuse_index=None):
    ids = []
    for index in range(count):
        recipient = "nobody@example.test" if index == refuse_index else f"customer{index}@example.test"
        row = OutboxEmail(sender="Helpdesk <helpdesk@example.test>", recipient=recipient, recipient_name="",
                          subject=f"Mail {index}", body_text=f"Body {index}", headers={}, attachments=[],
                          message_id=f"<batch-{index}-{utcnow().timestamp()}@helpdesk.example.test>",
                          status=PENDING, attempts=0, next_attempt_at=utcnow() - timedelta(seconds=1),
                          created_at=utcnow())
        db.session.add(row)
        db.session.flush()
        ids.append(row.id)
    db.session.commit()
    return ids


def _statuses(ids):
    db.session.rollback()
    return dict(db.session.execute(sa.select(OutboxEmail.id, OutboxEmail.status)
                                   .where(OutboxEmail.id.in_(ids))).all())


def _smtp_app(app, smtp):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)


def test_a_batch_goes_through_one_smtp_session(app, smtp):
    _smtp_app(app, smtp)
    ids = _rows(12)
    assert tasks.deliver_many(*ids) == ["sent"] * 12
    assert sorted(m["Subject"] for m in smtp.messages) == sorted(f"Mail {i}" for i in range(12))
    assert len({envelope["session"] for envelope in smtp.envelopes}) == 1
    assert set(_statuses(ids).values()) == {SENT}


def test_a_large_batch_is_read_once_not_again_row_by_row_after_each_progress_commit(app, smtp):
    """Progress is committed every SETTLE_EVERY rows; the rows still to send are not read again one by one."""
    _smtp_app(app, smtp)
    count = tasks.SETTLE_EVERY * 2 + 5
    ids = _rows(count)
    with selects_on("outbox_emails") as selects:
        assert tasks.deliver_many(*ids) == ["sent"] * count
    assert len(smtp.messages) == count
    assert sorted(m["Subject"] for m in smtp.messages) == sorted(f"Mail {i}" for i in range(count))
    assert set(_statuses(ids).values()) == {SENT}
    assert len(selects) <= 3, selects  # the rows to render, the rendered rows read back (and nothing per row)


def test_a_refused_recipient_fails_alone_and_the_session_goes_on(app, smtp):
    _smtp_app(app, smtp)
    smtp.handler.refuse = "nobody@example.test"
    ids = _rows(6, refuse_index=2)
    assert tasks.deliver_many(*ids) == ["sent", "sent", "failed", "sent", "sent", "sent"]
    assert len(smtp.messages) == 5 and len({envelope["session"] for envelope in smtp.envelopes}) == 1
    statuses = _statuses(ids)
    assert statuses[ids[2]] == FAILED and [statuses[i] for i in ids if i != ids[2]] == [SENT] * 5
    failed = db.session.get(OutboxEmail, ids[2])
    assert "550" in failed.last_error


def test_a_server_that_closes_the_session_gets_a_new_one_and_nothing_twice(app, smtp):
    # Exchange and Postfix limit messages per session and answer "421" when it is used up.
    _smtp_app(app, smtp)
    smtp.handler.per_session = 3
    ids = _rows(8)
    assert tasks.deliver_many(*ids) == ["sent"] * 8
    subjects = [m["Subject"] for m in smtp.messages]
    assert sorted(subjects) == sorted(f"Mail {i}" for i in range(8)) and len(set(subjects)) == 8
    assert len({envelope["session"] for envelope in smtp.envelopes}) == 3
    assert set(_statuses(ids).values()) == {SENT}


def test_a_server_that_is_down_leaves_every_row_for_a_later_try(app, smtp):
    _smtp_app(app, smtp)
    ids = _rows(4)
    smtp.stop()
    assert tasks.deliver_many(*ids) == ["retry"] * 4
    assert set(_statuses(ids).values()) == {PENDING}
    smtp.start()
    # Due again once the backoff has passed: then they go, once each.
    db.session.execute(sa.update(OutboxEmail).where(OutboxEmail.id.in_(ids))
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert tasks.deliver_many(*ids) == ["sent"] * 4
    assert len(smtp.messages) == 4


def test_rows_already_sent_or_claimed_elsewhere_are_skipped(app, smtp):
    _smtp_app(app, smtp)
    ids = _rows(3)
    assert tasks.deliver_many(ids[0]) == ["sent"]
    assert tasks.deliver_many(*ids) == ["skipped", "sent", "sent"]
    assert len(smtp.messages) == 3
