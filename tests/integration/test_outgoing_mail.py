"""Outgoing mail through a real SMTP server: acknowledgements, replies, threading, outages."""
import time
from collections import Counter
from email.utils import getaddresses

import pytest
import sqlalchemy as sa

from helpdesk.actors import MAIL_GATEWAY
from helpdesk.extensions import db
from helpdesk.notify import tasks
from helpdesk.notify.models import PENDING, SENT, OutboxEmail
from helpdesk.tickets import service
from helpdesk.tickets.reply_matching import number_from_address


def _open(customer, department, **kwargs):
    return service.open_ticket(customer, subject="Printer on fire", body_text="It smokes.",
                               department=department, cc=["boss@example.test"], **kwargs)


def test_new_ticket_sends_threaded_acknowledgement_to_requester_and_cc(app, smtp, customer, department):
    ticket = _open(customer, department)
    mails = smtp.wait_for(2)
    assert sorted(getaddresses([str(m["To"])])[0][1] for m in mails) == ["boss@example.test", "carla@example.test"]
    first_message_id = ticket.messages[0].message_id
    for mail in mails:
        assert f"[#{ticket.number}]" in mail["Subject"]
        assert mail["Auto-Submitted"] == "auto-replied"
        assert mail["In-Reply-To"] == first_message_id
        assert first_message_id in mail["References"]
        assert number_from_address(str(mail["Reply-To"])) == ticket.number
        assert str(ticket.number) in mail.get_body(("plain",)).get_content()
        assert mail.get_body(("html",)) is not None
    assert len({m["Message-ID"] for m in mails}) == 2


def test_agent_reply_reaches_requester_and_ccs_threaded_to_what_they_received(app, smtp, customer, agent,
                                                                             department):
    ticket = _open(customer, department)
    acks = {getaddresses([str(m["To"])])[0][1]: m for m in smtp.wait_for(2)}
    smtp.clear()
    service.add_agent_reply(agent, ticket, body_text="Unplug it, please.")
    replies = smtp.wait_for(2)
    assert len(replies) == 2
    for mail in replies:
        address = getaddresses([str(mail["To"])])[0][1]
        assert mail["In-Reply-To"] == acks[address]["Message-ID"]
        references = mail["References"].split()
        assert ticket.messages[0].message_id in references
        assert acks[address]["Message-ID"] in references
        assert mail["Auto-Submitted"] is None
        assert "Unplug it, please." in mail.get_body(("plain",)).get_content()
        assert "The support team" in mail.get_body(("plain",)).get_content()  # department signature
        assert mail["From"].addresses[0].addr_spec == "support@example.test"


def test_internal_note_is_never_emailed(app, smtp, customer, agent, department):
    ticket = _open(customer, department)
    smtp.wait_for(2)
    smtp.clear()
    service.add_internal_note(agent, ticket, body_text="Customer is a VIP; be nice.")
    time.sleep(0.3)
    assert smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 2


def test_reply_attachments_travel_with_the_mail(app, smtp, customer, agent, department):
    ticket = _open(customer, department)
    smtp.wait_for(2)
    smtp.clear()
    service.add_agent_reply(agent, ticket, body_text="Manual attached.", attachments=[
        service.NewAttachment("manual.pdf", "application/pdf", b"%PDF-1.4 fake")])
    mail = smtp.wait_for(2)[0]
    parts = list(mail.iter_attachments())
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in parts] == [
        ("manual.pdf", "application/pdf", b"%PDF-1.4 fake")]


def test_smtp_outage_delays_mail_and_loses_none(app, smtp, customer, agent, department):
    ticket = _open(customer, department)
    smtp.wait_for(2)
    smtp.stop()
    service.add_agent_reply(agent, ticket, body_text="First answer while the relay is down.")
    service.add_agent_reply(agent, ticket, body_text="Second answer while the relay is down.")
    pending = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.status == PENDING)).all()
    assert len(pending) == 4 and all(row.attempts == 1 and row.last_error for row in pending)
    # A sweep before the back-off has passed sends nothing and loses nothing.
    smtp.start()
    smtp.clear()
    assert tasks.sweep() == 0
    time.sleep(1.1)  # testing config caps the back-off at one second
    assert tasks.sweep() == 4
    tasks.sweep()  # a second sweep must not send anything twice
    mails = smtp.wait_for(4)
    time.sleep(0.3)
    assert Counter(m["Message-ID"] for m in smtp.messages) == Counter({row.message_id: 1 for row in pending})
    db.session.expire_all()
    assert {row.status for row in db.session.scalars(sa.select(OutboxEmail))} == {SENT}
    bodies = sorted(m.get_body(("plain",)).get_content().splitlines()[0] for m in mails)
    assert bodies.count("First answer while the relay is down.") == 2


def test_permanently_refused_recipient_is_marked_failed_not_retried(app, smtp, customer, department):
    smtp.handler.refuse = "nobody@example.test"
    try:
        service.open_ticket(MAIL_GATEWAY, subject="Hello", body_text="Hi", requester_email="nobody@example.test",
                            department=department)
    finally:
        smtp.handler.refuse = None
    row = db.session.scalar(sa.select(OutboxEmail))
    assert row.status == "failed" and "550" in row.last_error
    time.sleep(1.1)
    assert tasks.sweep() == 0


def test_jobs_go_through_redis_and_a_worker_delivers(app_factory, smtp, redis_prefix):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from helpdesk import jobs
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    redis_app = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    with redis_app.app_context():
        customer = accounts.create_user(SYSTEM, email="rq@example.test", full_name="Rita Queue", role="customer",
                                        password="correct horse battery")
        ticket = service.open_ticket(customer, subject="Queued", body_text="Through Redis")
        queue = Queue(f"{redis_prefix}-mail", connection=Redis.from_url("redis://127.0.0.1:6379/0"))
        assert queue.count == 1
        time.sleep(0.2)
        assert smtp.messages == []  # nothing is sent by the request itself
        jobs.bind_app(redis_app)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        mails = smtp.wait_for(1)
        assert len(mails) == 1 and f"[#{ticket.number}]" in mails[0]["Subject"]
        db.session.remove()


def test_redis_outage_keeps_mail_pending_for_the_sweep(app_factory, smtp, redis_prefix, customer):
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    dead_redis = app_factory(REDIS_URL="redis://127.0.0.1:1/0", QUEUE_PREFIX=redis_prefix)
    with dead_redis.app_context():
        requester = accounts.create_user(SYSTEM, email="down@example.test", full_name="Dana Down",
                                         role="customer", password="correct horse battery")
        ticket = service.open_ticket(requester, subject="Redis is down", body_text="Still recorded")
        assert ticket.number  # the request itself succeeded
        row = db.session.scalar(sa.select(OutboxEmail))
        assert row.status == PENDING
        db.session.remove()
    recovered = app_factory()
    with recovered.app_context():
        assert tasks.sweep() == 1
        assert len(smtp.wait_for(1)) == 1
        db.session.remove()


@pytest.mark.parametrize("kind", ["note", "event"])
def test_nothing_is_mailed_for_changes_that_are_not_replies(app, smtp, customer, agent, department, kind):
    ticket = _open(customer, department)
    smtp.wait_for(2)
    smtp.clear()
    if kind == "note":
        service.add_internal_note(agent, ticket, body_text="internal")
    else:
        service.update_ticket(agent, ticket, priority="high", assignee=agent)
    time.sleep(0.3)
    assert smtp.messages == []


def test_helpdesk_worker_command_delivers_what_the_web_app_queued(app_factory, smtp, redis_prefix):
    """The Procfile's worker: `helpdesk worker --burst` takes the queued job from Redis and sends it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    queued = app_factory(REDIS_URL="redis://127.0.0.1:6379/0", QUEUE_PREFIX=redis_prefix)
    with queued.app_context():
        customer = accounts.create_user(SYSTEM, email="w@example.test", full_name="Wanda Worker", role="customer",
                                        password="correct horse battery")
        ticket = service.open_ticket(customer, subject="Via the worker", body_text="Queued in Redis")
        number = ticket.number
        db.session.remove()
    time.sleep(0.2)
    assert smtp.messages == []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_DATABASE_URL=queued.config["SQLALCHEMY_DATABASE_URI"],
               HELPDESK_INSTANCE_PATH=queued.config["INSTANCE_PATH"], HELPDESK_REDIS_URL="redis://127.0.0.1:6379/0",
               HELPDESK_QUEUE_PREFIX=redis_prefix, HELPDESK_SECRET_KEY=queued.config["SECRET_KEY"],
               HELPDESK_SMTP_HOST="127.0.0.1", HELPDESK_SMTP_PORT=str(smtp.port))
    helpdesk = Path(sys.executable).with_name("helpdesk")
    result = subprocess.run([str(helpdesk), "worker", "--burst", "--queue", "mail"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    mails = smtp.wait_for(1)
    assert len(mails) == 1 and f"[#{number}]" in mails[0]["Subject"]


@pytest.mark.fresh_app  # adds an after_request hook of its own
def test_mail_from_a_web_request_is_sent_after_the_response_without_redis(app_factory, smtp, customer):
    """The embedded setup answers first and mails afterwards: a password reset for a registered
    address answers as fast as one for an unknown address (no hint which addresses exist)."""
    from tests.conftest import csrf_token

    web = app_factory(JOBS_INPROCESS="after_response")
    sent_during_request = []

    @web.after_request
    def _count_mail_at_response_time(response):
        sent_during_request.append(len(smtp.messages))
        return response

    client = web.test_client()
    page = client.get("/forgot-password").get_data(as_text=True)
    response = client.post("/forgot-password", data={"csrf_token": csrf_token(page), "email": customer.email})
    response.close()  # what a WSGI server does once the answer is sent
    assert response.status_code in (200, 302)
    assert sent_during_request[-1] == 0
    mails = smtp.wait_for(1)
    assert len(mails) == 1 and mails[0]["To"].addresses[0].addr_spec == customer.email
