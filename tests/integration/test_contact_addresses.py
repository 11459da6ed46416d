"""Notification addresses: a customer names addresses for invoices and orders, support and abuse mail in the
portal; each is used once confirmed through the link mailed to it. Ticket mail goes to the confirmed support
addresses (never to unconfirmed ones), replies from them land on the ticket, and the ticket stays the customer's."""
import re

import sqlalchemy as sa

from helpdesk.accounts import contacts
from helpdesk.accounts.models import ContactAddress
from helpdesk.actors import MAIL_GATEWAY, SYSTEM
from helpdesk.extensions import db
from helpdesk.tickets import intake, service
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token, log_in

PAGE = "/profile/notification-addresses"


def add(client, email, purpose="support", name=""):
    page = client.get(PAGE).text
    return client.post(PAGE, data={"csrf_token": csrf_token(page), "purpose": purpose, "email": email, "name": name},
                       follow_redirects=True)


def confirmation_link(smtp, email):
    [mail] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == email]
    return re.search(r"http://helpdesk\.example\.test(/profile/notification-addresses/\S+)",
                     mail.get_body(("plain",)).get_content()).group(1)


def confirm(app, link):
    """Open the link as whoever reads that mailbox does: in a browser that is not logged in."""
    browser = app.test_client()
    page = browser.get(link)
    if page.status_code != 200:
        return page
    return browser.post(link, data={"csrf_token": csrf_token(page.text)})


def visible(response):
    """The page's text as a reader sees it (without the <bdi> marks around typed-in text)."""
    return re.sub(r"<[^>]+>", "", response.text)


def recipients(smtp):
    return sorted(a.addr_spec for m in smtp.messages for a in m["To"].addresses)


def test_a_customer_names_a_support_address_that_gets_ticket_mail_once_confirmed(app, client, customer, agent,
                                                                                 department, smtp):
    log_in(client, "carla@example.test")
    page = visible(add(client, "Ops@Carla-Corp.test", name="Carla's ops team"))
    assert "We sent a confirmation link to ops@carla-corp.test" in page
    assert "waiting for confirmation" in page
    link = confirmation_link(smtp, "ops@carla-corp.test")

    smtp.clear()
    ticket = service.open_ticket(SYSTEM, subject="Disk full", body_text="The disk is full.",
                                 requester_email="carla@example.test", department=department.id)
    assert recipients(smtp) == ["carla@example.test"]  # not confirmed yet: the login's own address

    assert "ops@carla-corp.test now receives mail about: Support." in visible(confirm(app, link))
    assert "confirmed" in client.get(PAGE).text
    smtp.clear()
    service.add_agent_reply(agent, db.session.get(Ticket, ticket.id), body_text="We freed some space.")
    [mail] = smtp.messages
    assert [a.addr_spec for a in mail["To"].addresses] == ["ops@carla-corp.test"]
    assert mail["To"].addresses[0].display_name == "Carla's ops team"
    # The mail links to the customer's ticket page, where the customer logs in.
    assert f"http://helpdesk.example.test/tickets/{ticket.number}" in mail.get_body(("plain",)).get_content()
    assert db.session.get(Ticket, ticket.id).requester.email == "carla@example.test"


def test_ticket_mail_goes_to_the_confirmed_support_address_and_not_to_an_unconfirmed_one(app, client, customer,
                                                                                       agent, department, smtp):
    log_in(client, "carla@example.test")
    add(client, "desk@carla-corp.test")
    add(client, "night@carla-corp.test")
    confirm(app, confirmation_link(smtp, "desk@carla-corp.test"))
    smtp.clear()

    ticket = service.open_ticket(SYSTEM, subject="Mail bounces", body_text="Our mail bounces.",
                                 requester_email="carla@example.test", department=department.id)
    service.add_agent_reply(agent, db.session.get(Ticket, ticket.id), body_text="Fixed the MX record.")
    service.close(agent, db.session.get(Ticket, ticket.id))  # the closing mail with its rating links

    assert set(recipients(smtp)) == {"desk@carla-corp.test"}


def test_a_reply_from_a_confirmed_support_address_lands_on_the_customers_ticket(app, client, customer, department,
                                                                                smtp):
    log_in(client, "carla@example.test")
    add(client, "ops@carla-corp.test")
    add(client, "billing@carla-corp.test", purpose="billing")
    confirm(app, confirmation_link(smtp, "ops@carla-corp.test"))
    confirm(app, confirmation_link(smtp, "billing@carla-corp.test"))
    ticket = service.open_ticket(SYSTEM, subject="Backup failed", body_text="Last night's backup failed.",
                                 requester_email="carla@example.test", department=department.id)
    policy = intake.Policy()

    reply = intake.receive(intake.Sender("ops@carla-corp.test", "Ops"),
                           intake.Arrival(ticket=db.session.get(Ticket, ticket.id), body_text="It failed again."),
                           policy, via=MAIL_GATEWAY)
    assert reply.decision.action == intake.CUSTOMER_MESSAGE and reply.ticket.id == ticket.id
    assert reply.ticket.requester.email == "carla@example.test"
    # An address confirmed for invoices only is a stranger on a support ticket.
    arrival = intake.Arrival(ticket=db.session.get(Ticket, ticket.id), subject="Backup", body_text="Me too.")
    other = intake.receive(intake.Sender("billing@carla-corp.test"), arrival, policy, via=MAIL_GATEWAY)
    assert other.decision.action == intake.NEW_TICKET and other.ticket.id != ticket.id


def test_each_purpose_has_its_addresses_and_falls_back_to_the_login(app, client, customer, smtp):
    log_in(client, "carla@example.test")
    add(client, "invoices@carla-corp.test", purpose="billing")
    add(client, "accounting@carla-corp.test", purpose="billing")
    add(client, "abuse@carla-corp.test", purpose="abuse")
    for email in ("invoices@carla-corp.test", "accounting@carla-corp.test"):
        confirm(app, confirmation_link(smtp, email))
    db.session.expire_all()

    assert [a.email for a in contacts.addresses_for(customer, "billing")] == ["invoices@carla-corp.test",
                                                                           "accounting@carla-corp.test"]
    assert [a.email for a in contacts.addresses_for(customer, "abuse")] == ["carla@example.test"]  # unconfirmed
    assert [a.email for a in contacts.addresses_for(customer, "support")] == ["carla@example.test"]


def test_the_login_address_needs_no_confirmation(app, client, customer, smtp):
    log_in(client, "carla@example.test")
    assert "carla@example.test is confirmed." in visible(add(client, "carla@example.test", purpose="billing"))
    assert smtp.messages == []


def test_a_confirmation_link_works_once_and_not_after_the_address_was_removed(app, client, customer, smtp):
    log_in(client, "carla@example.test")
    add(client, "ops@carla-corp.test")
    first = confirmation_link(smtp, "ops@carla-corp.test")
    assert confirm(app, first).status_code == 200
    assert confirm(app, first).status_code == 410

    add(client, "night@carla-corp.test")
    link = confirmation_link(smtp, "night@carla-corp.test")
    night = db.session.scalar(sa.select(ContactAddress).where(ContactAddress.email == "night@carla-corp.test"))
    page = client.get(PAGE).text
    removed = client.post(f"{PAGE}/{night.id}/remove", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "night@carla-corp.test no longer receives this mail." in visible(removed)
    assert "night@carla-corp.test" not in client.get(PAGE).text
    assert confirm(app, link).status_code == 410


def test_a_new_link_replaces_the_old_one(app, client, customer, smtp):
    log_in(client, "carla@example.test")
    add(client, "ops@carla-corp.test")
    old = confirmation_link(smtp, "ops@carla-corp.test")
    address = db.session.scalar(sa.select(ContactAddress))
    smtp.clear()
    page = client.get(PAGE).text
    assert "We sent a new confirmation link" in visible(client.post(f"{PAGE}/{address.id}/resend",
                                                                    data={"csrf_token": csrf_token(page)},
                                                                    follow_redirects=True))
    assert confirm(app, old).status_code == 410
    assert confirm(app, confirmation_link(smtp, "ops@carla-corp.test")).status_code == 200


def test_bad_addresses_are_answered_beside_the_field(app, client, customer, smtp):
    log_in(client, "carla@example.test")
    page = client.get(PAGE).text
    response = client.post(PAGE, data={"csrf_token": csrf_token(page), "purpose": "support", "email": "not-mail"})
    assert response.status_code == 400 and 'id="email-error"' in response.text
    add(client, "ops@carla-corp.test")
    again = client.get(PAGE).text
    response = client.post(PAGE, data={"csrf_token": csrf_token(again), "purpose": "support",
                                       "email": "ops@carla-corp.test"})
    assert "This address is listed for this purpose already." in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactAddress)) == 1
