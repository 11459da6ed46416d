"""Outlook .msg files through the whole gateway on both databases: fed to `helpdesk mail ingest`, dropped into a
Maildir (with and without a parser process), or forwarded by an agent as an attachment. They open tickets as the
mail they hold; the stored raw mail stays the .msg; a damaged file or a missing msgconvert waits in the
quarantine with its own reason, and a retry converts it again."""
import os
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk import storage
from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline, quarantine
from helpdesk.mailgateway.daemon import Runner
from helpdesk.mailgateway.models import QUARANTINED, InboundMessage
from helpdesk.mailgateway.sources import MaildirSource
from helpdesk.tickets.models import Ticket
from tests.conftest import log_in
from tests.integration.mail.test_pipeline import desk, recipients
from tests.outlook_msg import MsgAttachment, OutlookMessage, Recipient, truncated, word_document

__all__ = ["desk"]  # the fixture, imported for the tests below

SUPPORT = [Recipient("Example Support", "support@example.test")]
DAMAGED = ("An Outlook file (.msg) that could not be converted to email: it is damaged, or it is not a "
           "message.")


def customer_msg(**fields) -> bytes:
    values = {"subject": "Printer on the 3rd floor is offline", "sender_name": "Alice Example",
              "sender_email": "alice@customer.example", "to": SUPPORT}
    values.update(fields)
    return OutlookMessage(**values).to_bytes()


def deliver(*raws):
    return list(pipeline.ingest([pipeline.Fetched("file", raw, label=f"{i}.msg") for i, raw in enumerate(raws)]))


def tickets():
    db.session.expire_all()
    return db.session.scalars(sa.select(Ticket).order_by(Ticket.number)).all()


def inbound(outcome):
    db.session.expire_all()
    return db.session.get(InboundMessage, outcome.inbound_id)


def test_msg_files_open_tickets_as_the_mail_they_hold_in_any_language(app, smtp, department):
    mails = [
        ("Drucker im 3. Stock: Störung", "Jürgen Groß", "Grüße, der Drucker druckt nur weiße Seiten."),
        ("Yazıcı arızası: İstanbul ofisi", "Ayşe Öztürk", "Merhaba, yazıcı çalışmıyor. Teşekkürler"),
        ("چاپگر طبقه سوم کار نمی‌کند", "مریم احمدی", "سلام، چاپگر از صبح خاموش است."),
    ]
    raws = [customer_msg(subject=subject, sender_name=name, sender_email=f"sender{n}@customer.example",
                         body=body) for n, (subject, name, body) in enumerate(mails)]

    outcomes = deliver(*raws)

    assert [o.outcome for o in outcomes] == ["new_ticket"] * 3
    assert [(t.subject, t.requester.full_name, t.messages[0].body_text) for t in tickets()] == mails
    assert [t.requester.email for t in tickets()] == [f"sender{n}@customer.example" for n in range(3)]
    # The raw mail kept is the .msg itself, and the list shows who sent it.
    rows = [inbound(o) for o in outcomes]
    assert [storage.get(row.raw_key) for row in rows] == raws
    assert [(row.sender, row.subject) for row in rows] == [
        (f"sender{n}@customer.example", subject) for n, (subject, _name, _body) in enumerate(mails)]
    assert recipients(smtp.wait_for(3)) == [f"sender{n}@customer.example" for n in range(3)]


def test_a_msg_with_transport_headers_threads_into_its_ticket_and_keeps_its_files(app, smtp, department):
    (first,) = deliver(customer_msg(transport_headers=(
        "Received: from mail.customer.example (mail.customer.example [192.0.2.10])\r\n"
        "\tby mx.example.test (Postfix) with ESMTPS id 4TqQ0A1Xk2z9sWc;\r\n\tMon, 2 Mar 2026 10:15:03 +0100\r\n"
        "Message-ID: <first.4711@customer.example>\r\n")))
    reply = customer_msg(subject="Still offline", body="Any news?", transport_headers=(
        "Message-ID: <second.4712@customer.example>\r\nIn-Reply-To: <first.4711@customer.example>\r\n"),
        attachments=[MsgAttachment("Fehlerprotokoll März.txt", b"E42 paper jam\n", "text/plain")])

    (second,) = deliver(reply)

    assert (first.outcome, second.outcome, second.ticket_number) == ("new_ticket", "added", first.ticket_number)
    (ticket,) = tickets()
    assert [m.message_id for m in ticket.messages if m.kind == "customer"] == [
        "<first.4711@customer.example>", "<second.4712@customer.example>"]
    (attachment,) = ticket.messages[-1].attachments
    assert (attachment.filename, storage.get(attachment.sha256)) == ("Fehlerprotokoll März.txt", b"E42 paper jam\n")


def test_a_damaged_msg_waits_in_the_quarantine_with_its_reason_and_its_bytes(app, client, smtp, department, agent):
    damaged = truncated(customer_msg())

    outcomes = deliver(damaged, word_document())

    assert [o.outcome for o in outcomes] == ["quarantined"] * 2
    rows = [inbound(o) for o in outcomes]
    assert [(row.status, row.step, row.reason_code) for row in rows] == [(QUARANTINED, "parse", "outlook_damaged")] * 2
    assert storage.get(rows[0].raw_key) == damaged
    assert tickets() == []
    log_in(client, "agent@example.test")
    page = client.get("/agent/quarantine").get_data(as_text=True)
    assert page.count(DAMAGED) == 2
    assert "Traceback" not in page
    assert client.get(f"/agent/quarantine/{rows[0].id}/raw").data == damaged


def test_without_msgconvert_a_msg_is_held_and_a_retry_once_it_is_installed_opens_the_ticket(app, smtp, department,
                                                                                             agent):
    app.config["MAIL_MSGCONVERT"] = "/opt/nowhere/msgconvert"
    raw = customer_msg()

    (outcome,) = deliver(raw)

    row = inbound(outcome)
    assert (outcome.outcome, row.reason_code) == ("quarantined", "outlook_no_converter")
    assert quarantine.reason(row) == (
        "An Outlook message (.msg file) that cannot be read here: the msgconvert program (/opt/nowhere/msgconvert) "
        "is not installed or does not run. Once it does, try the message again.")
    assert tickets() == []

    app.config["MAIL_MSGCONVERT"] = "msgconvert"
    retried = quarantine.retry(agent, row.id)

    assert retried.outcome == "new_ticket"
    (ticket,) = tickets()
    assert (ticket.subject, ticket.requester.email) == ("Printer on the 3rd floor is offline", "alice@customer.example")
    assert storage.get(inbound(outcome).raw_key) == raw


def test_mail_ingest_reads_a_msg_file_and_a_folder_holding_one(app, smtp, department, tmp_path):
    folder = tmp_path / "dropped"
    folder.mkdir()
    (folder / "Printer.msg").write_bytes(customer_msg())
    (folder / "Broken.msg").write_bytes(truncated(customer_msg(subject="Broken")))
    single = tmp_path / "Invoice.msg"
    single.write_bytes(customer_msg(subject="Invoice twice", sender_email="bob@customer.example"))
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_SMTP_HOST": "127.0.0.1", "HELPDESK_SMTP_PORT": str(smtp.port), "HELPDESK_REDIS_URL": "",
           "HELPDESK_CONFIG": None}
    db.session.commit()

    result = CliRunner().invoke(main, ["mail", "ingest", str(single), str(folder)], env=env)

    assert result.exit_code == 0, result.output
    said = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert said[str(folder / "Broken.msg")] == f"quarantined ({DAMAGED})"
    assert said[str(folder / "Printer.msg")].startswith("new ticket #")
    assert said[str(single)].startswith("new ticket #")
    assert sorted(t.subject for t in tickets()) == ["Invoice twice", "Printer on the 3rd floor is offline"]


@pytest.mark.parametrize("processes", [0, 1], ids=["gateway-alone", "parser-process"])
def test_a_msg_dropped_into_the_maildir_opens_a_ticket(desk, tmp_path, processes):
    desk()
    source = MaildirSource("drop", tmp_path / "drop", department="Technical")
    # Enough mail for a batch the parser process prepares (smaller ones are prepared in place).
    for n in range(Runner.SMALL + 2):
        raw = customer_msg(subject=f"Scan {n}") if n == 3 else _eml(n)
        target = source.path / "new" / f"{1_700_000_000 + n}.{n:05d}.test"
        target.write_bytes(raw)
        os.utime(target, ns=(1_700_000_000_000_000_000 + n,) * 2)
    parser = pipeline.Parser(processes) if processes else None
    try:
        outcomes = Runner(source, 20, parser).run_once()
    finally:
        if parser is not None:
            parser.close()

    assert [o.outcome for o in outcomes] == ["new_ticket"] * (Runner.SMALL + 2)
    assert [t.subject for t in tickets()][3] == "Scan 3"
    assert tickets()[3].requester.email == "alice@customer.example"
    assert not list((source.path / "new").iterdir())


def _eml(n):
    message = EmailMessage()
    message["From"] = f"guest{n}@customer.test"
    message["To"] = "support@example.test"
    message["Subject"] = f"Mail {n}"
    message["Message-ID"] = f"<maildir{n}@customer.test>"
    message.set_content(f"Mail {n}.")
    return message.as_bytes()


def _agent_forward(msg: bytes, *, content_type="application/vnd.ms-outlook", filename="Invoice wrong.msg") -> bytes:
    forward = EmailMessage()
    # Passed by the trusted receiving server (MAIL_AUTHSERV_IDS of the tests), so the agent is believed.
    forward["Authentication-Results"] = ("mx.example.test; dkim=pass header.d=example.test; "
                                         "spf=pass smtp.mailfrom=example.test; dmarc=pass header.from=example.test")
    forward["From"] = "Alex Agent <agent@example.test>"
    forward["To"] = "Example Support <support@example.test>"
    forward["Subject"] = "FW: Invoice 2024-0113 is wrong"
    forward["Message-ID"] = "<fwd-msg.1@example.test>"
    forward.set_content("Olga sent me this, please take it over.")
    maintype, subtype = content_type.split("/")
    forward.add_attachment(msg, maintype=maintype, subtype=subtype, filename=filename)
    return forward.as_bytes()


def test_an_agent_forwarding_a_msg_opens_the_ticket_for_its_sender_with_both_files(app, smtp, department, agent):
    msg = customer_msg(sender_name="Olga Original", sender_email="olga@customer.test",
                       subject="Invoice 2024-0113 is wrong", body="Invoice 2024-0113 charges us twice.")

    (outcome,) = deliver(_agent_forward(msg))

    assert outcome.outcome == "new_ticket"
    (ticket,) = tickets()
    assert (ticket.requester.email, ticket.requester.full_name) == ("olga@customer.test", "Olga Original")
    assert recipients(smtp.wait_for(1)) == ["olga@customer.test"]
    files = [(a.filename, a.content_type) for a in ticket.messages[0].attachments]
    assert files == [("Invoice wrong.msg", "application/vnd.ms-outlook"), ("Invoice wrong.eml", "message/rfc822")]
    kept, original = ticket.messages[0].attachments
    assert storage.get(kept.sha256) == msg
    assert b"charges us twice" in storage.get(original.sha256)


def test_an_agent_forwarding_a_damaged_msg_still_opens_a_ticket_with_the_file(app, smtp, department, agent):
    damaged = truncated(customer_msg())

    (outcome,) = deliver(_agent_forward(damaged, content_type="application/octet-stream"))

    assert outcome.outcome == "new_ticket"
    (ticket,) = tickets()
    assert ticket.requester.email == "agent@example.test"
    assert [(a.filename, storage.get(a.sha256)) for a in ticket.messages[0].attachments] == [
        ("Invoice wrong.msg", damaged)]
