"""Settings kept by each process between transactions (helpdesk.stamps), on both databases: a second read asks
the database only for the stamps; a change made by another process (another app on the same database) is seen
from the reader's next transaction; a change rolled back is never kept; and a delete through an ORM statement
moves the stamp as a flush does."""
import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import sla
from helpdesk.tickets.models import HIGH, NORMAL
from helpdesk.tickets.sla.lookup import DEFAULT_TARGETS, target_for
from helpdesk.tickets.sla_models import SLATarget


class Statements:
    """The SQL the engine runs while it is open."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _note(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._note)

    def reading(self, table):
        return [s for s in self.seen if s.lstrip().upper().startswith("SELECT") and table in s]


def save(priority, first, department=None):
    return sla.save_target(SYSTEM, department=department, priority=priority, first_response_minutes=first,
                           resolution_minutes=first * 10, business_hours=False)


def test_targets_are_read_once_per_process_until_they_change(app):
    save(HIGH, 15)
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 15
    db.session.commit()
    with Statements(db.engine) as statements:
        for _ in range(3):
            assert target_for(None, HIGH).first_response_minutes == 15
            assert target_for(None, NORMAL) == DEFAULT_TARGETS[NORMAL]
            db.session.commit()
    assert statements.reading("sla_targets") == []
    assert len(statements.reading("settings_stamps")) == 3  # one per transaction
    save(HIGH, 25)
    assert target_for(None, HIGH).first_response_minutes == 25


@pytest.mark.fresh_app
def test_a_change_in_another_process_is_seen_in_the_next_transaction(app, app_factory):
    save(HIGH, 15)
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 15  # read in the transaction still open below
    other = app_factory(SERVER_NAME="other.test")  # its own process cache, the same database
    with other.app_context():
        save(HIGH, 45)
        assert target_for(None, HIGH).first_response_minutes == 45
        db.session.remove()
    assert target_for(None, HIGH).first_response_minutes == 15  # this transaction read before the change
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 45


def test_a_change_rolled_back_is_never_kept(app):
    save(HIGH, 15)
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 15
    db.session.commit()
    row = db.session.scalars(sa.select(SLATarget)).one()
    row.first_response_minutes = 99
    db.session.flush()
    assert target_for(None, HIGH).first_response_minutes == 99  # the transaction sees its own change
    db.session.rollback()
    assert target_for(None, HIGH).first_response_minutes == 15
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 15


def test_a_delete_statement_moves_the_stamp(app):
    save(HIGH, 15)
    db.session.commit()
    assert target_for(None, HIGH).first_response_minutes == 15
    db.session.commit()
    db.session.execute(sa.delete(SLATarget))
    db.session.commit()
    assert target_for(None, HIGH) == DEFAULT_TARGETS[HIGH]


def test_a_change_written_in_a_deferred_batch_moves_the_stamp(app):
    """A deferred batch writes most rows with its own statements, which no flush event sees: it leaves the
    settings' rows to its flush, so the stamp moves as for any other write."""
    from helpdesk.db import Batch, batch_writable

    assert target_for(None, HIGH) == DEFAULT_TARGETS[HIGH]
    db.session.commit()
    assert not batch_writable(SLATarget)
    with Batch(db.session, deferred=True):
        db.session.add(SLATarget(department_id=None, priority=HIGH, first_response_minutes=20,
                                 resolution_minutes=200, business_hours=False))
    assert target_for(None, HIGH).first_response_minutes == 20
