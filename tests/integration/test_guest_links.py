"""Links to the ticket in its mail, on both databases: registered customers get the portal page, guests a signed
link that shows that one ticket (read and reply) without an account, with a fresh link in every mail; the link
expires (and offers a new one by mail), staff revoke every link of a ticket at once, the page is private
(no Referer, not indexed, not cached), CSRF-protected and rate-limited, and never shows another ticket."""
import re
import time
from html import unescape

import pytest
import sqlalchemy as sa
from flask import current_app
from itsdangerous import TimestampSigner
from werkzeug.security import generate_password_hash

from helpdesk.accounts.models import User
from helpdesk.actors import GUEST_FORM
from helpdesk.audit.models import AuditEvent
from helpdesk.extensions import db
from helpdesk.tickets import guest_links, merge, service
from helpdesk.tickets.models import ANSWERED, CUSTOMER_MESSAGE, OPEN, Attachment, Ticket
from helpdesk.tickets.service import NewAttachment
from tests.conftest import csrf_token, log_in, selects_on

GUEST = "gus@guest.test"
LINK = re.compile(r"https?://[^/\s]+(/guest/[A-Za-z0-9._-]+)")


def text_of(mail):
    return mail.get_body(("plain",)).get_content()


def guest_path(mail):
    """The guest link in ``mail`` (its text part; the HTML part carries the same one)."""
    found = LINK.search(text_of(mail))
    assert found, text_of(mail)
    html = mail.get_body(("html",)).get_content()
    assert found.group(1) in unescape(html)
    return found.group(1)


def fresh(ticket):
    db.session.rollback()
    return db.session.get(Ticket, ticket.id)


def open_as_guest(subject="VPN drops every ten minutes", requester=GUEST, **kwargs):
    return service.open_ticket(GUEST_FORM, subject=subject, body_text="Since this morning.",
                               requester_email=requester, requester_name="Gus Guest", **kwargs)


@pytest.fixture
def guest_ticket(app, smtp, department):
    ticket = open_as_guest(department=department)
    return ticket, guest_path(smtp.wait_for(1)[0])


def expired_link(ticket, monkeypatch):
    """A guest link made GUEST_LINK_DAYS and a day ago."""
    days = current_app.config["GUEST_LINK_DAYS"]
    participant = fresh(ticket).participants[0]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
    link = guest_links.guest_link(fresh(ticket), participant)
    monkeypatch.undo()
    return link[link.index("/guest/"):]


# --------------------------------------------------------------------------- links in the mail

def test_a_guest_acknowledgement_links_to_a_page_showing_their_ticket(client, guest_ticket, smtp):
    ticket, path = guest_ticket
    other = open_as_guest(subject="Another customer's secret", requester="other@guest.test")
    mail = smtp.to(GUEST)[0]
    assert "no account needed" in text_of(mail) and "30 days" in text_of(mail)

    page = client.get(path)
    assert page.status_code == 200
    assert "VPN drops every ten minutes" in page.text and "Since this morning." in page.text
    assert f"#{ticket.number}" in page.text
    assert other.subject not in page.text and f"#{other.number}" not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert "no-store" in page.headers["Cache-Control"]
    assert 'name="csrf_token"' in page.text


def test_a_registered_customer_gets_a_link_to_the_ticket_page_behind_the_login(client, smtp, customer, department):
    ticket = service.open_ticket(customer, subject="Printer on fire", body_text="It smokes.", department=department)
    text = text_of(smtp.wait_for(1)[0])
    assert f"http://helpdesk.example.test/tickets/{ticket.number}" in text
    assert "/guest/" not in text
    assert client.get(f"/tickets/{ticket.number}").status_code == 302  # to the login page, as before


def test_the_owner_of_a_typed_address_gets_the_confirmation_link_and_no_ticket_link(app, smtp, customer, department):
    ticket = open_as_guest(requester="carla@example.test", department=department)
    text = text_of(smtp.wait_for(1)[0])
    assert "/tickets/confirm/" in text
    assert "/guest/" not in text and f"/tickets/{ticket.number}" not in text


def test_every_agent_reply_brings_a_fresh_link(client, guest_ticket, agent, smtp):
    ticket, first = guest_ticket
    smtp.clear()
    time.sleep(1)  # links carry the second they were made
    service.add_agent_reply(agent, fresh(ticket), body_text="Which router model is it?")
    reply = smtp.wait_for(1)[0]
    second = guest_path(reply)
    assert second != first
    assert "Which router model is it?" in text_of(reply)
    assert client.get(second).status_code == 200 and client.get(first).status_code == 200


# --------------------------------------------------------------------------- replying

def test_a_guest_replies_on_the_page_and_the_answered_ticket_opens_again(client, guest_ticket, agent, smtp):
    ticket, path = guest_ticket
    service.add_agent_reply(agent, fresh(ticket), body_text="Which router model is it?", status=ANSWERED)
    page = client.get(path).text
    assert "Which router model is it?" in page
    response = client.post(path, data={"csrf_token": csrf_token(page), "body": "A <b>Fritz!Box</b> 7590."})
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).text
    assert "Your reply was added." in after
    assert "A &lt;b&gt;Fritz!Box&lt;/b&gt; 7590." in after
    ticket = fresh(ticket)
    last = [m for m in ticket.messages if m.kind == CUSTOMER_MESSAGE][-1]
    assert (last.author_email, last.author_id, last.source) == (GUEST, None, "web")
    assert ticket.status == OPEN


def test_a_reply_without_the_forms_token_is_refused(client, guest_ticket):
    ticket, path = guest_ticket
    assert client.post(path, data={"body": "Forged"}).status_code == 400
    assert len(fresh(ticket).public_messages) == 1


def test_an_empty_reply_is_refused_beside_the_field(client, guest_ticket):
    _ticket, path = guest_ticket
    page = client.get(path).text
    response = client.post(path, data={"csrf_token": csrf_token(page), "body": "   "})
    assert response.status_code == 400
    assert 'class="error"' in response.text


# --------------------------------------------------------------------------- one ticket, nothing else

def test_an_altered_link_shows_nothing(client, guest_ticket):
    _ticket, path = guest_ticket
    body, signature = path.rsplit(".", 1)
    response = client.get(f"{body}.{signature[:-2]}xx")
    assert response.status_code == 404
    assert "This link is not valid" in response.text and "VPN drops" not in response.text


def test_a_link_downloads_only_its_own_tickets_attachments(client, guest_ticket, agent):
    ticket, path = guest_ticket
    service.add_agent_reply(agent, fresh(ticket), body_text="The manual.",
                            attachments=[NewAttachment("manual.txt", "text/plain", b"Turn it off and on.")])
    other = open_as_guest(subject="Someone else's", requester="other@guest.test")
    service.add_agent_reply(agent, fresh(other), body_text="Theirs.",
                            attachments=[NewAttachment("secret.txt", "text/plain", b"Their secret.")])
    service.add_internal_note(agent, fresh(ticket), body_text="Internal.",
                              attachments=[NewAttachment("internal.txt", "text/plain", b"Staff only.")])
    page = client.get(path).text
    own = re.search(r'href="(/guest/[^"]+/attachments/(\d+))"', page)
    assert own and "manual.txt" in page and "internal.txt" not in page
    assert client.get(own.group(1)).data == b"Turn it off and on."
    db.session.rollback()
    ids = dict(db.session.execute(sa.select(Attachment.filename, Attachment.id)).all())
    base = own.group(1).rsplit("/", 1)[0]
    assert client.get(f"{base}/{ids['secret.txt']}").status_code == 404
    assert client.get(f"{base}/{ids['internal.txt']}").status_code == 404


def test_a_guest_who_registered_since_is_asked_to_log_in(client, guest_ticket):
    _ticket, path = guest_ticket
    user = db.session.scalar(sa.select(User).where(User.email == GUEST))
    user.password_hash = generate_password_hash("correct horse battery")  # as registering sets it
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "has an account now" in response.text and "VPN drops" not in response.text


def test_a_merged_tickets_link_leads_to_the_ticket_it_was_merged_into(client, guest_ticket, agent, department):
    ticket, path = guest_ticket
    target = service.open_ticket(agent, subject="Network outage", body_text="Many reports.", department=department,
                                 requester_email="ops@guest.test", acknowledge=False)
    merge.merge_ticket(agent, fresh(ticket), fresh(target))
    page = client.get(path).text
    assert 'id="reply"' not in page
    assert f"This ticket was merged into ticket #{target.number}." in page
    onward = re.search(r'<a href="https?://[^/"]+(/guest/[^"]+)">Go to ticket', page)
    assert onward
    assert "Network outage" in client.get(onward.group(1)).text


# --------------------------------------------------------------------------- expiry

def test_an_expired_link_says_so_and_mails_a_new_one_to_the_guest(client, guest_ticket, smtp, monkeypatch):
    ticket, _path = guest_ticket
    old = expired_link(ticket, monkeypatch)
    response = client.get(old)
    assert response.status_code == 410
    assert "This link has expired" in response.text and "VPN drops" not in response.text
    assert "Replying to any of our emails about the ticket still works" in response.text
    smtp.clear()
    sent = client.post(f"{old}/new-link", data={"csrf_token": csrf_token(response.text)})
    assert sent.status_code == 200 and "New link sent" in sent.text
    mail = smtp.wait_for(1)[0]
    assert GUEST in str(mail["To"]) and f"[#{ticket.number}]" in mail["Subject"]
    assert client.get(guest_path(mail)).status_code == 200


def test_asking_for_new_links_is_rate_limited(client, guest_ticket, monkeypatch, app):
    ticket, _path = guest_ticket
    app.config["GUEST_NEW_LINK_RATE_LIMIT"] = "1 per hour"
    old = expired_link(ticket, monkeypatch)
    token = csrf_token(client.get(old).text)
    assert client.post(f"{old}/new-link", data={"csrf_token": token}).status_code == 200
    assert client.post(f"{old}/new-link", data={"csrf_token": token}).status_code == 429


def test_a_valid_link_cannot_be_used_to_send_mail(client, guest_ticket, smtp):
    _ticket, path = guest_ticket
    token = csrf_token(client.get(path).text)
    smtp.clear()
    assert client.post(f"{path}/new-link", data={"csrf_token": token}).status_code == 404
    assert smtp.wait_for(1, timeout=1) == []


# --------------------------------------------------------------------------- revoking

def test_staff_revoke_every_link_and_the_next_mail_brings_a_working_one(client, guest_ticket, agent, smtp):
    ticket, first = guest_ticket
    service.add_agent_reply(agent, fresh(ticket), body_text="Try a restart.")
    second = guest_path(smtp.to(GUEST)[-1])
    log_in(client, "agent@example.test")
    console = client.get(f"/agent/tickets/{ticket.number}").text
    assert "Guest links" in console and GUEST in console
    revoked = client.post(f"/agent/tickets/{ticket.number}/guest-links/revoke",
                          data={"csrf_token": csrf_token(console)})
    assert revoked.status_code == 302
    assert "Every guest link to this ticket was revoked." in client.get(revoked.headers["Location"]).text
    db.session.rollback()
    assert db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity == "ticket", AuditEvent.entity_id == ticket.id,
        AuditEvent.action == "guest-links-revoked")).all() == ["guest-links-revoked"]
    client.post("/logout", data={"csrf_token": csrf_token(console)})

    for path in (first, second):
        page = client.get(path)
        assert page.status_code == 410
        assert "This link was withdrawn" in page.text and "Try a restart." not in page.text
        assert "Email me a new link" not in page.text
    smtp.clear()
    service.add_agent_reply(agent, fresh(ticket), body_text="Did the restart help?")
    assert "Did the restart help?" in client.get(guest_path(smtp.wait_for(1)[0])).text


def test_mail_about_many_tickets_reads_their_link_generations_at_once_and_each_link_works(
        client, guest_ticket, agent, smtp, department):
    """One delivery job renders the mail of many tickets (an import's acknowledgements): the tickets' link
    generations are read in one query, not one per mail, and every link is of its ticket's generation (a
    revoked ticket's too)."""
    from helpdesk import jobs

    revoked, _old = guest_ticket
    guest_links.revoke(agent, fresh(revoked))
    smtp.clear()
    with selects_on("ticket_guest_links") as reads, jobs.held():  # one job for the mail of the block, as an import's
        service.add_agent_reply(agent, fresh(revoked), body_text="A fresh link after the revocation.")
        opened = [open_as_guest(subject=f"Printer {n} jams", requester=f"guest{n}@guest.test",
                                department=department) for n in range(4)]
    assert len(reads) == 1, reads
    assert client.get(guest_path(smtp.to(GUEST)[-1])).text.count("A fresh link after the revocation.") == 1
    for n, ticket in enumerate(opened):
        page = client.get(guest_path(smtp.to(f"guest{n}@guest.test")[-1]))
        assert page.status_code == 200 and f"Printer {n} jams" in page.text, ticket.number


def test_customers_cannot_revoke_guest_links(client, customer, guest_ticket):
    ticket, path = guest_ticket
    log_in(client, "carla@example.test")
    token = csrf_token(client.get("/tickets/new").text)
    assert client.post(f"/agent/tickets/{ticket.number}/guest-links/revoke",
                       data={"csrf_token": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    assert client.get(path).status_code == 200
    with pytest.raises(guest_links.NotAllowed):
        guest_links.revoke(customer, fresh(ticket))
