"""The gateway with a parser process (MAIL_PARSE_PROCESSES): the next batch is fetched and prepared (raw
bytes stored, parsed, sanitised) in another process while the current one is written. It must come to
exactly what the gateway alone comes to, keep arrival order, and lose nothing when processing fails with
a batch fetched ahead."""
import os
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from helpdesk import sanitize, storage
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.daemon import Runner
from helpdesk.mailgateway.models import InboundMessage
from helpdesk.mailgateway.sources import MaildirSource
from helpdesk.tickets.models import Ticket
from tests.integration.mail.test_pipeline import desk

__all__ = ["desk"]  # the fixture, imported for the tests below


def _is_reply(n):
    return n % 5 == 4  # every fifth mail answers the one before it, by its headers only


def _mail(n):
    message = EmailMessage()
    sender = (n - 1 if _is_reply(n) else n) % 7
    message["From"] = f"Guest {sender} <guest{sender}@customer.test>"
    message["To"] = "support@example.test"
    message["Message-ID"] = f"<m{n}@customer.test>"
    if _is_reply(n):
        message["Subject"] = f"About my mail {n}"
        message["In-Reply-To"] = f"<m{n - 1}@customer.test>"
    else:
        message["Subject"] = f"Problem {n}"
    message.set_content(f"Problem {n} in plain text.")
    if n % 3 == 0:
        message.add_alternative(f"<p>Problem <b>{n}</b><script>alert({n})</script></p>", subtype="html")
    return message.as_bytes()


def _fill(path, count):
    source = MaildirSource("parse-ahead", path, department="Technical")
    for n in range(count):
        target = source.path / "new" / f"{1_700_000_000 + n}.{n:05d}.test"
        target.write_bytes(_mail(n))
        os.utime(target, ns=(1_700_000_000_000_000_000 + n,) * 2)
    return source


def _drain(runner):
    outcomes = []
    while batch := runner.run_once():
        outcomes += batch
    return outcomes


def _threads():
    db.session.expire_all()
    return [(t.number, t.subject, [m.body_text for m in t.messages if m.kind == "customer"],
             [m.body_html for m in t.messages if m.kind == "customer"])
            for t in db.session.scalars(sa.select(Ticket).order_by(Ticket.number))]


@pytest.fixture
def parser():
    started = pipeline.Parser(1)
    yield started
    started.close()


@pytest.mark.parametrize("processes", [0, 1], ids=["gateway-alone", "parser-process"])
def test_every_mail_becomes_the_right_ticket_with_or_without_a_parser_process(desk, tmp_path, processes,
                                                                             monkeypatch):
    desk()
    parser = pipeline.Parser(processes) if processes else None
    if parser is not None:
        # Whole batches are parsed and sanitised in the parser process: this one must not need bleach.
        monkeypatch.setattr(sanitize, "_cleaner", None)
    try:
        outcomes = _drain(Runner(_fill(tmp_path / "box", 40), 10, parser))
    finally:
        if parser is not None:
            parser.close()

    assert [o.message_id for o in outcomes] == [f"<m{n}@customer.test>" for n in range(40)]
    assert [o.outcome for o in outcomes] == ["added" if _is_reply(n) else "new_ticket" for n in range(40)]
    expected = [(f"Problem {n}", [f"Problem {n} in plain text."]
                 + ([f"Problem {n + 1} in plain text."] if _is_reply(n + 1) else []))
                for n in range(40) if not _is_reply(n)]
    threads = _threads()
    assert [(subject, texts) for _number, subject, texts, _html in threads] == expected
    htmls = [html for *_rest, found in threads for html in found]
    assert len([h for h in htmls if "<b>" in h]) == 14  # the HTML parts, sanitised:
    assert not [h for h in htmls if "<script" in h or "alert" in h]


def test_a_failure_with_a_batch_fetched_ahead_loses_nothing_and_keeps_order(desk, tmp_path, parser, monkeypatch):
    desk()
    runner = Runner(_fill(tmp_path / "box", 30), 10, parser)
    real = pipeline.process_stored
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "process_stored", failing_once)
    first = runner.run_once()
    with pytest.raises(RuntimeError):
        runner.run_once()  # batch 2 fails while batch 3 is already fetched and prepared ahead
    rest = _drain(runner)  # what the daemon does after reconnecting

    done = first + rest
    assert len(done) == 30
    assert [o.message_id for o in done] == [f"<m{n}@customer.test>" for n in range(30)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)
                             .where(InboundMessage.status == "received")) == 0


@pytest.mark.parametrize("processes", [0, 1], ids=["gateway-alone", "parser-process"])
def test_attachments_are_written_by_the_parser_process_and_open_on_their_tickets(desk, tmp_path, processes,
                                                                                monkeypatch):
    desk()
    source = MaildirSource("attachments", tmp_path / "box", department="Technical")
    sent = {}
    for n in range(12):
        message = EmailMessage()
        message["From"] = f"guest{n}@customer.test"
        message["To"] = "support@example.test"
        message["Subject"] = f"Invoice {n}"
        message["Message-ID"] = f"<a{n}@customer.test>"
        message.set_content(f"Scan {n} attached.")
        sent[n] = os.urandom(300) + f"scan {n}".encode()
        message.add_attachment(sent[n], maintype="application", subtype="pdf", filename=f"scan-{n}.pdf")
        (source.path / "new" / f"{1_700_000_000 + n}.{n:05d}.test").write_bytes(message.as_bytes())
    written_here = []
    real_write = storage.LocalStore.write

    def recording(self, area, key, data, **kwargs):  # files this process creates (the parser's are there already)
        if not self.path(area, key).exists():
            written_here.append(data)
        return real_write(self, area, key, data, **kwargs)

    monkeypatch.setattr(storage.LocalStore, "write", recording)
    parser = pipeline.Parser(processes) if processes else None
    try:
        outcomes = _drain(Runner(source, 10, parser))
    finally:
        if parser is not None:
            parser.close()

    assert [o.outcome for o in outcomes] == ["new_ticket"] * 12
    found = {t.subject: [(a.filename, storage.get(a.sha256)) for m in t.messages for a in m.attachments]
             for t in db.session.scalars(sa.select(Ticket))}
    assert found == {f"Invoice {n}": [(f"scan-{n}.pdf", sent[n])] for n in range(12)}
    attachments_here = [data for data in written_here if data in sent.values()]
    # Ten of the twelve came in a batch the parser process prepared; the last two, a batch too small to send
    # there, are written here, as everything is without a parser process.
    assert len(attachments_here) == (2 if processes else 12)

