"""Bytes no person typed (NUL and other control characters) in headers and bodies never stop the
gateway: PostgreSQL refuses NUL in text, so the store must clean them, not crash on them."""
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.models import InboundMessage
from helpdesk.tickets.models import Ticket

NUL_MAIL = (b"From: Nul\x00 Person <nul@example.test>\r\nTo: support@example.test\r\n"
            b"Subject: Printer\x00 broken\x07\r\nMessage-ID: <nul-1@example.test>\r\n\r\n"
            b"It prints \x00 nothing.\r\n")
GOOD_MAIL = (b"From: good@example.test\r\nTo: support@example.test\r\nSubject: After the bad one\r\n"
             b"Message-ID: <good-1@example.test>\r\n\r\nHello\r\n")


def test_control_characters_are_cleaned_and_the_rest_of_the_batch_goes_on(app, smtp):
    outcomes = pipeline.ingest([pipeline.Fetched("file", NUL_MAIL, label="nul.eml"),
                                pipeline.Fetched("file", GOOD_MAIL, label="good.eml")])
    assert [o.outcome for o in outcomes] == ["new_ticket", "new_ticket"]
    tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
    assert tickets[0].subject == "Printer broken"
    assert tickets[0].messages[0].body_text == "It prints  nothing."
    assert tickets[0].requester.email == "nul@example.test"
    assert tickets[1].subject == "After the bad one"
    stored = db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
    assert "\x00" not in (stored[0].subject or "") and stored[0].sender == "nul@example.test"
