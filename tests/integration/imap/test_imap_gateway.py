"""The mail gateway against a real IMAP server (Dovecot): new mail becomes tickets, IDLE wakes the
daemon, nothing is lost or processed twice across duplicates, UIDVALIDITY changes, two gateways at once,
SIGKILL, SIGTERM and a server that goes away."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from email.utils import formatdate, getaddresses
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.mailgateway import daemon
from helpdesk.mailgateway.locks import MailboxLock
from helpdesk.mailgateway.models import PROCESSED, RECEIVED, InboundMessage, MailboxState
from helpdesk.mailgateway.sources import ImapSource
from helpdesk.tickets.models import Message, Ticket
from tests.integration.imap.conftest import PROCESSED_FOLDER

HELPDESK = Path(sys.executable).with_name("helpdesk")
FAST = {"MAIL_POLL_INTERVAL": 1, "MAIL_IDLE_TIMEOUT": 5, "MAIL_RECONNECT_MIN": 0.2}


def _mail(n, sender=None, subject=None, message_id=None):
    sender = sender or f"customer{n}@example.test"
    return (f"From: Customer {n} <{sender}>\r\n"
            f"To: support@example.test\r\n"
            f"Subject: {subject or f'Problem number {n}'}\r\n"
            f"Date: {formatdate()}\r\n"
            f"Message-ID: {message_id or f'<problem-{n}@customers.example.test>'}\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"\r\n"
            f"Something is broken ({n}).\r\n").encode()


def _wait_until(check, timeout=10.0):
    """Poll ``check`` until it returns something true or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _query(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _count(app, model, *where):
    return _query(app, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def _tickets(app):
    return _count(app, Ticket)


def _processed(app):
    return _count(app, InboundMessage, InboundMessage.status != RECEIVED)


def _waiting(app):
    """Stored, not yet processed."""
    return _count(app, InboundMessage, InboundMessage.status == RECEIVED)


def _ack_numbers(smtp):
    """Ticket numbers of the acknowledgements the SMTP server received, one entry per mail."""
    return [int(re.search(r"\[#(\d+)\]", str(m["Subject"])).group(1)) for m in smtp.messages]


def _assert_each_mail_once(app, count):
    """``count`` tickets, ``count`` inbound rows, every Message-ID on exactly one ticket message."""
    assert _tickets(app) == count
    assert _count(app, InboundMessage) == count
    inbound_ids = _query(app, lambda: db.session.scalars(sa.select(InboundMessage.message_id)).all())
    assert len(set(inbound_ids)) == count
    message_ids = Counter(_query(app, lambda: db.session.scalars(
        sa.select(Message.message_id).where(Message.source == "email")).all()))
    assert sorted(message_ids) == sorted(inbound_ids)
    assert set(message_ids.values()) == {1}


def _try_lock(app, mailbox):
    lock = MailboxLock(mailbox, app.config["INSTANCE_PATH"])
    if not lock.acquire():
        return False
    lock.release()
    return True


@contextmanager
def _gateway_thread(app):
    """The gateway daemon in this process, stopped (as SIGTERM would) on leaving the block."""
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(app, stop), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the gateway did not stop within 15 s"


@contextmanager
def _connected(app, spec):
    """An ImapSource for step-wise tests with run_once."""
    source = ImapSource(spec, app.config)
    with app.app_context():
        source.connect()
        try:
            yield source
        finally:
            source.close()
            db.session.remove()


@pytest.fixture
def start_gateway(tmp_path, smtp):
    """Start `helpdesk mailgateway` processes configured like an operator would, through HELPDESK_*
    variables; any still running at the end are killed."""
    started = []

    def start(app, spec, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update({
            "HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "HELPDESK_MAIL_MAILBOXES": json.dumps([spec]),
            "HELPDESK_SMTP_HOST": "127.0.0.1",
            "HELPDESK_SMTP_PORT": str(smtp.port),
            "HELPDESK_SECRET_KEY": "testing-secret-key-not-for-production",
            "HELPDESK_MAIL_POLL_INTERVAL": "1",
            "HELPDESK_MAIL_RECONNECT_MIN": "0.2",
            **{f"HELPDESK_{name}": str(value) for name, value in settings.items()},
        })
        log = open(tmp_path / f"gateway-{len(started) + 1}.log", "wb")
        process = subprocess.Popen([str(HELPDESK), "mailgateway"], env=env, stdout=log, stderr=subprocess.STDOUT)
        process.log = log
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.log.close()


def _stop(process, sig=signal.SIGTERM, timeout=10):
    process.send_signal(sig)
    return process.wait(timeout=timeout)


def _log(tmp_path):
    return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(tmp_path.glob("gateway-*.log")))


# --------------------------------------------------------------------------- the daemon in this process

def test_new_mail_becomes_a_ticket_is_marked_seen_and_acknowledged(app_factory, imap_mailbox, smtp):
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    imap_mailbox.append(_mail(1, sender="carla@example.test", subject="Printer on fire"))
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 1)
        acks = smtp.wait_for(1)
    ticket = _query(app, lambda: db.session.scalars(sa.select(Ticket)).one())
    assert ticket.subject == "Printer on fire"
    assert [flags for flags in imap_mailbox.flags().values()] == [(b"\\Seen",)]
    assert len(acks) == 1
    assert getaddresses([str(acks[0]["To"])])[0][1] == "carla@example.test"
    assert f"[#{ticket.number}]" in acks[0]["Subject"]


def test_idle_wakes_the_gateway_for_new_mail_without_polling(app_factory, imap_mailbox, smtp):
    # Polling and IDLE renewal both every five minutes: only an IDLE notification can wake it in time.
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], MAIL_POLL_INTERVAL=300, MAIL_IDLE_TIMEOUT=300,
                      MAIL_RECONNECT_MIN=0.2)
    imap_mailbox.append(_mail(1))
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 1)
        time.sleep(0.5)  # the gateway has found nothing more and is idling
        imap_mailbox.append(_mail(2))
        assert _wait_until(lambda: _tickets(app) == 2, timeout=5)


def test_processed_mail_is_moved_to_the_processed_folder(app_factory, imap_mailbox, smtp):
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec(processed_folder=PROCESSED_FOLDER)], **FAST)
    imap_mailbox.append_many([_mail(1), _mail(2)])
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 2)
    assert imap_mailbox.message_ids("INBOX") == []
    assert imap_mailbox.message_ids(PROCESSED_FOLDER) == ["<problem-1@customers.example.test>",
                                                          "<problem-2@customers.example.test>"]


def test_gateway_reconnects_after_the_server_goes_away(app_factory, imap_mailbox, dovecot, smtp):
    # A long IDLE: the gateway must notice the dropped connection, not sit out the IDLE period.
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], MAIL_POLL_INTERVAL=300, MAIL_IDLE_TIMEOUT=300,
                      MAIL_RECONNECT_MIN=0.2, MAIL_RECONNECT_MAX=1)
    imap_mailbox.append(_mail(1))
    with _gateway_thread(app):
        assert _wait_until(lambda: _tickets(app) == 1)
        time.sleep(0.5)  # idling
        dovecot.stop()
        time.sleep(1.5)  # a few failed reconnects
        dovecot.start()
        imap_mailbox.append(_mail(2))
        assert _wait_until(lambda: _tickets(app) == 2, timeout=10), dovecot.log_text()[-3000:]
    _assert_each_mail_once(app, 2)
    # Stopped, it leaves the mailbox to the next gateway process (a fresh app: its own connections).
    other = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    assert _query(other, lambda: _try_lock(other, "imap:support"))


# --------------------------------------------------------------------------- step by step

def test_same_message_delivered_twice_makes_one_ticket(app_factory, imap_mailbox, smtp):
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    imap_mailbox.append_many([_mail(1), _mail(1)])
    with _connected(app, imap_mailbox.spec()) as source:
        outcomes = daemon.run_once(source, 100)
    assert [o.outcome for o in outcomes] == ["new_ticket", "duplicate"]
    assert _tickets(app) == 1
    assert _count(app, InboundMessage) == 1
    assert list(imap_mailbox.flags().values()) == [(b"\\Seen",), (b"\\Seen",)]  # neither is fetched again


def test_changed_uidvalidity_reads_the_folder_again_without_processing_anything_twice(
        app_factory, imap_mailbox, smtp):
    # INBOX cannot be deleted over IMAP; another folder can, and comes back with a new UIDVALIDITY and
    # its UIDs counted from 1 again, as after a move to a new server.
    spec = imap_mailbox.spec(folder="Support")
    app = app_factory(MAIL_MAILBOXES=[spec], **FAST)
    with imap_mailbox.client() as client:
        client.create_folder("Support")
    imap_mailbox.append_many([_mail(1), _mail(2)], folder="Support")
    with _connected(app, spec) as source:
        assert [o.outcome for o in daemon.run_once(source, 100)] == ["new_ticket", "new_ticket"]
        first_validity = source.uidvalidity
    with imap_mailbox.client() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    imap_mailbox.append_many([_mail(1), _mail(2), _mail(3)], folder="Support")

    with _connected(app, spec) as source:
        assert source.uidvalidity != first_validity
        assert [o.outcome for o in daemon.run_once(source, 100)] == ["duplicate", "duplicate", "new_ticket"]
        assert daemon.run_once(source, 100) == []
    assert _query(app, lambda: db.session.get(MailboxState, "imap:support").uidvalidity) == source.uidvalidity
    _assert_each_mail_once(app, 3)
    assert sorted(_ack_numbers(smtp)) == sorted(_query(app, lambda: db.session.scalars(
        sa.select(Ticket.number)).all()))


# --------------------------------------------------------------------------- real gateway processes

def test_two_gateway_processes_on_one_mailbox_process_each_mail_once(app_factory, imap_mailbox, smtp,
                                                                     start_gateway, tmp_path):
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    gateways = [start_gateway(app, imap_mailbox.spec()), start_gateway(app, imap_mailbox.spec())]
    imap_mailbox.append_many(_mail(n) for n in range(50))
    assert _wait_until(lambda: _processed(app) == 50, timeout=60), _log(tmp_path)
    assert [g.poll() for g in gateways] == [None, None], _log(tmp_path)
    assert [_stop(g) for g in gateways] == [0, 0], _log(tmp_path)
    _assert_each_mail_once(app, 50)
    assert sorted(Counter(_ack_numbers(smtp)).values()) == [1] * 50


def test_sigterm_finishes_the_message_in_hand_and_a_restart_does_the_rest(app_factory, imap_mailbox, smtp,
                                                                          start_gateway, tmp_path):
    # Several batches: a batch is written in one go at its end, and the signal must land while more mail
    # is still to come.
    total = 600
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    gateway = start_gateway(app, imap_mailbox.spec())
    imap_mailbox.append_many(_mail(n) for n in range(total))
    # SIGTERM as soon as mail is done and more is stored but not yet done: in the middle of a batch.
    assert _wait_until(lambda: _processed(app) > 0 and _waiting(app) > 0, timeout=30), _log(tmp_path)
    assert _stop(gateway) == 0, _log(tmp_path)
    done = _processed(app)
    assert done < total, "the gateway finished everything before SIGTERM: the test proves nothing"
    # What it did, it did completely (ticket and acknowledgement); the rest waits, stored.
    assert _count(app, InboundMessage, InboundMessage.status == PROCESSED, InboundMessage.ticket_id.is_(None)) == 0
    assert _tickets(app) == done
    # The rest of the batch in hand (if the signal came mid-batch) is stored, waiting; later mail is
    # still on the server.
    assert _waiting(app) <= total - done
    assert len(smtp.wait_for(done, timeout=5)) == done

    gateway = start_gateway(app, imap_mailbox.spec())
    assert _wait_until(lambda: _processed(app) == total, timeout=60), _log(tmp_path)
    assert _stop(gateway) == 0, _log(tmp_path)
    _assert_each_mail_once(app, total)
    smtp.wait_for(total, timeout=10)
    assert sorted(Counter(_ack_numbers(smtp)).values()) == [1] * total


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_repeats_nothing(app_factory, imap_mailbox, smtp, start_gateway,
                                                            tmp_path):
    app = app_factory(MAIL_MAILBOXES=[imap_mailbox.spec()], **FAST)
    imap_mailbox.append_many(_mail(n) for n in range(500))
    # With a parser process, the batch after the one in hand is fetched and prepared (not stored) meanwhile.
    gateway = start_gateway(app, imap_mailbox.spec(), MAIL_PARSE_PROCESSES=1)
    # Killed with a batch stored and only partly processed: marked \Seen on the server, nothing of it done.
    assert _wait_until(lambda: _processed(app) >= 100 and _waiting(app) > 0, timeout=60), _log(tmp_path)
    _stop(gateway, signal.SIGKILL)
    assert _waiting(app) > 0, "the kill came after the batch was done: the test proves nothing"
    assert _processed(app) < 500

    gateway = start_gateway(app, imap_mailbox.spec())
    assert _wait_until(lambda: _processed(app) == 500, timeout=60), _log(tmp_path)
    assert _stop(gateway) == 0, _log(tmp_path)
    _assert_each_mail_once(app, 500)
    smtp.wait_for(500, timeout=5)
    assert sorted(Counter(_ack_numbers(smtp)).values()) == [1] * 500
