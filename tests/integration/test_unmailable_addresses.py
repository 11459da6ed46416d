"""Addresses and names that cannot be mailed (issue 12, class 8), on both databases with the real SMTP server: one
address rule for every door (IDN domains kept and sent in ASCII form, non-ASCII local parts only with SMTPUTF8),
names cleaned of line breaks on input, and outbox rows that can never be built marked failed, never retried."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.exc import IntegrityError

from helpdesk.accounts import service as accounts
from helpdesk.accounts import staff
from helpdesk.accounts.models import User
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.db import utcnow
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.notify import addresses, tasks
from helpdesk.notify.models import FAILED, PENDING, SENDING, SENT, OutboxEmail
from helpdesk.notify.service import queue_email
from helpdesk.sanitize import clean_name
from helpdesk.tickets import departments, service
from tests.conftest import csrf_token

CYRILLIC_A = "\u0430"
NON_ASCII_LOCAL = [f"cust{CYRILLIC_A}@example.net", "jürgen@example.net", "用户@example.net"]
IDN = [("custa@exämple.net", "custa@xn--exmple-cua.net"), ("Ana@BÜCHER.example", "ana@xn--bcher-kva.example"),
       ("x@xn--exmple-cua.net", "x@xn--exmple-cua.net")]
BAD_NAMES = ["Eve\r\nBcc: victim@example.net", "Eve\nX-Evil: 1", "Eve\u0085Bcc: v@example.net", "Eve\u2028Smith",
             "Eve\u2029Smith", "Eve\tSmith", "Eve\x00\x0bSmith", "  Eve \u00a0  Smith  "]


# --------------------------------------------------------------------------- the one address rule

# The address rule itself reads only settings: one database is enough for its tests.
ONE_DATABASE = pytest.mark.backends("sqlite")


@ONE_DATABASE
@pytest.mark.parametrize(("typed", "stored"), IDN)
def test_idn_domains_are_stored_in_ascii_form(app, typed, stored):
    assert accounts.normalise_email(typed) == stored


def test_both_forms_of_an_idn_address_are_one_account(app):
    accounts.create_user(SYSTEM, email="custa@exämple.net", full_name="Cust A", role="customer", password=None)
    with pytest.raises(ValidationFailed) as caught:
        staff.create_staff(SYSTEM, email="CUSTA@xn--exmple-cua.net", full_name="Again", role="agent")
    assert "already exists" in str(caught.value.errors["email"])


@ONE_DATABASE
@pytest.mark.parametrize("address", NON_ASCII_LOCAL)
def test_non_ascii_local_parts_are_refused_without_smtputf8(app, address):
    with pytest.raises(addresses.InvalidAddress) as caught:
        accounts.normalise_email(address)
    assert caught.value.kind == addresses.NEEDS_SMTPUTF8
    assert "before the @" in str(caught.value.message)


@ONE_DATABASE
@pytest.mark.parametrize("address", NON_ASCII_LOCAL)
def test_non_ascii_local_parts_are_accepted_when_the_server_speaks_smtputf8(app, address):
    app.config["SMTP_SMTPUTF8"] = True
    assert accounts.normalise_email(address).endswith("@example.net")


@ONE_DATABASE
@pytest.mark.parametrize("address", ["not an address", "a@b@c.net", "a\r\n@example.net", "a@exa mple.net", ""])
def test_garbage_is_still_an_invalid_address(app, address):
    with pytest.raises(addresses.InvalidAddress) as caught:
        accounts.normalise_email(address)
    assert caught.value.kind == addresses.INVALID


@pytest.mark.parametrize("address", NON_ASCII_LOCAL)
def test_every_door_refuses_an_unmailable_address(app, department, address):
    with pytest.raises(ValidationFailed) as caught:
        accounts.register_customer(SYSTEM, email=address, full_name="X", consent=True, policy_version="1",
                                   locale=None)
    assert "before the @" in str(caught.value.errors["email"])
    with pytest.raises(ValidationFailed) as caught:
        staff.create_staff(SYSTEM, email=address, full_name="X", role="agent")
    assert "before the @" in str(caught.value.errors["email"])
    with pytest.raises(ValidationFailed) as caught:
        service.open_ticket(GUEST_FORM, subject="s", body_text="b", requester_email=address, requester_name="X")
    assert "before the @" in str(caught.value.errors["requester_email"])
    with pytest.raises(ValidationFailed) as caught:
        service.open_ticket(SYSTEM, subject="s", body_text="b", requester_email="ok@example.test", cc=[address])
    assert "before the @" in str(caught.value.errors["cc"])
    ticket = service.open_ticket(SYSTEM, subject="s", body_text="b", requester_email="ok@example.test",
                                 acknowledge=False)
    with pytest.raises(ValidationFailed):
        service.add_participants(SYSTEM, ticket, [address])
    with pytest.raises(ValidationFailed):
        departments.create_department(SYSTEM, name="Sales", inbound_address=address)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email.like("%example.net"))) == 0


def test_the_web_forms_show_a_field_error(client):
    page = client.get("/tickets/new").text
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(page), "email": f"cust{CYRILLIC_A}@example.net", "full_name": "Gina",
        "company": "G", "subject": "s", "description": "d", "priority": "normal", "department": "",
        "problem_timezone": "Europe/Berlin", "privacy": "y"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "before the @" in response.text
    page = client.get("/register").text
    response = client.post("/register", data={"csrf_token": csrf_token(page), "email": "jürgen@example.net",
                                              "full_name": "Jürgen", "consent": "y"})
    assert "before the @" in response.text


def test_the_cli_refuses_an_unmailable_address(app):
    from helpdesk.cli import main

    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    result = CliRunner().invoke(main, ["user", "create", "--email", "jürgen@example.net", "--name", "J",
                                       "--role", "agent", "--password", "correct horse battery"], env=env)
    assert result.exit_code != 0 and "before the @" in result.output
    assert db.session.scalar(sa.select(User).where(User.email.like("j%"))) is None


# --------------------------------------------------------------------------- names

@pytest.mark.parametrize("name", BAD_NAMES)
def test_clean_name_leaves_one_line(name):
    cleaned = clean_name(name)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert not any(c in cleaned for c in "\r\n\t\x00\x0b\x85\u2028\u2029\u00a0")
    assert cleaned.startswith("Eve")


def test_clean_name_keeps_what_names_need():
    assert clean_name("Ali\u200cReza Mohammadi") == "Ali\u200cReza Mohammadi"  # ZWNJ in Persian names
    assert clean_name("Zoë O'Brien-Łukasz") == "Zoë O'Brien-Łukasz"
    assert len(clean_name("x" * 500)) == 200


def test_every_name_field_is_cleaned_on_input(app, department):
    # Each name in a loop (its own people, organisation and department), one test per database.
    for n, name in enumerate(BAD_NAMES):
        expected = clean_name(name)
        user = accounts.create_user(SYSTEM, email=f"a{n}@example.test", full_name=name, role="customer")
        assert user.full_name == expected, repr(name)
        accounts.update_profile(SYSTEM, user, full_name=name + " Jr")
        assert "\n" not in user.full_name and "\r" not in user.full_name, repr(name)
        agent = staff.create_staff(SYSTEM, email=f"agent-x{n}@example.test", full_name=name, role="agent")
        assert agent.full_name == expected, repr(name)
        org = accounts.create_organisation(SYSTEM, name=name)
        assert org.name == expected, repr(name)
        ticket = service.open_ticket(GUEST_FORM, subject="s", body_text="b",
                                     requester_email=f"guest{n}@example.test", requester_name=name)
        assert ticket.requester.full_name == expected, repr(name)
        assert ticket.messages[0].author_name == expected, repr(name)
        unique = name.replace("Eve", f"Eve{n}")  # department names are unique; every bad name has an Eve
        dept = departments.create_department(SYSTEM, name=unique)
        assert dept.name == clean_name(unique)[:100], repr(name)


def test_registration_cleans_the_name(app):
    accounts.register_customer(SYSTEM, email="reg@example.test", full_name="Rita\r\nBcc: x@example.net",
                               company="Evil\u2028Corp", consent=True, policy_version="1", locale=None)
    user = accounts.get_by_email("reg@example.test")
    assert user.full_name == "Rita Bcc: x@example.net" and user.company_name == "Evil Corp"


def test_a_guest_with_a_broken_name_gets_the_acknowledgement(app, smtp):
    for n, name in enumerate(BAD_NAMES):  # a guest each, one test per database
        smtp.clear()
        service.open_ticket(GUEST_FORM, subject="s", body_text="b", requester_email=f"guest{n}@example.test",
                            requester_name=name)
        mails = smtp.wait_for(1)
        assert len(mails) == 1 and "Bcc" not in mails[0] and "X-Evil" not in mails[0], repr(name)
        assert [e["to"] for e in smtp.envelopes] == [[f"guest{n}@example.test"]], repr(name)


# --------------------------------------------------------------------------- the outbox

def stored_row(**columns):
    """A row as an older version left it in the outbox: written without today's checks."""
    values = dict(sender="Helpdesk <helpdesk@example.test>", recipient="ok@example.test", recipient_name="",
                  subject="Hello", body_text="Hi", headers={}, attachments=[], message_id=f"<{utcnow().timestamp()}"
                  f".{len(columns)}.{id(columns)}@helpdesk.example.test>", status=PENDING, attempts=0,
                  next_attempt_at=utcnow() - timedelta(seconds=1), created_at=utcnow())
    values.update(columns)
    row = OutboxEmail(**values)
    db.session.add(row)
    db.session.commit()
    return row.id


def outcome(row_id):
    db.session.rollback()
    return db.session.get(OutboxEmail, row_id)


@pytest.mark.parametrize("recipient", [*NON_ASCII_LOCAL, "no-at-sign", "a@exa\r\nmple.net"])
def test_an_old_row_with_an_unmailable_recipient_is_marked_failed_once(app, smtp, recipient):
    row_id = stored_row(recipient=recipient)
    assert tasks.deliver(row_id) == "failed"
    row = outcome(row_id)
    assert row.status == FAILED and "cannot be mailed" in row.last_error and row.attempts == 1
    assert tasks.sweep() == 0 and tasks.deliver(row_id) == "skipped"
    assert smtp.messages == []


@pytest.mark.parametrize(("recipient", "sent_to"), IDN[:2])
def test_an_old_row_with_an_idn_domain_is_sent_to_the_ascii_form(app, smtp, recipient, sent_to):
    row_id = stored_row(recipient=recipient)
    assert tasks.deliver(row_id) == "sent"
    assert outcome(row_id).status == SENT
    smtp.wait_for(1)
    assert smtp.envelopes[0]["to"] == [sent_to]
    assert sent_to in str(smtp.messages[0]["To"]).lower()


@pytest.mark.parametrize("name", ["Eve\r\nBcc: victim@example.net", "Eve\nX-Evil: 1"])
def test_an_old_row_with_a_header_breaking_name_is_marked_failed(app, smtp, name):
    row_id = stored_row(recipient_name=name)
    assert tasks.deliver(row_id) == "failed"
    assert "cannot be built" in outcome(row_id).last_error
    assert smtp.messages == []


def test_a_broken_extra_header_is_marked_failed(app, smtp):
    row_id = stored_row(headers={"Reply-To": "x@example.test\r\nBcc: victim@example.net"})
    assert tasks.deliver(row_id) == "failed" and outcome(row_id).status == FAILED
    assert smtp.messages == []


def test_queue_email_cleans_the_recipient_name(app, smtp):
    queue_email(sender="helpdesk@example.test", recipient="ok@example.test", recipient_name="Eve\r\nBcc: v@x.net",
                subject="s", body_text="b")
    db.session.commit()
    mails = smtp.wait_for(1)
    assert len(mails) == 1 and mails[0]["Bcc"] is None
    assert [e["to"] for e in smtp.envelopes] == [["ok@example.test"]]


def test_a_non_ascii_local_part_is_sent_with_smtputf8_when_enabled(app, smtp):
    app.config["SMTP_SMTPUTF8"] = True  # the fixture's server (aiosmtpd) offers SMTPUTF8
    row_id = stored_row(recipient="jürgen@exämple.net")
    assert tasks.deliver(row_id) == "sent"
    smtp.wait_for(1)
    assert smtp.envelopes[0]["to"] == ["jürgen@xn--exmple-cua.net"]


def test_a_database_error_mid_delivery_releases_the_row_for_retry(app, smtp, monkeypatch):
    row_id = stored_row(render_with="tests.never.called", render_args={})
    taken = stored_row(recipient="other@example.test")
    taken_message_id = db.session.get(OutboxEmail, taken).message_id

    def broken_render(row):
        db.session.add(OutboxEmail(sender="a@example.test", recipient="b@example.test", subject="x", body_text="x",
                                   message_id=taken_message_id))
        try:
            db.session.flush()
        except IntegrityError:
            pass  # swallowed: the session now waits for a rollback
        db.session.execute(sa.select(1))  # PendingRollbackError

    monkeypatch.setattr(tasks, "render", broken_render)
    assert tasks.deliver(row_id) == "retry"
    row = outcome(row_id)
    assert row.status == PENDING and row.claimed_at is not None
    assert "PendingRollbackError" in row.last_error
    assert row.next_attempt_at > utcnow()


def test_a_failed_send_never_leaves_the_row_claimed(app, smtp, monkeypatch):
    row_id = stored_row()

    def boom(connection, row):
        row.subject = "changed by a half-done attempt"
        raise ConnectionError("network down")

    monkeypatch.setattr(tasks.mailer.Connection, "send", boom)
    assert tasks.deliver(row_id) == "retry"
    row = outcome(row_id)
    assert row.status == PENDING and row.subject == "Hello" and row.status != SENDING
