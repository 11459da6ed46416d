"""File names through the real doors on both databases: the portal's ticket form and reply, the agent's reply and
note refuse a program however its name is dressed up (trailing dots, spaces, NULs, NTFS streams, bidi overrides,
case, double extensions) or whatever it is called (Mach-O, PE, ELF by content); stored names are the cleaned ones,
also for mail; and downloads of files named in any script carry a Content-Disposition that decodes back to it."""
import io
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.tickets import service
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.tickets.service import NewAttachment
from helpdesk.uploads import clean_filename
from tests.conftest import csrf_token, log_in

DRESSED_UP = [
    "evil.vbs ", "evil.vbs.", "evil.vbs...", "evil.vbs\t", "evil.vbs\x00", "evil.vbs\u00a0", "evil.vbs\u3000",
    "evil.vbs\u200b", "evil.vbs::$DATA", "evil.vbs:x:$DATA", "EVIL.VbS", "Invoice.PDF.exe",
    "invoice\u202egpj.exe", "evil.ｖｂｓ", "setup.exe\x00.pdf", "..\\..\\run.bat",
]
PROGRAMS_BY_CONTENT = [
    b"\xce\xfa\xed\xfe\x07\x00\x00\x00",  # Mach-O 32-bit, little-endian
    b"\xfe\xed\xfa\xce\x00\x00\x00\x12",  # Mach-O 32-bit, big-endian
    b"\xca\xfe\xba\xbe\x00\x00\x00\x02",  # universal (fat) Mach-O
    b"\xbe\xba\xfe\xca\x02\x00\x00\x00",  # universal, swapped
    b"\xca\xfe\xba\xbf\x00\x00\x00\x02",  # universal 64-bit
    b"\xcf\xfa\xed\xfe\x07\x00\x00\x01",  # Mach-O 64-bit
    b"MZ\x90\x00\x03\x00", b"\x7fELF\x02\x01\x01",
]
NAMES_IN_ANY_SCRIPT = [
    "文件.txt", "Счёт-фактура №7.pdf", "раураl-invoice.pdf", "گزارش ماهانه.pdf", "🎉 party 🎈.png",
    "Müller Brief.pdf", 'say "hi".txt', "a;b; filename=evil.exe.txt", "back\\slash.txt", "שלום עולם.txt",
]


def ticket_count():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))


def stored_names():
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(Attachment.filename)))


def guest_form(csrf, files):
    return {"csrf_token": csrf, "email": "gina@guest.example", "full_name": "Gina Guest", "company": "Guest GmbH",
            "subject": "Printer on fire", "description": "It smokes.", "priority": "normal", "department": "",
            "problem_timezone": "Europe/Berlin", "privacy": "y", "attachments": files}


def new_ticket(client, name, data):
    csrf = csrf_token(client.get("/tickets/new").text)
    return client.post("/tickets/new", data=guest_form(csrf, [(io.BytesIO(data), name, "text/plain")]),
                       content_type="multipart/form-data")


@pytest.fixture
def ticket(customer, department):
    return service.open_ticket(customer, subject="Mail does not arrive", body_text="Since Monday.",
                               department=department.id, acknowledge=False)


def portal_reply(client, ticket, name, data):
    csrf = csrf_token(client.get(f"/tickets/{ticket.number}").text)
    return client.post(f"/tickets/{ticket.number}/reply", content_type="multipart/form-data", data={
        "csrf_token": csrf, "body": "See the file.", "reply_attachments": [(io.BytesIO(data), name)]})


def agent_post(client, ticket, action, name, data):
    csrf = csrf_token(client.get(f"/agent/tickets/{ticket.number}").text)
    form = {"csrf_token": csrf, "body": "See the file.", "reply_status": "answered", "reply_attachments": None,
            "note": "See the file."}
    form["reply_attachments" if action == "reply" else "note_attachments"] = [(io.BytesIO(data), name)]
    del form["reply_attachments" if action == "note" else "note"]
    return client.post(f"/agent/tickets/{ticket.number}/{action}", content_type="multipart/form-data", data=form)


def refused(response):
    return response.status_code == 400 and "programs and scripts cannot be attached." in response.text


# Each name and content in a loop, one test per database: a test's own app and tables cost more than the form.
def test_portal_ticket_form_refuses_programs_however_named(client):
    for name in DRESSED_UP:
        assert refused(new_ticket(client, name, b"MsgBox 1")), repr(name)
        assert ticket_count() == 0 and stored_names() == [], repr(name)


def test_portal_ticket_form_refuses_programs_by_their_content(client):
    for data in PROGRAMS_BY_CONTENT:
        assert refused(new_ticket(client, "holiday.jpg", data + b"\x00" * 32)), data
        assert ticket_count() == 0, data


def test_portal_reply_refuses_every_dressed_up_program(client, customer, ticket):
    log_in(client, "carla@example.test")
    for name in DRESSED_UP:
        assert refused(portal_reply(client, ticket, name, b"MsgBox 1")), repr(name)
    for data in PROGRAMS_BY_CONTENT:
        assert refused(portal_reply(client, ticket, "notes.txt", data)), data
    assert stored_names() == []


@pytest.mark.parametrize("action", ["reply", "note"])
def test_agent_reply_and_note_refuse_every_dressed_up_program(client, agent, ticket, action):
    log_in(client, "agent@example.test")
    for name in DRESSED_UP:
        assert refused(agent_post(client, ticket, action, name, b"MsgBox 1")), repr(name)
    for data in PROGRAMS_BY_CONTENT:
        assert refused(agent_post(client, ticket, action, "notes.txt", data)), data
    assert stored_names() == []


def test_the_error_names_the_file_as_it_would_be_stored(client):
    response = new_ticket(client, "evil.vbs \u202e", b"MsgBox 1")
    assert "evil.vbs: programs and scripts cannot be attached." in response.text
    assert "\u202e" not in response.text


def test_accepted_files_are_stored_under_the_checked_name(client, customer, ticket):
    log_in(client, "carla@example.test")
    stored = []
    for sent, kept in [("report.pdf ", "report.pdf"), ("notes.txt...", "notes.txt"),
                       ("photo\u202egnp.txt", "photognp.txt"), ("data.csv::$DATA", "data.csv"),
                       ("文件.txt\x00", "文件.txt")]:
        assert portal_reply(client, ticket, sent, b"harmless").status_code == 302, repr(sent)
        stored.append(kept)
        assert stored_names() == sorted(stored), repr(sent)


def test_mail_attachments_are_stored_under_the_same_cleaned_names(app, department):
    mail = EmailMessage()
    mail["From"] = "Mia Mail <mia@customer.test>"
    mail["To"] = "support@example.test"
    mail["Subject"] = "Files"
    mail["Message-ID"] = "<names-1@customer.test>"
    mail.set_content("Two files.")
    for name in ("evil.vbs ", "invoice\u202egpj.exe", "data.csv::$DATA", "文件.txt."):
        mail.add_attachment(b"content of " + name.encode(), maintype="application", subtype="octet-stream",
                            filename=name)
    (outcome,) = pipeline.ingest([pipeline.Fetched("file", mail.as_bytes(), label="names")])
    assert outcome.ticket_number is not None
    assert stored_names() == sorted(["evil.vbs", "invoicegpj.exe", "data.csv", "文件.txt"])


# --------------------------------------------------------------------------- downloads

def decoded(header):
    kind, options = parse_options_header(header)
    return kind, options.get("filename")


def test_files_named_in_any_script_download_under_their_name(client, customer):
    body = "Inhalt: äöü 文件 ✓".encode()
    log_in(client, "carla@example.test")
    for name in NAMES_IN_ANY_SCRIPT:
        ticket = service.open_ticket(customer, subject="Files", body_text="Attached.", acknowledge=False,
                                     attachments=[NewAttachment(name, "text/plain", body)])
        attachment = ticket.messages[0].attachments[0]
        response = client.get(f"/attachments/{attachment.id}")
        assert response.status_code == 200 and response.data == body, name
        header = response.headers["Content-Disposition"]
        # the name itself, but a backslash: a folder
        assert decoded(header) == ("attachment", clean_filename(name)), name
        assert header.isascii() and "\n" not in header, name


def test_agents_download_files_named_in_any_script(client, agent, ticket):
    note = service.add_internal_note(agent, ticket, body_text="Logs.",
                                     attachments=[NewAttachment("журнал\r\n.log", "text/plain", b"log")])
    log_in(client, "agent@example.test")
    response = client.get(f"/attachments/{note.attachments[0].id}")
    assert response.status_code == 200 and response.data == b"log"
    assert decoded(response.headers["Content-Disposition"]) == ("attachment", "журнал.log")


def test_message_rows_keep_their_attachments_named_as_stored(app, customer):
    ticket = service.open_ticket(customer, subject="x", body_text="y", acknowledge=False,
                                 attachments=[NewAttachment("evil.vbs ", "text/plain", b"z")])
    db.session.rollback()
    message = db.session.get(Message, ticket.messages[0].id)
    assert [a.filename for a in message.attachments] == ["evil.vbs"]


def test_kb_videos_named_in_any_script_play_under_their_name(client, make_user):
    from helpdesk.actors import SYSTEM
    from helpdesk.kb import service as kb

    editor = kb.set_editor(SYSTEM, make_user("agent", email="kb-editor@example.test"), True)
    folder = kb.create_folder(editor, title="Printers")
    data = b"\x00\x00\x00\x18ftypmp42"
    for name in ["开箱视频.mp4", "Распаковка.mp4", "ویدیو.mp4", "🎬 clip.mp4", 'say "hi"; x.mp4']:
        item = kb.create_article(editor, folder=folder, language="en", title=f"Clip {name}", body="See the clip.",
                                 video=NewAttachment(name, "video/mp4", data), publish=True)
        response = client.get(f"/kb/articles/{item.id}/video")
        assert response.status_code == 200 and response.data == data, name
        assert decoded(response.headers["Content-Disposition"]) == ("inline", name)
