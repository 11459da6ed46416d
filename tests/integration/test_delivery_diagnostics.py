"""Delivery diagnostics as an agent sees them: from each inbound message of a ticket a link to the servers it
passed through (sending server, IP, receiving server, time, delay per hop, total delay), in the agent's language,
time zone and calendar. Exactly who may see the ticket may see it; no Received headers, unreadable ones or broken
dates give a clear note, never an error page."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import Message, Ticket
from tests.conftest import log_in
from tests.outlook_msg import OutlookMessage, Recipient

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


ROUTE = (
    "Received: from mx.relay.example (mx.relay.example [198.51.100.1])\r\n"
    "\tby mx.example.test (Postfix) with ESMTPS id 4TqQ0A1Xk2z9sWc\r\n"
    "\tfor <support@example.test>; Mon, 2 Mar 2026 10:47:13 +0100 (CET)\r\n"
    "Received: from smtp.customer.test (smtp.customer.test [192.0.2.20])\r\n"
    "\tby mx.relay.example with ESMTP id 2; Mon, 2 Mar 2026 09:15:13 +0000\r\n"
    "Received: from [10.0.0.15] (unknown [10.0.0.15])\r\n"
    "\tby smtp.customer.test (Postfix) with ESMTPSA id 3; Mon, 2 Mar 2026 10:15:03 +0100\r\n"
)
NO_INFORMATION = "No delivery information"


def mail(headers=ROUTE, *, message_id="late.1@customer.test", subject="Where is my invoice?",
         sender="Grace Late <grace@customer.test>", in_reply_to=None):
    lines = headers + (f"From: {sender}\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
                       f"Date: Mon, 2 Mar 2026 10:15:00 +0100\r\nMessage-ID: <{message_id}>\r\n")
    if in_reply_to:
        lines += f"In-Reply-To: <{in_reply_to}>\r\n"
    return (lines + "\r\nI sent this an hour ago.\r\n").encode()


def ingest(*raws):
    return list(pipeline.ingest([pipeline.Fetched("imap:support", raw, label=str(n)) for n, raw in enumerate(raws)]))


def first_message(number):
    db.session.expire_all()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    return ticket.messages[0]


def delivery_url(message):
    return f"/agent/messages/{message.id}/delivery"


def cells(page, name):
    return [unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(rf'<td class="{name}">(.*?)</td>', page, re.S)]


def test_an_agent_follows_the_link_from_the_message_to_its_hops_and_delays(client, agent):
    (outcome,) = ingest(mail())
    message = first_message(outcome.ticket_number)
    log_in(client, agent.email)

    ticket_page = client.get(f"/agent/tickets/{outcome.ticket_number}").text
    assert f'href="{delivery_url(message)}"' in ticket_page
    response = client.get(delivery_url(message))

    assert response.status_code == 200
    page = response.text
    assert cells(page, "sending-server") == ["—", "smtp.customer.test", "mx.relay.example"]
    assert cells(page, "sending-ip") == ["10.0.0.15", "192.0.2.20", "198.51.100.1"]
    assert cells(page, "receiving-server") == ["smtp.customer.test", "mx.relay.example", "mx.example.test"]
    assert cells(page, "delay") == ["—", "10 sec", "32 min"]
    assert re.search(r'<dd class="total-delay">32 min 10 sec</dd>', page)
    assert NO_INFORMATION not in page


@pytest.mark.parametrize(("locale", "zone", "time", "total"), [
    ("de", "Europe/Berlin", "02.03.2026, 10:15:03", "32 Min. 10 Sek."),
    ("fa", "Asia/Tehran", "۱۴۰۴/۱۲/۱۱ ۱۲:۴۵", None),
])
def test_times_and_delays_are_in_the_agents_language_time_zone_and_calendar(client, agent, locale, zone, time, total):
    (outcome,) = ingest(mail())
    message = first_message(outcome.ticket_number)
    agent.locale, agent.timezone = locale, zone
    db.session.commit()
    log_in(client, agent.email)

    page = client.get(delivery_url(message)).text

    assert cells(page, "time")[0] == time
    if total:
        assert f'<dd class="total-delay">{total}</dd>' in page


def test_mail_without_received_headers_says_there_is_no_delivery_information(client, agent):
    (outcome,) = ingest(mail(headers=""))
    log_in(client, agent.email)

    response = client.get(delivery_url(first_message(outcome.ticket_number)))

    assert response.status_code == 200
    assert NO_INFORMATION in response.text
    assert 'class="delivery-hops"' not in response.text


def test_broken_dates_and_unreadable_headers_are_shown_without_an_error(client, agent):
    broken = ("Received: from a.example.test (a.example.test [192.0.2.8]) by mx.example.test;\r\n"
              "\tMon, 32 Foo 2026 99:99:99 +0000\r\n"
              "Received: ((( nonsense \xe4\xf6\r\n"
              "Received: from b.example.test ([192.0.2.9]) by a.example.test; yesterday around noon\r\n")
    (outcome,) = ingest(mail(headers=broken).replace(b"\xc3\xa4\xc3\xb6", b"\xe4\xf6"))
    log_in(client, agent.email)

    response = client.get(delivery_url(first_message(outcome.ticket_number)))

    assert response.status_code == 200
    assert cells(response.text, "time") == ["no readable time"] * 3
    assert cells(response.text, "sending-ip") == ["192.0.2.9", "—", "192.0.2.8"]
    assert "total-delay" not in response.text


def test_each_message_of_a_thread_shows_its_own_route(client, agent):
    (first,) = ingest(mail())
    second_route = ("Received: from other.customer.test (other.customer.test [192.0.2.77]) by mx.example.test; "
                    "Mon, 2 Mar 2026 12:00:05 +0100\r\n")
    (second,) = ingest(mail(second_route, message_id="late.2@customer.test", subject="Re: Where is my invoice?",
                            in_reply_to="late.1@customer.test"))
    assert second.outcome == "added"
    db.session.expire_all()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == first.ticket_number))
    log_in(client, agent.email)

    pages = [client.get(delivery_url(m)).text for m in ticket.messages if m.kind == "customer"]

    assert [cells(page, "sending-ip")[-1] for page in pages] == ["198.51.100.1", "192.0.2.77"]


def test_a_sent_outlook_msg_shows_the_route_it_kept(client, agent):
    msg = OutlookMessage(to=[Recipient("Support", "support@example.test")], sender_email="grace@customer.test",
                         transport_headers=ROUTE + "Message-ID: <outlook.late@customer.test>\r\n").to_bytes()
    (outcome,) = ingest(msg)
    log_in(client, agent.email)

    page = client.get(delivery_url(first_message(outcome.ticket_number))).text

    assert cells(page, "sending-ip") == ["10.0.0.15", "192.0.2.20", "198.51.100.1"]


def test_messages_that_did_not_come_by_mail_have_no_delivery_page(client, agent, customer, department):
    ticket = service.open_ticket(customer, subject="From the portal", body_text="Typed in.", department=department.id,
                                 acknowledge=False)
    service.add_internal_note(agent, ticket, body_text="A note.")
    db.session.commit()
    log_in(client, agent.email)

    page = client.get(f"/agent/tickets/{ticket.number}").text
    statuses = [client.get(delivery_url(m)).status_code for m in ticket.messages]

    assert "Delivery details" not in page
    assert statuses == [404] * len(statuses)
    assert client.get("/agent/messages/999999/delivery").status_code == 404


@pytest.fixture
def billing_agent(make_user):
    billing = departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test",
                                            reply_from_address="billing@example.test")
    user = make_user("agent", email="bob@example.test", full_name="Bob Billing")
    departments.add_agent_to_department(SYSTEM, billing, user)
    return user


def as_user(client, user, url):
    """GET ``url`` logged in as ``user``, in a browser of their own."""
    browser = client.application.test_client()
    log_in(browser, user.email)
    return browser.get(url)


def test_whoever_may_not_see_the_ticket_gets_not_found_or_the_login(client, agent, billing_agent, make_user):
    (outcome,) = ingest(mail())
    message = first_message(outcome.ticket_number)
    url = delivery_url(message)
    grace = make_user("customer", email="grace@customer.test", full_name="Grace Late")
    admin = make_user("admin", email="admin@example.test")
    messages_before = db.session.scalar(sa.select(sa.func.count()).select_from(Message))

    anonymous = client.get(url)
    other_department, requester, admin_sees = [as_user(client, user, url)
                                               for user in (billing_agent, grace, admin)]

    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert other_department.status_code == 404
    assert "198.51.100.1" not in other_department.text
    assert requester.status_code == 404
    assert admin_sees.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == messages_before
