"""A deferred batch writes its new rows with multi-row INSERTs and its changed rows with one UPDATE per
table and set of columns (helpdesk.db.write_rows) instead of the unit of work. These tests hold that
write to what a flush would have written, on both databases (test_batch_equivalence.py does it for
every model)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import User
from helpdesk.db import Batch, utcnow, write_rows
from helpdesk.extensions import db
from helpdesk.mailgateway.models import InboundMessage
from helpdesk.tickets.models import CUSTOMER_MESSAGE, Message, Participant, Ticket


@pytest.fixture
def app(app_factory):
    application = app_factory()
    with application.app_context():
        yield application


def _customer(email):
    return User(email=email, full_name=email.split("@")[0].title(), role="customer")


def _ticket(number, requester, **fields):
    return Ticket(number=number, subject=f"Ticket {number}", requester=requester, **fields)


def _fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def test_new_rows_get_ids_defaults_and_their_parents_ids(app):
    with Batch(db.session, deferred=True):
        ada = _customer("ada@example.test")
        first = _ticket(7001, ada)
        follow_up = _ticket(7002, ada, linked_ticket=first)  # a parent of the same table, also new
        db.session.add_all([ada, first, follow_up])
        db.session.add(Participant(ticket=first, email=ada.email, role="requester", user=ada))
        db.session.add(Message(ticket=first, kind=CUSTOMER_MESSAGE, body_text="It smokes."))
        write_rows(db.session)
        assert not db.session.new  # all written, none left for the flush
        ids = (ada.id, first.id, follow_up.id)
        assert all(isinstance(i, int) for i in ids)

    ada_row = _fresh(User, ids[0])
    first_row, follow_row = db.session.get(Ticket, ids[1]), db.session.get(Ticket, ids[2])
    assert first_row.requester_id == ada_row.id and follow_row.linked_ticket_id == first_row.id
    assert first_row.status == "open" and first_row.priority == "normal"  # column defaults
    assert first_row.created_at is not None and first_row.sla_paused_minutes == 0
    assert [m.body_text for m in first_row.messages] == ["It smokes."]
    assert [p.email for p in first_row.participants] == ["ada@example.test"]


def test_changed_rows_are_written_with_their_onupdate_columns(app):
    ada = _customer("ada@example.test")
    tickets = [_ticket(7100 + n, ada) for n in range(3)]
    db.session.add_all([ada, *tickets])
    db.session.commit()
    ids = [t.id for t in tickets]
    before = {t.id: t.updated_at for t in tickets}

    with Batch(db.session, deferred=True):
        loaded = [db.session.get(Ticket, i) for i in ids]
        loaded[0].status = "closed"
        loaded[1].priority = "urgent"  # another set of columns: its own statement
        loaded[2].priority = "urgent"
        loaded[2].assignee = db.session.get(User, ada.id)  # a many-to-one: its foreign key is written
        write_rows(db.session)
        assert not db.session.dirty

    rows = [_fresh(Ticket, i) for i in ids]
    assert [r.status for r in rows] == ["closed", "open", "open"]
    assert [r.priority for r in rows] == ["normal", "urgent", "urgent"]
    assert rows[2].assignee_id == ada.id and rows[0].assignee_id is None
    assert all(r.updated_at >= before[r.id] for r in rows)


def test_a_ticket_that_gained_a_message_is_written_once_with_the_message(app):
    ada = _customer("ada@example.test")
    ticket = _ticket(7200, ada)
    db.session.add_all([ada, ticket])
    db.session.commit()
    ticket_id = ticket.id

    with Batch(db.session, deferred=True):
        ticket = db.session.get(Ticket, ticket_id)
        db.session.add(Message(ticket=ticket, kind=CUSTOMER_MESSAGE, body_text="Any news?"))
        ticket.last_activity_at = utcnow() + timedelta(minutes=1)
        write_rows(db.session)
        assert not db.session.new and not db.session.dirty

    ticket = _fresh(Ticket, ticket_id)
    assert [m.body_text for m in ticket.messages] == ["Any news?"]


def test_a_removed_child_is_left_to_the_flush_which_deletes_it(app):
    ada = _customer("ada@example.test")
    ticket = _ticket(7300, ada)
    cc = Participant(ticket=ticket, email="cc@example.test", role="cc")
    db.session.add_all([ada, ticket, cc])
    db.session.commit()
    ticket_id = ticket.id

    with Batch(db.session, deferred=True):
        ticket = db.session.get(Ticket, ticket_id)
        ticket.participants.remove(ticket.participants[0])  # delete-orphan: only the flush can do this
        ticket.subject = "Renamed"
        write_rows(db.session)
        assert db.session.dirty  # not written here

    ticket = _fresh(Ticket, ticket_id)
    assert ticket.subject == "Renamed" and ticket.participants == []


def test_a_failed_batch_leaves_nothing_behind(app):
    ada = _customer("ada@example.test")
    db.session.add(ada)
    db.session.commit()
    ada_id = ada.id
    with pytest.raises(RuntimeError), Batch(db.session, deferred=True):
        ada = db.session.get(User, ada_id)
        ticket = _ticket(7400, ada)
        db.session.add(ticket)
        ada.full_name = "Ada Changed"
        write_rows(db.session)
        raise RuntimeError("the batch fails after its writes")

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert _fresh(User, ada_id).full_name == "Ada"


def test_ids_continue_after_rows_written_by_other_transactions(app):
    ada = _customer("ada@example.test")
    db.session.add(ada)
    db.session.commit()
    with Batch(db.session, deferred=True):
        first = InboundMessage(mailbox="m", fingerprint="a" * 64, raw_key="a" * 64, size=1, status="received")
        db.session.add(first)
    with Batch(db.session, deferred=True):
        rows = [InboundMessage(mailbox="m", fingerprint=str(n) * 64, raw_key="b" * 64, size=1, status="received")
                for n in range(1, 4)]
        db.session.add_all(rows)
    assert first.id < rows[0].id < rows[1].id < rows[2].id
    # An ordinary flush afterwards takes a new id, not one of ours.
    later = InboundMessage(mailbox="m", fingerprint="9" * 64, raw_key="c" * 64, size=1, status="received")
    db.session.add(later)
    db.session.commit()
    assert later.id > rows[2].id


@pytest.mark.backends("postgresql")
def test_a_batch_like_the_last_draws_its_ids_from_every_sequence_at_once(app):
    """On PostgreSQL a deferred batch draws ids from the tables' sequences. A batch that begins as the one before
    it did (the gateway's, batch after batch) draws them for all the tables that one used in one statement, and
    its rows are written with them."""
    from tests.conftest import selects_on

    def one_batch(n):
        with Batch(db.session, deferred=True):
            person = _customer(f"drawn{n}@example.test")
            ticket = _ticket(7300 + n, person)
            db.session.add_all([person, ticket, Message(ticket=ticket, kind=CUSTOMER_MESSAGE, body_text=f"N {n}")])
        return person.id, ticket.id

    one_batch(0)
    with selects_on("nextval") as draws:
        person_id, ticket_id = one_batch(1)
    assert len(draws) == 1 and "unnest" in draws[0], draws
    assert _fresh(User, person_id).email == "drawn1@example.test"
    ticket = _fresh(Ticket, ticket_id)
    assert ticket.requester_id == person_id and [m.body_text for m in ticket.messages] == ["N 1"]


def test_many_new_rows_of_a_table_are_written_and_a_refused_one_is_refused_as_by_an_insert(app):
    """Twenty customers in one batch (on PostgreSQL they go in by COPY): all written with their defaults; a
    batch whose rows hold an email already taken fails with IntegrityError, as an INSERT does (the gateway's
    store step counts on it to redo a batch another process stored at the same moment), and writes none."""
    with Batch(db.session, deferred=True):
        db.session.add_all([_customer(f"guest{n}@example.test") for n in range(20)])
    written = db.session.scalars(sa.select(User).order_by(User.id)).all()
    assert [u.email for u in written] == [f"guest{n}@example.test" for n in range(20)]
    assert all(u.role == "customer" and u.created_at is not None for u in written)

    with pytest.raises(sa.exc.IntegrityError), Batch(db.session, deferred=True):
        db.session.add_all([_customer(f"new{n}@example.test") for n in range(10)]
                           + [_customer("guest7@example.test")])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 20
