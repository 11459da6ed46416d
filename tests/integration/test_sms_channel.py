"""The SMS channel: a notice's texts are outbox rows of the caller's transaction (none when it rolls back), sent
once after the commit through the real Kavenegar adapter to a fake of Kavenegar's API on loopback, in each
recipient's language and to E.164 numbers only; temporary failures are retried with a back-off, permanent ones
marked; a lost job's row is sent by the sweep without a second SMS; the API key never reaches a log line or a stored
error; without a provider nothing is sent and nothing breaks; WhatsApp is never offered to Iranian or Turkish
numbers; staff see the texts and failures in the console."""
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk import create_app, scheduler
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.notify import sms, sms_tasks
from helpdesk.notify.channels import Notice, Recipient, notify
from helpdesk.notify.sms_models import FAILED, PENDING, SENDING, SENT, SmsMessage
from helpdesk.settings import ConfigurationError
from tests.conftest import log_in
from tests.fakes.kavenegar_api import API_KEY, FakeKavenegar

KIND = "test.sms_hello"
IRAN, GERMANY = "+989121234567", "+4915112345678"


def _hello(notice, recipient):
    return _("Log in") + f" {notice.about['code']}"


sms.compose(KIND, _hello)


@pytest.fixture(scope="module")
def kavenegar():
    fake = FakeKavenegar().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, smtp, kavenegar):
    kavenegar.messages.clear(), kavenegar.requests.clear(), kavenegar.failures.clear(), kavenegar.by_localid.clear()
    app = app_factory(SMS_PROVIDER="kavenegar", KAVENEGAR_API_KEY=API_KEY, KAVENEGAR_API_BASE=kavenegar.url)
    with app.app_context():
        yield app
        db.session.remove()


def rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(SmsMessage).order_by(SmsMessage.id)).all()


def tell(*recipients, code="1234"):
    notify(Notice(KIND, tuple(recipients), {"code": code}))


def make_due():
    db.session.execute(sa.update(SmsMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_texts_are_queued_with_the_change_sent_once_after_commit_in_each_recipients_language(app, kavenegar):
    tell(Recipient(email=None, phone=IRAN, locale="fa"))
    assert [r.phone for r in db.session.new if isinstance(r, SmsMessage)] == [IRAN]
    db.session.rollback()
    assert rows() == [] and kavenegar.messages == []

    tell(Recipient(email=None, phone=IRAN, locale="fa", user_id=None),
         Recipient(email=None, phone=IRAN, locale="fa"),  # the same phone twice (two owners): one text
         Recipient(email=None, phone=GERMANY, locale="de"),
         Recipient(email=None, phone="+36301234567", locale="xx"),  # a language we do not speak: the default
         Recipient(email=None, name="No phone", phone=None),
         Recipient(email=None, phone="0912 123 4567", locale="fa"))  # not E.164: never texted
    assert kavenegar.messages == []  # nothing leaves before the commit
    db.session.commit()

    with force_locale("fa"):
        persian = _("Log in") + " 1234"
    with force_locale("de"):
        german = _("Log in") + " 1234"
    assert persian != german
    assert kavenegar.to("09121234567") == [persian]
    assert kavenegar.to("004915112345678") == [german]
    with force_locale(app.config["DEFAULT_LOCALE"]):
        assert kavenegar.to("0036301234567") == [_("Log in") + " 1234"]
    assert len(kavenegar.messages) == 3
    sent = rows()
    assert [(r.phone, r.status, r.locale) for r in sent] == [
        (IRAN, SENT, "fa"), (GERMANY, SENT, "de"), ("+36301234567", SENT, app.config["DEFAULT_LOCALE"])]
    assert all(r.provider == "kavenegar" and r.provider_id and r.sent_at for r in sent)
    assert {m["localid"] for m in kavenegar.messages} == {r.reference for r in sent}

    # Run again (a second delivery of the job): nothing more is sent.
    assert sms_tasks.deliver_sms(*[r.id for r in sent]) == ["skipped"] * 3
    # A worker that died after Kavenegar accepted the text leaves it "sending"; the sweep takes it again after
    # the claim timeout, and Kavenegar recognises its localid: still one SMS.
    db.session.execute(sa.update(SmsMessage).where(SmsMessage.id == sent[0].id).values(
        status=SENDING, claimed_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert sms_tasks.sweep() == 1
    assert rows()[0].status == SENT and len(kavenegar.messages) == 3


def test_only_e164_numbers_are_queued(app):
    with pytest.raises(ValueError):
        sms.queue_sms(phone="09121234567", text="x", kind=KIND)
    row = sms.queue_sms(phone=IRAN, text="  hello  ", kind=KIND)
    assert row.text == "hello"
    db.session.rollback()


def test_temporary_failures_are_retried_with_a_backoff_and_permanent_ones_marked(app, kavenegar):
    kavenegar.failures[:] = [503, "garbage", "empty-ok"]
    tell(Recipient(email=None, phone=IRAN, locale="en"))
    db.session.commit()
    [row] = rows()
    assert (row.status, row.attempts) == (PENDING, 1) and "503" in row.last_error
    assert row.next_attempt_at > utcnow()
    assert sms_tasks.sweep() == 0  # not due yet
    make_due()
    assert sms_tasks.sweep() == 1
    [row] = rows()
    assert (row.status, row.attempts) == (PENDING, 2) and "502" in row.last_error
    make_due()
    sms_tasks.sweep()
    [row] = rows()
    assert (row.status, row.attempts) == (PENDING, 3)  # a 200 without Kavenegar's answer is not taken as sent
    make_due()
    # The scheduler's sms.sweep (registered because a provider is configured) sends what is due.
    [job] = [job for job in scheduler.registered_jobs(app.config) if job.name == "sms.sweep"]
    assert scheduler.tick(utcnow(), jobs=[job]) != []
    [row] = rows()
    assert (row.status, row.attempts, row.last_error) == (SENT, 4, None)
    assert kavenegar.to("09121234567") == [_("Log in") + " 1234"]

    kavenegar.failures[:] = [418]  # no credit: refused for good
    tell(Recipient(email=None, phone=GERMANY, locale="en"), code="5678")
    db.session.commit()
    failed = rows()[-1]
    assert failed.status == FAILED and "418" in failed.last_error
    calls = len(kavenegar.requests)
    make_due()
    assert sms_tasks.sweep() == 0 and len(kavenegar.requests) == calls
    assert kavenegar.to("004915112345678") == []


def test_too_many_temporary_failures_end_in_failed(app, kavenegar):
    app.config["SMS_MAX_ATTEMPTS"] = 2
    kavenegar.failures[:] = [500, 500]
    tell(Recipient(email=None, phone=IRAN, locale="en"))
    db.session.commit()
    make_due()
    sms_tasks.sweep()
    [row] = rows()
    assert (row.status, row.attempts) == (FAILED, 2) and "500" in row.last_error


def test_the_api_key_never_reaches_a_log_line_or_a_stored_error(app, kavenegar, caplog):
    caplog.set_level(logging.DEBUG)
    kavenegar.failures[:] = [500]
    tell(Recipient(email=None, phone=IRAN, locale="en"))
    db.session.commit()
    app.config["KAVENEGAR_API_BASE"] = "http://127.0.0.1:9"  # nothing listens: a connection error names the URL
    make_due()
    sms_tasks.sweep()
    app.config["KAVENEGAR_API_BASE"] = kavenegar.url
    make_due()
    sms_tasks.sweep()
    [row] = rows()
    assert row.status == SENT and row.attempts == 3
    # Our lines (the fake's own server log, "werkzeug", is Kavenegar's side and left out).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "could not be reached" in ours and "/sms/send.json" in ours  # urllib3's lines, redacted
    assert API_KEY not in ours
    app.config["KAVENEGAR_API_KEY"] = "wrong-key-" + "x" * 20  # Kavenegar answers 403: refused for good
    tell(Recipient(email=None, phone=GERMANY, locale="en"))
    db.session.commit()
    refused = rows()[-1]
    assert refused.status == FAILED and "403" in refused.last_error
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "wrong-key" not in ours and "wrong-key" not in refused.last_error
    assert all(API_KEY not in (r.last_error or "") for r in rows())


def test_without_a_provider_texts_are_recorded_not_sent(app_factory, smtp, kavenegar):
    kavenegar.messages.clear()
    app = app_factory()  # the embedded default: SMS_PROVIDER = ""
    with app.app_context():
        tell(Recipient(email=None, phone=IRAN, locale="en"))
        db.session.commit()
        [row] = rows()
        assert row.status == FAILED and row.last_error == sms_tasks.NO_PROVIDER
        assert kavenegar.messages == []
        assert "sms.sweep" not in [job.name for job in scheduler.registered_jobs(app.config)]  # nothing to retry
        db.session.remove()


def test_kavenegar_without_its_key_stops_the_start(tmp_path):
    with pytest.raises(ConfigurationError, match="KAVENEGAR_API_KEY"):
        create_app("testing", {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "INSTANCE_PATH": str(tmp_path),
                               "SMS_PROVIDER": "kavenegar", "KAVENEGAR_API_KEY": ""})


@pytest.mark.parametrize(("number", "allowed"), [
    (IRAN, False), ("+905321234567", False), (GERMANY, True), ("+36301234567", True), (None, False), ("abc", False)])
def test_whatsapp_is_never_offered_to_iranian_or_turkish_numbers(number, allowed):
    assert sms.whatsapp_allowed(number) is allowed


def test_staff_see_recent_texts_and_failures_customers_do_not(app, client, kavenegar, make_user, agent):
    kavenegar.failures[:] = [411]
    tell(Recipient(email=None, phone=IRAN, locale="en"), code="0001")
    tell(Recipient(email=None, phone=GERMANY, locale="en"), code="0002")
    db.session.commit()
    customer = make_user(email="someone@example.com")
    log_in(client, customer.email)
    assert client.get("/agent/sms").status_code == 404
    client.post("/logout", data={})
    client.delete_cookie("session")
    log_in(client, agent.email)
    page = client.get("/agent/sms").get_data(as_text=True)
    assert IRAN in page and GERMANY in page and "411" in page
    failures = client.get("/agent/sms?show=failed").get_data(as_text=True)
    assert IRAN in failures and GERMANY not in failures
