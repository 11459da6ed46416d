"""`helpdesk mail ingest`, `mail quarantine` and `mail retry` as an operator runs them: the real command,
configured only through HELPDESK_* environment variables, on .eml folders, mbox files and Maildirs."""
import json
import mailbox
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.jobs import PendingJob
from helpdesk.mailgateway import quarantine
from helpdesk.mailgateway.models import QUARANTINED, InboundMessage
from helpdesk.search import index as search
from helpdesk.tickets.models import Ticket

CORPUS = Path(__file__).resolve().parents[2] / "data" / "mail"
NO_SENDER = "The message has no sender address, so there is no one to answer."


@pytest.fixture
def helpdesk(app, smtp, department):
    """Run ``helpdesk <args>`` against this test's database and SMTP server; returns the click Result."""
    env = {
        "HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"],
        "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
        "HELPDESK_SMTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(smtp.port),
        "HELPDESK_REDIS_URL": "",
        "HELPDESK_CONFIG": None,
    }

    def run(*args):
        db.session.commit()  # no transaction of ours stands in the command's way
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
        db.session.expire_all()
        return result

    return run


def folder_of(tmp_path, *names):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def tickets():
    return db.session.scalars(sa.select(Ticket).order_by(Ticket.number)).all()


def test_quarantine_speaks_the_desks_language(helpdesk, app):
    from flask_babel import force_locale, refresh

    from helpdesk.mailgateway.reasons import describe, step_label

    helpdesk("mail", "ingest", CORPUS / "missing_from.eml")
    app.config["DEFAULT_LOCALE"] = "de"  # the command runs in this test's app (HELPDESK_DEFAULT_LOCALE for an operator)
    refresh()
    try:
        listed = helpdesk("mail", "quarantine")
    finally:
        app.config["DEFAULT_LOCALE"] = "en"
        refresh()

    assert listed.exit_code == 0, listed.output
    (line,) = listed.stdout.splitlines()
    _number, _received, _sender, step, reason = line.split("\t")
    with force_locale("de"):
        assert (step, reason) == (step_label("classify"), describe("no_sender"))
    assert step != "classify" and reason != NO_SENDER


def test_ingest_folder_prints_one_line_per_message_and_succeeds_despite_quarantine(helpdesk, tmp_path, smtp):
    folder = folder_of(tmp_path, "missing_from.eml", "subject_hu.eml", "new_ticket.eml")

    result = helpdesk("mail", "ingest", folder)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [  # in the order the mail was sent
        f"{folder / 'new_ticket.eml'}: new ticket #1000",
        f"{folder / 'subject_hu.eml'}: new ticket #1001",
        f"{folder / 'missing_from.eml'}: quarantined ({NO_SENDER})",
    ]
    assert [t.subject for t in tickets()] == ["Printer on fire", "Árvíztűrő tükörfúrógép: hibás számla"]
    assert len(smtp.wait_for(2)) == 2


def test_ingest_json_gives_an_object_per_message(helpdesk, tmp_path):
    folder = folder_of(tmp_path, "new_ticket.eml", "garbage.eml")

    result = helpdesk("mail", "ingest", "--json", folder)

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["file"], o["outcome"], o["ticket"], o["message_id"]) for o in lines] == [
        (str(folder / "new_ticket.eml"), "new_ticket", 1000, "<20240305091420.4711@mail.customer.test>"),
        (str(folder / "garbage.eml"), "quarantined", None, None),
    ]


def test_ingesting_the_same_folder_again_reports_duplicates_and_changes_nothing(helpdesk, tmp_path, smtp):
    folder = folder_of(tmp_path, "new_ticket.eml", "reply_subject_aw.eml")
    assert helpdesk("mail", "ingest", folder).exit_code == 0

    result = helpdesk("mail", "ingest", folder)

    assert result.exit_code == 0, result.output
    assert [line.rsplit(": ", 1)[1] for line in result.stdout.splitlines()] == [
        "already received", "already received"]
    assert len(tickets()) == 1
    assert len(tickets()[0].messages) == 2
    assert len(smtp.wait_for(1)) == 1


def test_ingest_mbox_file_threads_its_messages_in_the_order_they_were_sent(helpdesk, tmp_path):
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    for name in ("thread_2_reply.eml", "new_ticket.eml", "thread_1_original.eml"):
        box.add((CORPUS / name).read_bytes())
    box.flush()
    box.close()

    result = helpdesk("mail", "ingest", path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{path}#3: new ticket #1000",
        f"{path}#1: added to the ticket #1000",
        f"{path}#2: new ticket #1001",
    ]
    assert [(t.subject, len(t.messages)) for t in tickets()] == [("Drucker druckt nicht", 2), ("Printer on fire", 1)]


def test_ingest_maildir(helpdesk, tmp_path):
    path = tmp_path / "Maildir"
    box = mailbox.Maildir(path, create=True)
    keys = {name: box.add((CORPUS / name).read_bytes()) for name in ("reply_subject_re.eml", "new_ticket.eml")}

    result = helpdesk("mail", "ingest", "--json", path)

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["file"], o["outcome"], o["ticket"]) for o in lines] == [
        (f"{path}/{keys['new_ticket.eml']}", "new_ticket", 1000),
        (f"{path}/{keys['reply_subject_re.eml']}", "added", 1000),
    ]


def test_ingest_of_a_path_that_does_not_exist_fails_clearly(helpdesk, tmp_path):
    missing = tmp_path / "no-such-folder"

    result = helpdesk("mail", "ingest", missing)

    assert result.exit_code != 0
    assert "does not exist" in result.output and str(missing) in result.output
    assert tickets() == []


def test_quarantine_lists_mail_without_sender_and_retry_keeps_it_there(helpdesk, tmp_path):
    assert helpdesk("mail", "quarantine").stdout == "No quarantined messages.\n"
    helpdesk("mail", "ingest", CORPUS / "missing_from.eml")
    row = db.session.scalar(sa.select(InboundMessage))

    listed = helpdesk("mail", "quarantine")

    assert listed.exit_code == 0, listed.output
    (line,) = listed.stdout.splitlines()
    number, _received, sender, step, reason = line.split("\t")
    assert (int(number), sender, step, reason) == (row.id, "-", "sorting", NO_SENDER)

    retried = helpdesk("mail", "retry", row.id)

    assert retried.exit_code == 0, retried.output
    assert retried.stdout == f"{row.id}: quarantined\n"
    row = db.session.get(InboundMessage, row.id)
    assert (row.status, row.attempts) == (QUARANTINED, 2)
    assert quarantine.reason(row) == NO_SENDER
    assert tickets() == []


def test_an_unexpected_error_in_one_message_is_logged_once_without_a_traceback_and_listed(helpdesk, tmp_path,
                                                                                        monkeypatch, caplog):
    """A bug hit by one message (stubbed here at the threading step) quarantines that message alone: one log
    line per message names it, no traceback floods the log (the quarantine row keeps it for the agent)."""
    from helpdesk.mailgateway import pipeline

    real_thread_for = pipeline.thread_for

    def thread_for(mail, batch=None):
        if "boom" in (mail.subject or ""):
            raise RuntimeError("the threading step tripped over this message")
        return real_thread_for(mail, batch)

    monkeypatch.setattr(pipeline, "thread_for", thread_for)
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, subject in (("1.eml", "first"), ("2.eml", "boom"), ("3.eml", "third")):
        (folder / name).write_bytes(f"From: ann@customer.test\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
                                    f"Message-ID: <{name}@customer.test>\r\n\r\nHello\r\n".encode())

    with caplog.at_level("DEBUG", logger="helpdesk.mailgateway"):
        result = helpdesk("mail", "ingest", folder)

    assert result.exit_code == 0, result.output
    failed = db.session.scalar(sa.select(InboundMessage).where(InboundMessage.status == QUARANTINED))
    assert "the threading step tripped over this message" in failed.error and "Traceback" in failed.error
    records = [r for r in caplog.records if r.name.startswith("helpdesk.mailgateway")]
    assert not [r for r in records if r.exc_info], "a traceback reached the log"
    about_it = [r.getMessage() for r in records if f"inbound {failed.id}" in r.getMessage()]
    assert len([m for m in about_it if "quarantined" in m]) == 1 and len(about_it) <= 2, about_it
    assert len(tickets()) == 2

    listed = helpdesk("mail", "quarantine").stdout.splitlines()
    assert len(listed) == 1 and listed[0].startswith(f"{failed.id}\t")
    assert "RuntimeError: the threading step tripped over this message" in listed[0]


def _distinct_mails(folder, count):
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:03d}.eml").write_bytes(
            f"From: Customer {index} <customer{index}@client.example>\r\nTo: support@example.test\r\n"
            f"Subject: Question {index}\r\nMessage-ID: <import-{index}@client.example>\r\n"
            f"Date: Thu, 3 Dec 2026 07:{index % 60:02d}:00 +0000\r\n\r\n"
            f"Our printer says zebra{index}word when it starts.\r\n".encode())
    return folder


def test_an_import_without_redis_is_acknowledged_and_searchable_when_the_command_returns(
        app, helpdesk, tmp_path, smtp, agent):
    # Several batches (and, on a machine with two cores, the parser process): the acknowledgements go out
    # through one SMTP session and the index is written once, after the last batch.
    app.config.update(MAIL_BATCH_SIZE=6, MAIL_PARSE_PROCESSES="auto")
    folder = _distinct_mails(tmp_path / "import", 23)

    result = helpdesk("mail", "ingest", folder)

    assert result.exit_code == 0, result.output
    assert result.output.count("new ticket #") == 23
    assert len(smtp.messages) == 23  # no waiting: they were sent before the command returned
    assert len({envelope["session"] for envelope in smtp.envelopes}) == 1
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        f"Customer {i} <customer{i}@client.example>" for i in range(23))
    numbers = {t.subject: t.number for t in tickets()}
    for index in (0, 11, 22):
        assert [hit.number for hit in search.search_tickets(agent, f"zebra{index}word")] == [
            numbers[f"Question {index}"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PendingJob)) == 0


def test_the_command_in_a_process_of_its_own_forks_its_parser_and_comes_to_the_same_tickets(
        app, tmp_path, smtp, agent, department):
    """As an operator runs it: a process with no thread yet, whose parser process is a copy of it (forked at
    once, not started by a fork server). Several batches go through that parser; every mail is a ticket of its
    own, acknowledged, and searchable when the command returns."""
    folder = _distinct_mails(tmp_path / "import", 17)
    db.session.commit()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HELPDESK_INSTANCE_PATH=app.config["INSTANCE_PATH"], HELPDESK_SECRET_KEY=app.config["SECRET_KEY"],
               HELPDESK_SMTP_HOST="127.0.0.1", HELPDESK_SMTP_PORT=str(smtp.port), HELPDESK_REDIS_URL="",
               HELPDESK_MAIL_BATCH_SIZE="8", HELPDESK_MAIL_PARSE_PROCESSES="1", HELPDESK_LOG_LEVEL="DEBUG")
    done = subprocess.run([str(Path(sys.executable).with_name("helpdesk")), "mail", "ingest", str(folder)],
                          env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 mail parser process(es), copies of this process" in done.stderr
    # The first two batches went to it while the command was still building its app.
    assert "16 message(s) handed to the parser before the app is built" in done.stderr
    assert done.stdout.count("new ticket #") == 17
    assert len(smtp.messages) == 17
    db.session.expire_all()
    numbers = {t.subject: t.number for t in tickets()}
    assert sorted(numbers) == sorted(f"Question {index}" for index in range(17))
    for index in (0, 8, 16):  # one from each batch
        assert [hit.number for hit in search.search_tickets(agent, f"zebra{index}word")] == [
            numbers[f"Question {index}"]]


def test_an_import_that_stops_on_an_error_still_acknowledges_what_it_committed(
        app, helpdesk, tmp_path, smtp, agent, monkeypatch):
    from helpdesk.mailgateway import daemon

    app.config.update(MAIL_BATCH_SIZE=5, MAIL_PARSE_PROCESSES=0)
    folder = _distinct_mails(tmp_path / "import", 12)
    real_run_once, calls = daemon.Runner.run_once, []

    def run_once_then_fail(self, should_stop=lambda: False):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_run_once(self, should_stop)

    monkeypatch.setattr(daemon.Runner, "run_once", run_once_then_fail)
    result = helpdesk("mail", "ingest", folder)

    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, OSError), repr(result.exception)
    assert len(tickets()) == 5 and len(smtp.messages) == 5
    assert [hit.number for hit in search.search_tickets(agent, "zebra3word")] == [tickets()[3].number]


def test_the_command_starts_without_the_web_doors_and_its_acknowledgements_read_as_the_web_apps(
        app, helpdesk, tmp_path, smtp):
    # `mail ingest` builds its app without the pages, the API and live chat (it serves none): the mail it sends
    # must not notice. The same kind of mail, once through the command and once through this test's full app.
    from helpdesk import create_app
    from helpdesk.mailgateway import pipeline

    assert not [rule for rule in create_app("testing", {"DATABASE_URL": "sqlite://"}, http=False).url_map.iter_rules()
                if rule.endpoint != "static"]
    raws = [(f"From: Zoe Quinn <zoe@client.example>\r\nTo: support@example.test\r\nSubject: Fan noise {n}\r\n"
             f"Message-ID: <doors-{n}@client.example>\r\nDate: Thu, 3 Dec 2026 08:00:00 +0000\r\n\r\n"
             "The fan is loud.\r\n").encode() for n in (1, 2)]
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "1.eml").write_bytes(raws[0])

    assert helpdesk("mail", "ingest", folder).exit_code == 0
    pipeline.ingest([pipeline.Fetched("file", raws[1], label="2")])
    db.session.commit()

    by_command, by_app = [*smtp.wait_for(2), None, None][:2]
    assert by_command is not None and by_app is not None

    def text(message, number):
        body = re.sub(r"[\w-]+\.[\w-]+\.[\w-]+(?=\r?$)", "<signed link>", message.get_body(("plain",)).get_content(),
                      flags=re.MULTILINE)  # each ticket's own
        return body.replace(str(number), "N").replace("Fan noise 1", "S").replace("Fan noise 2", "S")

    numbers = {t.subject: t.number for t in tickets()}
    assert "Fan noise 1" in by_command["Subject"] and "Fan noise 2" in by_app["Subject"]
    assert text(by_command, numbers["Fan noise 1"]) == text(by_app, numbers["Fan noise 2"])
    assert by_command.get_body(("html",)) is not None
