"""Outlook .msg files read as mail by the reading step, through Debian's msgconvert: on their own, attached to
a mail, damaged, or with no msgconvert to run. The files are built by tests/outlook_msg.py."""
from email.message import EmailMessage

import pytest

from helpdesk.mailgateway import outlook
from helpdesk.mailgateway.parsing import UnparseableMail, parse
from tests.outlook_msg import MsgAttachment, OutlookMessage, Recipient, build_msg, truncated, word_document

LIMIT = 10 * 1024 * 1024
TRANSPORT_HEADERS = (
    "Received: from mail.customer.example (mail.customer.example [192.0.2.10])\r\n"
    "\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TqQ0A1Xk2z9sWc;\r\n"
    "\tMon, 2 Mar 2026 10:15:03 +0100 (CET)\r\n"
    "From: Alice Example <alice@customer.example>\r\n"
    "To: Support <support@helpdesk.example>\r\n"
    "Subject: Printer on the 3rd floor is offline\r\n"
    "Date: Mon, 2 Mar 2026 10:15:00 +0100\r\n"
    "Message-ID: <outlook.4711@customer.example>\r\n"
    "In-Reply-To: <ack.1000@helpdesk.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
)


def read(data: bytes, msgconvert="msgconvert"):
    return parse(data, max_attachment_bytes=LIMIT, msgconvert=msgconvert)


def test_a_msg_file_is_read_as_the_mail_it_holds():
    mail = read(build_msg(OutlookMessage(cc=[Recipient("Bob Builder", "bob@customer.example", 2)])))

    assert mail.subject == "Printer on the 3rd floor is offline"
    assert (mail.from_name, mail.from_addr) == ("Alice Example", "alice@customer.example")
    assert mail.to == (("Support", "support@helpdesk.example"),)
    assert mail.cc == (("Bob Builder", "bob@customer.example"),)
    assert mail.text.startswith("Hello,\n\nthe printer on the third floor")
    assert mail.date.isoformat() == "2026-03-02T09:15:00+00:00"


def test_the_transport_headers_of_a_sent_msg_give_its_message_id_threading_and_received_chain():
    mail = read(build_msg(OutlookMessage(transport_headers=TRANSPORT_HEADERS)))

    assert mail.message_id == "<outlook.4711@customer.example>"
    assert mail.in_reply_to == ("<ack.1000@helpdesk.example>",)
    assert "mx.helpdesk.example" in mail.header("Received")


@pytest.mark.parametrize(("subject", "body"), [
    ("Drucker im 3. Stock: Störung", "Grüße aus Köln, der Drucker druckt nur noch weiße Seiten."),
    ("Yazıcı arızası: İstanbul ofisi", "Merhaba, yazıcı çalışmıyor. Teşekkürler, Ayşe Öztürk"),
    ("چاپگر طبقه سوم کار نمی‌کند", "سلام، چاپگر از صبح خاموش است. با تشکر"),
    ("Störung: چاپگر – yazıcı", "Grüße, teşekkürler, سلام"),
], ids=["german", "turkish", "persian", "mixed"])
def test_subjects_and_text_in_other_languages_come_through_unchanged(subject, body):
    mail = read(build_msg(OutlookMessage(subject=subject, sender_name="Ayşe Öztürk", body=body)))

    assert (mail.subject, mail.text, mail.from_name) == (subject, body, "Ayşe Öztürk")
    assert "\ufffd" not in mail.subject + mail.text


def test_files_inside_a_msg_become_attachments_with_their_names():
    pdf = b"%PDF-1.4\n% a scan\n" + bytes(range(256)) * 40
    mail = read(build_msg(OutlookMessage(attachments=[
        MsgAttachment("Rechnung März.pdf", pdf, "application/pdf"),
        MsgAttachment("log.txt", b"error 42\n", "text/plain")])))

    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("Rechnung März.pdf", "application/pdf", pdf), ("log.txt", "text/plain", b"error 42\n")]


@pytest.mark.parametrize("keep", [600, 1500, 3000, 5000])
def test_a_truncated_msg_is_unreadable_with_its_own_reason(keep):
    data = truncated(build_msg(OutlookMessage(attachments=[MsgAttachment("a.bin", b"x" * 9000)])), keep)

    with pytest.raises(UnparseableMail) as raised:
        read(data)

    assert raised.value.reason_code == "outlook_damaged"


def test_an_ole2_file_that_is_no_message_is_unreadable_as_a_damaged_msg():
    with pytest.raises(UnparseableMail) as raised:
        read(word_document())

    assert raised.value.reason_code == "outlook_damaged"


def test_without_msgconvert_a_msg_is_unreadable_with_the_program_named():
    with pytest.raises(UnparseableMail) as raised:
        read(build_msg(OutlookMessage()), msgconvert="/nonexistent/msgconvert")

    assert (raised.value.reason_code, raised.value.reason_params) == (
        "outlook_no_converter", {"program": "/nonexistent/msgconvert"})


def test_outside_the_application_without_a_program_the_conversion_is_left_to_the_gateway():
    # A parser process has no settings: it must fail, so the gateway parses the message itself.
    with pytest.raises(outlook.NoConverterSetting):
        parse(build_msg(OutlookMessage()), max_attachment_bytes=LIMIT)


def forward_with_msg(msg: bytes, *, filename="Invoice wrong.msg", content_type="application/vnd.ms-outlook"):
    forward = EmailMessage()
    forward["From"] = "Alex Agent <agent@example.test>"
    forward["To"] = "support@example.test"
    forward["Subject"] = "Fwd: Invoice wrong"
    forward["Message-ID"] = "<fwd.msg.1@example.test>"
    forward.set_content("Olga sent this to me, please take it over.")
    maintype, subtype = content_type.split("/")
    forward.add_attachment(msg, maintype=maintype, subtype=subtype, filename=filename)
    return forward.as_bytes()


@pytest.mark.parametrize(("filename", "content_type"), [
    ("Invoice wrong.msg", "application/vnd.ms-outlook"),
    ("Invoice wrong.msg", "application/octet-stream"),
    ("Invoice wrong.MSG", "application/octet-stream"),
    (None, "application/vnd.ms-outlook"),
])
def test_an_attached_msg_stays_attached_and_its_mail_is_attached_as_a_message(filename, content_type):
    msg = build_msg(OutlookMessage(sender_name="Olga Original", sender_email="olga@customer.test",
                                   subject="Invoice 2024-0113 is wrong", body="It charges us twice."))
    raw = forward_with_msg(msg, filename=filename, content_type=content_type)
    if filename is None:
        raw = raw.replace(b'; filename="None"', b"")

    mail = read(raw)

    assert mail.from_addr == "agent@example.test"
    assert mail.text == "Olga sent this to me, please take it over.\n".strip()
    kept, original = mail.attachments
    assert (kept.content_type, kept.data) == (content_type, msg)
    assert original.content_type == "message/rfc822"
    assert kept.filename == (filename or "attachment-1.msg")
    assert original.filename == f"{kept.filename[:-4]}.eml"
    assert b"From: Olga Original <olga@customer.test>" in original.data
    assert b"It charges us twice." in original.data


def test_an_attached_msg_that_cannot_be_converted_is_kept_as_it_came():
    damaged = truncated(build_msg(OutlookMessage()))

    mail = read(forward_with_msg(damaged))

    assert [(a.filename, a.data) for a in mail.attachments] == [("Invoice wrong.msg", damaged)]
    assert "OutlookAttachmentNotConverted" in mail.defects


def test_an_attached_word_document_is_not_taken_for_a_message():
    document = word_document()

    mail = read(forward_with_msg(document, filename="Angebot.doc", content_type="application/msword"))

    assert [(a.filename, a.content_type) for a in mail.attachments] == [("Angebot.doc", "application/msword")]

