"""The ticket rules tell people through the notice channels (notify/channels.py): email today, and any channel
registered later (SMS, chat, webhooks) gets the same notices without the tickets domain knowing about it."""
import pytest

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.notify import channels
from helpdesk.notify.channels import Notice, Recipient
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets import service


class Collecting:
    """A channel that keeps what it is offered (as an SMS or webhook channel would queue it)."""

    name = "collecting"

    def __init__(self):
        self.notices = []

    def send(self, notice, batch=None):
        self.notices.append(notice)


@pytest.fixture
def collecting(app):
    channel = Collecting()
    channels.register_channel(channel)
    yield channel
    channels._channels.remove(channel)


def _agent():
    return accounts.create_user(SYSTEM, email="agent@example.test", full_name="Agnes Agent", role="agent",
                                password="correct horse battery")


def test_a_registered_channel_hears_what_email_hears(app, collecting, smtp):
    agent = _agent()
    ticket = service.open_ticket(SYSTEM, subject="Disk full", body_text="Help", requester_email="ada@example.test",
                                 requester_name="Ada", cc=["bob@example.test"])
    service.add_agent_reply(agent, ticket, body_text="Cleaned up.")

    kinds = [n.kind for n in collecting.notices]
    assert kinds == ["ticket.acknowledgement", "ticket.agent_reply"]
    acknowledgement = collecting.notices[0]
    assert [r.email for r in acknowledgement.recipients] == ["ada@example.test", "bob@example.test"]
    assert acknowledgement.automatic and acknowledgement.about["ticket"].number == ticket.number
    assert all(r.locale for r in acknowledgement.recipients)
    # The email channel wrote its rows for the same notices.
    rows = db.session.scalars(db.select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [r.recipient for r in rows] == ["ada@example.test", "bob@example.test"] * 2


def test_closing_notifies_the_requester_only(app, collecting, smtp):
    agent = _agent()
    ticket = service.open_ticket(SYSTEM, subject="Done soon", body_text="x", requester_email="ada@example.test",
                                 cc=["bob@example.test"])
    service.close(agent, ticket)
    (closed,) = [n for n in collecting.notices if n.kind == "ticket.closed"]
    assert [r.email for r in closed.recipients] == ["ada@example.test"]


def test_the_email_channel_skips_people_without_an_address_and_refuses_unknown_kinds(app):
    channels.email.send(Notice("ticket.closed", (Recipient(email=None, phone="+989121234567"),), {}))
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxEmail)) == 0
    with pytest.raises(LookupError):
        channels.email.send(Notice("billing.invoice_due", (Recipient(email="ada@example.test"),), {}))


def test_every_ticket_notice_kind_has_an_email_composer(app):
    assert {"ticket.acknowledgement", "ticket.agent_reply", "ticket.closed", "ticket.guest_link",
            "ticket.sla_breach"} <= channels.email.kinds()


def test_mail_queued_before_the_move_still_renders(app, smtp):
    from helpdesk.notify.service import render

    ticket = service.open_ticket(SYSTEM, subject="Old queue", body_text="x", requester_email="ada@example.test")
    row = db.session.scalars(db.select(OutboxEmail)).one()
    row.render_with = "helpdesk.tickets.notifications.render_outbox"  # what the last release stored
    row.subject, row.body_text = "", ""
    render(row)
    assert row.subject.startswith(f"[#{ticket.number}]") and "Old queue" in row.subject and row.body_text
