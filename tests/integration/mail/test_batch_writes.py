"""The gateway writes a batch in one flush at its end (MAIL_DEFERRED_WRITES). These tests hold both
ways of writing a batch to the same results: mail that refers to a ticket opened earlier in the same
batch, a message that fails in the middle, and a final write that fails."""
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from helpdesk import db as helpdesk_db
from helpdesk import storage
from helpdesk.accounts.models import User
from helpdesk.audit.models import AuditEvent
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.models import QUARANTINED, InboundMessage
from helpdesk.notify.models import SENT, OutboxEmail
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.reply_matching import reply_address
from tests.integration.mail.test_pipeline import ORIGINAL_MESSAGE_ID, all_tickets, corpus, deliver, desk, texts

__all__ = ["desk"]  # the fixture, imported for the tests below

GRACE = "Grace Guest <grace@customer.test>"


def mail(subject, body, *, to="support@example.test", sender=GRACE, **headers):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def count(model, *where):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture(params=[True, False], ids=["deferred", "message-by-message"])
def batch_desk(request, desk):
    return desk(MAIL_DEFERRED_WRITES=request.param)


def test_replies_in_the_same_batch_as_their_ticket_thread_into_it(batch_desk, smtp):
    outcomes = deliver(
        "new_ticket.eml",
        mail("Still smoking", "It still smokes (by In-Reply-To).", In_Reply_To=ORIGINAL_MESSAGE_ID),
        mail("Re: [#1000] Printer on fire", "Now it beeps (by subject)."),
        mail("Printer", "The display says E-42 (by reply address).", to=reply_address("support@example.test", 1000)),
        mail("Another problem", "The scanner is broken too."),
    )

    assert [(o.outcome, o.ticket_number) for o in outcomes] == [
        ("new_ticket", 1000), ("added", 1000), ("added", 1000), ("added", 1000), ("new_ticket", 1001)]
    printer, scanner = all_tickets()
    assert texts(printer)[1:] == ["It still smokes (by In-Reply-To).", "Now it beeps (by subject).",
                                  "The display says E-42 (by reply address)."]
    assert texts(scanner) == ["The scanner is broken too."]
    # One customer record for Grace, requester of both tickets.
    assert count(User, User.email == "grace@customer.test") == 1
    assert printer.requester_id == scanner.requester_id
    # Every inbound row points at its ticket.
    db.session.expire_all()
    links = [db.session.get(Ticket, db.session.get(InboundMessage, o.inbound_id).ticket_id).number
             for o in outcomes]
    assert links == [1000, 1000, 1000, 1000, 1001]
    # Two acknowledgements, each rendered in full and delivered, each once.
    acks = smtp.wait_for(2)
    assert len(acks) == 2
    assert sorted(str(m["Subject"]) for m in acks) == [
        "[#1000] We received your request: Printer on fire",
        "[#1001] We received your request: Another problem"]
    assert count(OutboxEmail, OutboxEmail.status == SENT) == 2


def test_a_message_failing_mid_batch_is_quarantined_alone_and_the_rest_written_once(batch_desk, smtp):
    outcomes = deliver("new_ticket.eml", "garbage.eml", "subject_hu.eml",
                       mail("Re: [#1000] Printer on fire", "Any news?"))

    assert [(o.outcome, o.ticket_number) for o in outcomes] == [
        ("new_ticket", 1000), ("quarantined", None), ("new_ticket", 1001), ("added", 1000)]
    assert [t.number for t in all_tickets()] == [1000, 1001]  # no number lost to the failed attempt
    assert count(InboundMessage, InboundMessage.status == QUARANTINED) == 1
    assert count(AuditEvent, AuditEvent.action == "opened") == 2
    assert count(AuditEvent, AuditEvent.action == "customer-message") == 1
    assert count(OutboxEmail) == 2
    assert len(smtp.wait_for(2)) == 2


def test_a_batch_whose_final_write_fails_is_redone_message_by_message(desk, smtp, monkeypatch):
    desk(MAIL_DEFERRED_WRITES=True)
    real_write = helpdesk_db.write_rows
    failures = []

    def fail_once(session, plans=None, **options):
        if not failures:
            failures.append(True)
            raise sa.exc.IntegrityError("INSERT INTO audit_events", {}, Exception("simulated"))
        return real_write(session, plans, **options)

    # A seam, not the database: the deferred batch's one write at its end fails once.
    monkeypatch.setattr(helpdesk_db, "write_rows", fail_once)

    outcomes = deliver("new_ticket.eml", "subject_hu.eml")

    assert failures == [True]
    assert [(o.outcome, o.ticket_number) for o in outcomes] == [("new_ticket", 1000), ("new_ticket", 1001)]
    assert count(Ticket) == 2
    assert count(AuditEvent, AuditEvent.action == "opened") == 2
    assert count(OutboxEmail) == 2
    assert len(smtp.wait_for(2)) == 2


def test_a_batch_that_fails_after_its_rows_were_written_and_detached_is_redone_with_fresh_rows(desk, smtp,
                                                                                                monkeypatch):
    """The gateway's deferred batch empties the session once its rows are written (Batch(detach=True)). When the
    batch fails after that (here: right after the write; in life, at the commit), the redo works on the inbound
    rows loaded again, not on the detached ones, so every message is processed and linked to its ticket."""
    desk(MAIL_DEFERRED_WRITES=True)
    real_write = helpdesk_db.write_rows
    failures = []

    def write_then_fail(session, plans=None, **options):
        result = real_write(session, plans, **options)
        if options.get("detach") and not failures:  # the processing batch's write, not the store's
            failures.append((len(session.new), {type(row).__name__ for row in session.identity_map.values()}))
            raise sa.exc.OperationalError("COMMIT", {}, Exception("simulated"))
        return result

    monkeypatch.setattr(helpdesk_db, "write_rows", write_then_fail)  # a seam at the batch's end, not the database

    outcomes = deliver("new_ticket.eml", "subject_hu.eml")

    # When the first attempt failed, what it had written (tickets, the inbound rows it changed) had left the session.
    assert len(failures) == 1 and failures[0][0] == 0
    assert not failures[0][1] & {"Ticket", "Message", "InboundMessage", "User"}, failures
    assert [(o.outcome, o.ticket_number) for o in outcomes] == [("new_ticket", 1000), ("new_ticket", 1001)]
    db.session.expire_all()
    rows = db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(row.outcome, db.session.get(Ticket, row.ticket_id).number) for row in rows] == [
        ("new_ticket", 1000), ("new_ticket", 1001)]
    assert count(AuditEvent, AuditEvent.action == "opened") == 2
    assert len(smtp.wait_for(2)) == 2


def test_acknowledgement_is_rendered_in_the_requesters_language_when_sent(batch_desk, smtp):
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    accounts.create_user(SYSTEM, email="grace@customer.test", full_name="Grace Guest", role="customer",
                         locale="de")

    deliver("new_ticket.eml")

    (ack,) = smtp.wait_for(1)
    assert str(ack["Subject"]) == "[#1000] Wir haben Ihre Anfrage erhalten: Printer on fire"
    db.session.expire_all()
    row = db.session.scalar(sa.select(OutboxEmail))
    # Rendered once, by the delivery job, and kept: a retry would send exactly this.
    assert row.render_with is None
    assert row.subject == str(ack["Subject"])
    assert "1000" in row.body_text and "1000" in ack.get_body(("plain",)).get_content()


def test_garbage_is_not_parsed_twice_into_two_quarantine_entries(batch_desk, smtp):
    raw = corpus("garbage.eml")

    outcomes = deliver(raw, "new_ticket.eml")

    assert [o.outcome for o in outcomes] == ["quarantined", "new_ticket"]
    assert count(InboundMessage) == 2
    assert count(InboundMessage, InboundMessage.status == QUARANTINED) == 1


@pytest.mark.backends("postgresql")
def test_a_batch_part_of_which_another_gateway_stored_meanwhile_is_stored_one_by_one(desk, monkeypatch):
    """Another gateway process commits one of this batch's mails between the batch's look for known mail and its
    write (its ten rows go in by COPY on PostgreSQL): the write is refused as a duplicate, and the batch is
    stored again message by message, that mail as the duplicate it is and the other nine once each."""
    desk()
    items = [pipeline.Fetched("race", mail(f"Problem {n}", f"Problem {n}.", Message_ID=f"<race{n}@customer.test>"),
                              source_ref=f"race-{n}", label=f"mail {n}") for n in range(10)]
    taken, _message_id = pipeline.fingerprint(items[3].raw)
    flush_to_disk = storage.flush_to_disk

    def another_gateway_stores_mail_3():  # the last step before this batch's write (and before the redo's)
        monkeypatch.setattr(storage, "flush_to_disk", flush_to_disk)
        with sa.create_engine(db.engine.url).begin() as other:
            other.execute(sa.insert(InboundMessage.__table__).values(
                mailbox="other", fingerprint=taken, raw_key="0" * 64, size=1, status="received",
                received_at=sa.func.now()))
        flush_to_disk()

    monkeypatch.setattr(storage, "flush_to_disk", another_gateway_stores_mail_3)
    stored = pipeline.store_batch(items)

    assert [row is None for _item, row in stored] == [n == 3 for n in range(10)]
    rows = db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
    assert sorted(row.source_ref or row.mailbox for row in rows) == sorted(
        ["other"] + [f"race-{n}" for n in range(10) if n != 3])
