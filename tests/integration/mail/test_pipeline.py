"""Real mail from tests/data/mail through the whole inbound pipeline (store, parse, classify, thread,
act) on both databases, with acknowledgements and replies caught by the SMTP test server."""
import os
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk import storage
from helpdesk.actors import SYSTEM
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline, quarantine
from helpdesk.mailgateway.models import IGNORED, QUARANTINED, InboundMessage
from helpdesk.mailgateway.pipeline import Fetched
from helpdesk.mailgateway.sources import read_paths
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets import departments, service
from helpdesk.tickets.models import AGENT_REPLY, ANSWERED, CC, CLOSED, OPEN, REQUESTER, Ticket

CORPUS = Path(__file__).resolve().parents[2] / "data" / "mail"
# Placeholders in the corpus for what only exists at run time: a Message-ID and a Reply-To the helpdesk sent.
ACK_PLACEHOLDER = b"<ACK-MESSAGE-ID@placeholder.invalid>"
REPLY_ADDRESS_PLACEHOLDER = b"REPLY-ADDRESS@placeholder.invalid"
ORIGINAL_MESSAGE_ID = "<20240305091420.4711@mail.customer.test>"  # of new_ticket.eml
GRACE = "grace@customer.test"
OUTLOOK_MESSAGE_ID = "<DB7PR03MB4523B33F6D8F0A9E0E0C2F5CC9B99@DB7PR03MB4523.eurprd03.prod.outlook.com>"


# --------------------------------------------------------------------------- helpers

def corpus(name, *, ack=None, reply_address=None) -> bytes:
    raw = (CORPUS / name).read_bytes()
    if ack:
        raw = raw.replace(ACK_PLACEHOLDER, ack.encode())
    if reply_address:
        raw = raw.replace(REPLY_ADDRESS_PLACEHOLDER, reply_address.encode())
    return raw


def deliver(*mails):
    """Feed corpus file names (or raw bytes) through the pipeline as one batch; the outcomes in order."""
    batch = [Fetched("file", corpus(m) if isinstance(m, str) else m, label=str(i)) for i, m in enumerate(mails)]
    return list(pipeline.ingest(batch))


def deliver_one(mail):
    (outcome,) = deliver(mail)
    return outcome


def all_tickets():
    db.session.expire_all()
    return db.session.scalars(sa.select(Ticket).order_by(Ticket.number)).all()


def ticket(number):
    db.session.expire_all()
    return db.session.scalar(sa.select(Ticket).where(Ticket.number == number))


def texts(ticket, kind="customer"):
    return [m.body_text for m in ticket.messages if m.kind == kind]


def events(ticket, type_):
    return [m.event for m in ticket.messages if m.kind == "system" and m.event and m.event.get("type") == type_]


def recipients(mails):
    return sorted(getaddresses([str(m["To"])])[0][1] for m in mails)


def inbound(outcome):
    db.session.expire_all()
    return db.session.get(InboundMessage, outcome.inbound_id)


def outbox_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))


def open_printer_ticket(smtp):
    """Grace's new ticket #1000 from new_ticket.eml; returns the acknowledgement she received."""
    assert deliver_one("new_ticket.eml").ticket_number == 1000
    (ack,) = smtp.wait_for(1)
    return ack


@pytest.fixture
def desk(app_factory, smtp):
    """Start the helpdesk with other settings: ``desk(**settings)`` builds the app, enters it and creates
    the department that owns support@example.test (as the ``department`` fixture does)."""
    contexts = []

    def start(**settings):
        app = app_factory(**settings)
        context = app.app_context()
        context.push()
        contexts.append(context)
        departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.test",
                                      reply_from_address="support@example.test", signature="The support team")
        return app

    yield start
    for context in reversed(contexts):
        db.session.remove()
        context.pop()


# --------------------------------------------------------------------------- new tickets and replies

def test_mail_from_a_guest_opens_ticket_and_acknowledges_it_with_the_number(app, smtp, department):
    outcome = deliver_one("new_ticket.eml")

    assert (outcome.outcome, outcome.ticket_number, outcome.message_id) == ("new_ticket", 1000, ORIGINAL_MESSAGE_ID)
    (opened,) = all_tickets()
    assert opened.subject == "Printer on fire"
    assert opened.status == OPEN
    assert opened.source == "email"
    assert opened.department.name == "Technical"
    assert (opened.requester.email, opened.requester.full_name) == (GRACE, "Grace Guest")
    assert texts(opened) == ["Hello,\n\nthe printer on the second floor has been smoking since this morning.\n"
                             "Could someone please have a look?\n\nThanks,\nGrace"]
    assert opened.messages[0].message_id == ORIGINAL_MESSAGE_ID
    (ack,) = smtp.wait_for(1)
    assert recipients([ack]) == [GRACE]
    assert "[#1000]" in ack["Subject"] and "Printer on fire" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == ORIGINAL_MESSAGE_ID
    assert ack["From"].addresses[0].addr_spec == "support@example.test"


@pytest.mark.parametrize("name, subject_start", [
    ("reply_subject_re.eml", "Re: [#1000]"),
    ("reply_subject_aw.eml", "AW: [#1000]"),
    ("reply_subject_ynt.eml", "YNT: [#1000]"),
    ("reply_subject_va.eml", "Vá: [#1000]"),
    ("reply_subject_fwd.eml", "Fwd: [#1000]"),
])
def test_reply_with_ticket_number_in_subject_threads_into_ticket(app, smtp, department, name, subject_start):
    open_printer_ticket(smtp)

    outcome = deliver_one(name)

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    (only,) = all_tickets()
    assert only.subject == "Printer on fire"
    assert len(texts(only)) == 2
    assert only.messages[-1].author_email == GRACE
    assert inbound(outcome).subject.startswith(subject_start)
    assert len(smtp.messages) == 1  # only the acknowledgement; a reply is not acknowledged again


def test_reply_by_in_reply_to_threads_into_ticket_despite_a_new_subject(app, smtp, department):
    ack = open_printer_ticket(smtp)

    outcome = deliver_one(corpus("reply_in_reply_to.eml", ack=ack["Message-ID"]))

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    (only,) = all_tickets()
    assert only.subject == "Printer on fire"
    assert texts(only)[-1].startswith("Any news? The smoke alarm went off twice now.")
    assert only.messages[-1].in_reply_to == ack["Message-ID"]


def test_reply_by_references_alone_threads_into_ticket(app, smtp, department):
    open_printer_ticket(smtp)
    sent_id = db.session.scalar(sa.select(OutboxEmail.message_id))

    outcome = deliver_one(corpus("reply_references.eml", ack=sent_id))

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    assert texts(ticket(1000))[-1] == "Update: we unplugged it, the smoke has stopped."


def test_reply_to_the_signed_reply_address_threads_without_subject_tag_or_headers(app, smtp, department):
    ack = open_printer_ticket(smtp)
    reply_to = ack["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("support+1000.")
    raw = corpus("reply_by_token_address.eml", reply_address=reply_to)
    assert b"[#" not in raw and b"In-Reply-To" not in raw and b"References" not in raw

    outcome = deliver_one(raw)

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    assert len(all_tickets()) == 1
    assert texts(ticket(1000))[-1] == "Here is what the display says: E-42 FUSER OVERHEAT."


def test_reply_address_with_a_forged_signature_does_not_thread(app, smtp, department):
    ack = open_printer_ticket(smtp)
    local, domain = ack["Reply-To"].addresses[0].addr_spec.split("@")
    forged = f"{local[:-8]}{'a' * 8 if local[-8:] != 'a' * 8 else 'b' * 8}@{domain}"

    outcome = deliver_one(corpus("reply_by_token_address.eml", reply_address=forged))

    assert (outcome.outcome, outcome.ticket_number) == ("new_ticket", 1001)
    assert len(texts(ticket(1000))) == 1


def test_recipients_of_a_customer_mail_become_cc_participants_but_not_helpdesk_addresses(app, smtp, department):
    outcome = deliver_one("new_ticket_with_cc.eml")

    opened = ticket(outcome.ticket_number)
    assert {(p.email, p.role) for p in opened.participants} == {
        (GRACE, REQUESTER), ("dana@customer.test", CC), ("erik@customer.test", CC)}
    assert recipients(smtp.wait_for(3)) == ["dana@customer.test", "erik@customer.test", GRACE]


def test_cc_of_a_reply_joins_the_ticket(app, smtp, department):
    open_printer_ticket(smtp)

    deliver_one("reply_adds_cc.eml")

    only = ticket(1000)
    assert {(p.email, p.role) for p in only.participants} == {(GRACE, REQUESTER), ("frank@customer.test", CC)}
    assert [e["email"] for e in events(only, "cc-added")] == ["frank@customer.test"]


def test_reply_from_a_cc_participant_threads_into_ticket(app, smtp, department):
    deliver_one("new_ticket_with_cc.eml")

    outcome = deliver_one("reply_from_cc.eml")

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    (only,) = all_tickets()
    assert only.messages[-1].author_email == "dana@customer.test"
    assert texts(only)[-1] == 'Same here: the client says "TLS handshake failed" since this morning.'


def test_stranger_cannot_join_ticket_by_reply_and_gets_a_linked_ticket(app, smtp, department):
    open_printer_ticket(smtp)

    outcome = deliver_one("reply_from_stranger.eml")

    assert (outcome.outcome, outcome.ticket_number) == ("new_ticket", 1001)
    first, second = all_tickets()
    assert len(texts(first)) == 1
    assert [p.email for p in first.participants] == [GRACE]
    assert second.linked_ticket_id == first.id
    assert second.requester.email == "mallory@elsewhere.test"
    assert texts(second) == ["I have the same problem with my printer, please help me too."]


def test_stranger_reply_is_quarantined_when_the_policy_says_so(desk, smtp):
    desk(MAIL_STRANGER_POLICY="quarantine")
    open_printer_ticket(smtp)

    outcome = deliver_one("reply_from_stranger.eml")

    assert outcome.outcome == "quarantined"
    assert "mallory@elsewhere.test" in outcome.reason and "#1000" in outcome.reason
    assert inbound(outcome).status == QUARANTINED
    assert len(all_tickets()) == 1
    assert len(texts(ticket(1000))) == 1


def test_reply_from_an_agents_address_becomes_an_agent_reply_mailed_to_the_requester(app, smtp, department,
                                                                                     agent):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one("reply_from_agent.eml")

    assert (outcome.outcome, outcome.ticket_number) == ("agent_reply", 1000)
    only = ticket(1000)
    (reply,) = [m for m in only.messages if m.kind == AGENT_REPLY]
    assert reply.author_id == agent.id
    assert reply.body_text.startswith("Please unplug the printer and keep the window open.")
    assert only.status == ANSWERED
    (mail,) = smtp.wait_for(1)
    assert recipients([mail]) == [GRACE]
    assert "Please unplug the printer" in mail.get_body(("plain",)).get_content()
    assert mail["Auto-Submitted"] is None


@pytest.mark.parametrize("name", [
    "agent_forward_attached.eml", "agent_forward_inline.eml", "agent_forward_inline_outlook_de.eml"])
def test_agent_forwarding_a_customer_mail_opens_the_ticket_for_the_original_sender(app, smtp, department, agent,
                                                                                   name):
    outcome = deliver_one(name)

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert (opened.requester.email, opened.requester.full_name) == ("olga@customer.test", "Olga Original")
    assert [p.email for p in opened.participants] == ["olga@customer.test"]
    assert recipients(smtp.wait_for(1)) == ["olga@customer.test"]
    if name == "agent_forward_attached.eml":
        (attachment,) = opened.messages[0].attachments
        assert attachment.content_type == "message/rfc822"
        assert b"charges us twice" in storage.get(attachment.sha256)


# --------------------------------------------------------------------------- automatic mail

@pytest.mark.parametrize("name", [
    "ooo_auto_submitted.eml", "ooo_x_autoreply.eml", "ooo_precedence_bulk.eml", "ooo_abwesenheitsnotiz.eml"])
def test_out_of_office_reply_is_never_answered(app, smtp, department, name):
    ack = open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(corpus(name, ack=ack["Message-ID"]))

    assert (outcome.outcome, outcome.ticket_number) == ("auto_reply", 1000)
    assert smtp.messages == []
    assert outbox_count() == 1
    only = ticket(1000)
    assert len(all_tickets()) == 1
    assert len(texts(only)) == 1
    assert only.status == OPEN
    assert [e["from"] for e in events(only, "auto-reply")] == [GRACE]


@pytest.mark.parametrize("name", ["bounce_dsn_rfc822.eml", "bounce_dsn_headers_only.eml"])
def test_bounce_of_an_acknowledgement_is_recorded_on_its_ticket_and_never_answered(app, smtp, department, name):
    open_printer_ticket(smtp)
    smtp.clear()
    sent_id = db.session.scalar(sa.select(OutboxEmail.message_id))

    outcome = deliver_one(corpus(name, ack=sent_id))

    assert (outcome.outcome, outcome.ticket_number) == ("bounce", 1000)
    assert smtp.messages == []
    only = ticket(1000)
    (bounce,) = events(only, "bounce")
    assert "5.1.1" in bounce["detail"]
    assert len(texts(only)) == 1
    assert only.status == OPEN
    assert len(all_tickets()) == 1


@pytest.mark.parametrize("name", [
    "loop_header.eml", "from_own_default_address.eml", "from_own_department_address.eml"])
def test_mail_the_helpdesk_sent_itself_is_ignored(app, smtp, department, name):
    outcome = deliver_one(name)

    assert (outcome.outcome, outcome.ticket_number) == ("loop", None)
    assert inbound(outcome).status == IGNORED
    assert all_tickets() == []
    assert smtp.messages == []


def test_the_same_file_delivered_twice_is_processed_once(app, smtp, department):
    first = deliver_one("new_ticket.eml")
    again = deliver("new_ticket.eml", "new_ticket.eml")

    assert first.outcome == "new_ticket"
    assert [o.outcome for o in again] == ["duplicate", "duplicate"]
    assert len(all_tickets()) == 1
    assert len(smtp.wait_for(1)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1


def test_same_message_via_another_relay_with_crlf_line_endings_is_processed_once(app, smtp, department):
    outcomes = [deliver_one("duplicate_via_mx2_crlf.eml"), deliver_one("duplicate_via_mx1.eml")]

    assert [o.outcome for o in outcomes] == ["new_ticket", "duplicate"]
    (only,) = all_tickets()
    assert texts(only) == ["Our scanner sends every page twice.\n\nBest regards\nHans"]
    assert len(smtp.wait_for(1)) == 1


def test_exchange_mail_with_a_folded_message_id_delivered_twice_is_processed_once(app, smtp, department):
    outcomes = deliver("exchange_via_mx1.eml", "exchange_via_mx2.eml")

    assert [o.outcome for o in outcomes] == ["new_ticket", "duplicate"]
    assert outcomes[0].message_id == OUTLOOK_MESSAGE_ID
    (only,) = all_tickets()
    assert only.messages[0].message_id == OUTLOOK_MESSAGE_ID
    assert len(smtp.wait_for(1)) == 1


def test_acknowledgement_of_an_outlook_mail_refers_to_its_long_message_id(app, smtp, department):
    deliver_one("exchange_via_mx1.eml")

    (ack,) = smtp.wait_for(1)
    sent = {name.lower(): " ".join(value.split()) for name, value in ack.raw_items()}
    assert sent["in-reply-to"] == OUTLOOK_MESSAGE_ID
    assert OUTLOOK_MESSAGE_ID in sent["references"].split()


# --------------------------------------------------------------------------- languages and charsets

@pytest.mark.parametrize("name, subject, name_of_sender", [
    ("subject_de.eml", "Rechnung für März: Größe der Lieferung stimmt nicht", "Jürgen Müller"),
    ("subject_tr.eml", "Şifremi unuttum, giriş yapamıyorum", "Ayşe Yılmaz"),
    ("subject_hu.eml", "Árvíztűrő tükörfúrógép: hibás számla", "Kovács Éva"),
    ("subject_fa.eml", "درخواست بازپرداخت برای سفارش ۴۷۱۱", "رضا محمدی"),
])
def test_encoded_subjects_and_names_are_decoded(app, smtp, department, name, subject, name_of_sender):
    deliver_one(name)

    (opened,) = all_tickets()
    assert opened.subject == subject
    assert opened.requester.full_name == name_of_sender
    (ack,) = smtp.wait_for(1)
    assert ack["Subject"] == f"[#1000] We received your request: {subject}"


@pytest.mark.parametrize("name, text", [
    ("body_iso_8859_2.eml", "Az árvíztűrő tükörfúrógép számlája hibás, kérem javítsák."),
    ("body_windows_1254.eml", "şifre sıfırlama bağlantısı çalışmıyor; İstanbul ofisinde de aynı sorun var."),
    ("body_koi8_r.eml", "Принтер не печатает, горит красная лампочка."),
])
def test_bodies_in_declared_legacy_charsets_are_decoded(app, smtp, department, name, text):
    deliver_one(name)

    (body,) = texts(all_tickets()[0])
    assert text in body.splitlines()
    assert "\ufffd" not in body


def test_undeclared_8bit_turkish_is_decoded_without_replacement_characters(app, smtp, department):
    deliver_one("undeclared_8bit_turkish.eml")

    (opened,) = all_tickets()
    assert opened.subject == "Şifre sıfırlama çalışmıyor"
    (body,) = texts(opened)
    assert "şifre sıfırlama bağlantısı çalışmıyor; İstanbul ofisinde de aynı sorun var." in body
    assert body.endswith("İyi çalışmalar,\nAyşe Yılmaz")
    assert "\ufffd" not in body + opened.messages[0].body_html


# --------------------------------------------------------------------------- HTML and attachments

def test_html_only_mail_is_stored_sanitised_with_a_text_version(app, smtp, department):
    deliver_one("html_only.eml")

    message = all_tickets()[0].messages[0]
    html = message.body_html.lower()
    assert "<script" not in html and "document.cookie" not in html
    assert "onclick" not in html and "onmouseover" not in html
    assert "tracker.mailer.test" not in html
    assert 'href="https://shop.customer.test/orders/4711"' in message.body_html
    assert "my order 4711 has not arrived yet." in message.body_text
    assert "Order details" in message.body_text
    assert "document" not in message.body_text and "color: red" not in message.body_text


def test_inline_image_is_stored_and_its_cid_reference_points_at_the_attachment(app, smtp, department):
    deliver_one("inline_image.eml")

    message = all_tickets()[0].messages[0]
    (image,) = message.attachments
    assert (image.filename, image.content_type, image.content_id) == (
        "error.png", "image/png", "part1.error@mail.customer.test")
    assert storage.get(image.sha256).startswith(b"\x89PNG")
    assert f'src="/attachments/{image.id}"' in message.body_html
    assert "cid:" not in message.body_html


def test_forwarded_message_is_kept_as_an_eml_attachment(app, smtp, department):
    deliver_one("forwarded_message_attached.eml")

    message = all_tickets()[0].messages[0]
    assert message.body_text == "The shop says it has shipped, but nothing arrived. See the attached mail."
    (forwarded,) = message.attachments
    assert (forwarded.filename, forwarded.content_type) == ("Your order 4711 has shipped.eml", "message/rfc822")
    assert b"Message-ID: <order-4711-shipped@shop.test>" in storage.get(forwarded.sha256)


def test_text_attachment_beside_a_text_body_is_kept(app, smtp, department):
    deliver_one("text_attachment.eml")

    message = all_tickets()[0].messages[0]
    assert message.body_text == "The printer log is attached."
    (log,) = message.attachments
    assert (log.filename, log.content_type) == ("printer.log", "text/plain")
    assert storage.get(log.sha256).startswith(b"2024-03-08 09:00:01 ERROR spooler: fuser temperature")


def test_winmail_dat_is_kept_as_an_attachment(app, smtp, department):
    deliver_one("winmail_dat.eml")

    message = all_tickets()[0].messages[0]
    assert message.body_text == "Please find the contract draft attached."
    (winmail,) = message.attachments
    assert (winmail.filename, winmail.content_type) == ("winmail.dat", "application/ms-tnef")
    assert storage.get(winmail.sha256)[:4] == b"\x78\x9f\x3e\x22"


def _mail_with_attachments(big_size, message_id):
    mail = EmailMessage()
    mail["From"] = "Grace Guest <grace@customer.test>"
    mail["To"] = "support@example.test"
    mail["Subject"] = "Video of the smoking printer"
    mail["Date"] = "Fri, 08 Mar 2024 15:00:00 +0100"
    mail["Message-ID"] = message_id
    mail.set_content("The video and the error log are attached.\n")
    mail.add_attachment(b"E-42 FUSER OVERHEAT\n", maintype="text", subtype="plain", filename="error.log")
    # Random bytes repeated: incompressible enough to be a real video, cheap to make.
    big = (os.urandom(64 * 1024) * (big_size // (64 * 1024) + 1))[:big_size]
    mail.add_attachment(big, maintype="video", subtype="mp4", filename="printer.mp4")
    return mail.as_bytes()


def _assert_big_attachment_dropped_rest_kept(outcome, size):
    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    message = opened.messages[0]
    assert message.body_text == "The video and the error log are attached."
    assert [(a.filename, a.size) for a in message.attachments] == [("error.log", 20)]
    assert events(opened, "attachment-dropped") == [{"type": "attachment-dropped", "name": "printer.mp4",
                                                     "size": size}]


def test_attachment_over_the_size_limit_is_dropped_with_a_note_and_the_rest_kept(desk, smtp):
    desk(MAX_ATTACHMENT_BYTES=1_000_000)

    outcome = deliver_one(_mail_with_attachments(1_500_000, "<video.small-limit@mail.customer.test>"))

    _assert_big_attachment_dropped_rest_kept(outcome, 1_500_000)
    assert recipients(smtp.wait_for(1)) == [GRACE]


def test_21_mb_attachment_is_dropped_under_the_default_limit(app, smtp, department):
    assert app.config["MAX_ATTACHMENT_BYTES"] == 20 * 1024 * 1024

    outcome = deliver_one(_mail_with_attachments(21_000_000, "<video.21mb@mail.customer.test>"))

    _assert_big_attachment_dropped_rest_kept(outcome, 21_000_000)


# --------------------------------------------------------------------------- broken mail and failures

def test_mail_without_sender_is_quarantined_with_a_readable_reason(app, smtp, department):
    outcome = deliver_one("missing_from.eml")

    assert outcome.outcome == "quarantined"
    row = inbound(outcome)
    assert (row.status, row.step) == (QUARANTINED, "classify")
    assert quarantine.reason(row) == "The message has no sender address, so there is no one to answer."
    assert row.subject == "Scan from MFP-3"
    assert all_tickets() == []
    assert smtp.messages == []


def test_garbage_bytes_are_quarantined_and_kept(app, smtp, department):
    raw = corpus("garbage.eml")

    outcome = deliver_one(raw)

    assert outcome.outcome == "quarantined"
    row = inbound(outcome)
    assert (row.status, row.step) == (QUARANTINED, "parse")
    assert quarantine.reason(row).startswith("Not a readable email")
    assert storage.get(row.raw_key) == raw
    assert all_tickets() == []


def test_a_failing_message_does_not_stop_the_rest_of_its_batch(app, smtp, department):
    outcomes = deliver("new_ticket.eml", "garbage.eml", "subject_hu.eml")

    assert [o.outcome for o in outcomes] == ["new_ticket", "quarantined", "new_ticket"]
    assert [t.subject for t in all_tickets()] == ["Printer on fire", "Árvíztűrő tükörfúrógép: hibás számla"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)
                             .where(InboundMessage.status == QUARANTINED)) == 1
    assert len(smtp.wait_for(2)) == 2


def test_reply_read_before_its_original_still_threads(app, smtp, department):
    items = read_paths([CORPUS / "thread_2_reply.eml", CORPUS / "thread_1_original.eml"])

    outcomes = list(pipeline.ingest(items))

    assert [(o.outcome, o.ticket_number) for o in outcomes] == [("new_ticket", 1000), ("added", 1000)]
    (only,) = all_tickets()
    assert only.subject == "Drucker druckt nicht"
    assert texts(only) == ["Guten Morgen,\n\nunser Drucker druckt seit gestern nicht mehr.\n\nGrüße\nHans",
                           "Nachtrag: Das Display zeigt „Papierstau“, aber es steckt kein Papier fest."]


# --------------------------------------------------------------------------- closed tickets, trust, floods

def test_reply_to_a_closed_ticket_reopens_it(app, smtp, department):
    open_printer_ticket(smtp)
    service.close(SYSTEM, ticket(1000))

    outcome = deliver_one("reply_subject_re.eml")

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    reopened = ticket(1000)
    assert reopened.status == OPEN
    assert reopened.closed_at is None
    assert len(all_tickets()) == 1


def test_reply_to_a_ticket_closed_too_long_ago_opens_a_linked_ticket(desk, smtp):
    desk(MAIL_CLOSED_NEW_TICKET_AFTER_DAYS=1)
    open_printer_ticket(smtp)
    closed = service.close(SYSTEM, ticket(1000))
    closed.closed_at = utcnow() - timedelta(days=2)
    db.session.commit()

    outcome = deliver_one("reply_subject_re.eml")

    assert (outcome.outcome, outcome.ticket_number) == ("new_ticket", 1001)
    first, second = all_tickets()
    assert first.status == CLOSED
    assert len(texts(first)) == 1
    assert second.linked_ticket_id == first.id
    assert texts(second) == ["It is still smoking. Should I call the fire brigade?"]


def test_reply_failing_dmarc_is_quarantined_and_nobody_is_mailed(app, smtp, department):
    open_printer_ticket(smtp)
    mails_before = len(smtp.messages)

    outcome = deliver_one("reply_dmarc_fail.eml")

    # Probably spoofed: not added, no linked ticket whose acknowledgement would reach the real
    # address owner; an agent judges it in the quarantine.
    assert outcome.outcome == "quarantined"
    assert "authentication" in outcome.reason
    [first] = all_tickets()
    assert len(texts(first)) == 1
    assert not any("bank account" in t for t in texts(first))
    time.sleep(0.3)
    assert len(smtp.messages) == mails_before


def test_sender_flooding_the_helpdesk_loses_acknowledgements_then_tickets(desk, smtp):
    desk(MAIL_SENDER_SOFT_LIMIT=3, MAIL_SENDER_HARD_LIMIT=6)
    template = corpus("new_ticket.eml")
    acknowledged, outcomes = [], []

    for n in range(1, 9):
        before = len(smtp.messages)
        outcomes.append(deliver_one(template.replace(ORIGINAL_MESSAGE_ID.encode(), f"<flood.{n}@customer.test>"
                                                     .encode())))
        acknowledged.append(len(smtp.messages) > before)

    assert acknowledged[:3] == [True, True, True]
    assert not any(acknowledged[4:])  # from the 5th mail on, no automatic answer
    assert [o.outcome for o in outcomes[:6]] == ["new_ticket"] * 6
    assert (outcomes[7].outcome, outcomes[7].ticket_number) == ("rate_limited", None)
    assert inbound(outcomes[7]).status == IGNORED
    assert len(all_tickets()) == sum(o.outcome == "new_ticket" for o in outcomes)
