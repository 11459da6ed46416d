"""Real flows on a desk whose STORAGE_BACKEND is "s3" (moto's S3 server on loopback): a customer's attachment lands
in the bucket and is downloaded (streamed) by the customer and the agent with the same access checks as on disk;
another customer still gets 404."""
import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.tickets import service
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import NewAttachment
from tests.api.conftest import api_client, token_for
from tests.conftest import csrf_token, log_in

pytestmark = pytest.mark.backends("postgresql")
__all__ = ["api_client", "token_for"]  # the API's fixtures, for the download through /api/v1 below

@pytest.fixture
def bucket(s3_bucket):
    return s3_bucket


@pytest.fixture
def app(app_factory, smtp, s3_settings):
    app = app_factory(**s3_settings, S3_PREFIX="desk/")
    with app.app_context():
        yield app
        db.session.remove()


def in_bucket(bucket):
    client, name = bucket
    return {item["Key"].rsplit("/", 1)[1] for item in client.list_objects_v2(Bucket=name).get("Contents", [])}


def test_attachment_in_the_bucket_is_downloaded_by_its_customer_and_the_agent_not_by_another(
        client, app, customer, agent, make_user, bucket):
    data = b"2026-12-04 disk full\n" * 5000
    ticket = service.open_ticket(customer, subject="Server log", body_text="See the log.",
                                 attachments=[NewAttachment("server.log", "text/plain", data)])
    attachment = ticket.messages[0].attachments[0]
    assert attachment.sha256 in in_bucket(bucket)

    log_in(client, "carla@example.test")
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Disposition"] == "attachment; filename=server.log"

    as_agent = app.test_client()
    log_in(as_agent, "agent@example.test")
    assert as_agent.get(f"/attachments/{attachment.id}").data == data

    make_user("customer", email="olga@other.example", full_name="Olga Other")
    as_other = app.test_client()
    log_in(as_other, "olga@other.example")
    assert as_other.get(f"/attachments/{attachment.id}").status_code == 404


def test_an_agent_of_another_department_gets_404_for_an_attachment_in_the_bucket_and_it_stays(
        client, app, customer, agent, department, make_user, bucket):
    from helpdesk.actors import SYSTEM
    from helpdesk.tickets import departments

    data = b"invoice 4711\n" * 100
    ticket = service.open_ticket(customer, subject="Invoice", body_text="Attached.", department=department.id,
                                 attachments=[NewAttachment("invoice.txt", "text/plain", data)])
    attachment = ticket.messages[0].attachments[0]
    billing = departments.create_department(SYSTEM, name="Billing", inbound_address="billing@example.test")
    outsider = make_user("agent", email="bob@example.test", full_name="Bob Billing")
    departments.add_agent_to_department(SYSTEM, billing, outsider)
    db.session.commit()

    as_outsider = app.test_client()
    log_in(as_outsider, "bob@example.test")
    refused = as_outsider.get(f"/attachments/{attachment.id}")

    assert refused.status_code == 404 and data not in refused.data
    assert attachment.sha256 in in_bucket(bucket)  # nothing removed or changed
    as_agent = app.test_client()
    log_in(as_agent, "agent@example.test")
    assert as_agent.get(f"/attachments/{attachment.id}").data == data


def test_a_guest_uploads_through_the_form_and_the_file_is_stored_in_the_bucket(client, app, department, bucket):
    data = {"csrf_token": csrf_token(client.get("/tickets/new").text), "email": "gina@guest.example",
            "full_name": "Gina Guest", "company": "Guest GmbH", "subject": "Printer on fire", "description": "Smoke.",
            "priority": "high", "department": str(department.id), "problem_timezone": "Europe/Berlin", "privacy": "y",
            "attachments": [(io.BytesIO(b"smoke detected\n"), "printer.log", "text/plain")]}
    response = client.post("/tickets/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(sa.select(Ticket)).one()
    stored = ticket.messages[0].attachments[0]
    assert stored.sha256 == hashlib.sha256(b"smoke detected\n").hexdigest()
    assert stored.sha256 in in_bucket(bucket)


def test_a_mail_with_an_attachment_goes_through_the_gateway_into_the_bucket_and_the_agent_downloads_it(
        client, app, agent, bucket):
    from email.message import EmailMessage

    from helpdesk.mailgateway import pipeline

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Mia <mia@customer.example>", "support@example.test", "Broken"
    mail["Message-ID"] = "<broken-1@customer.example>"
    mail.set_content("The photo shows it.")
    mail.add_attachment(b"%PDF-1.4 invoice scan", maintype="application", subtype="pdf", filename="invoice.pdf")
    raw = mail.as_bytes()

    [outcome] = pipeline.ingest([pipeline.Fetched("file", raw, label="broken.eml")])
    assert outcome.outcome != "quarantined"
    db.session.rollback()
    ticket = db.session.scalars(sa.select(Ticket)).one()
    [attachment] = ticket.messages[0].attachments
    assert {hashlib.sha256(raw).hexdigest(), attachment.sha256} <= in_bucket(bucket)

    log_in(client, agent.email)
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == b"%PDF-1.4 invoice scan"


def test_a_quarantined_mail_is_downloaded_raw_from_the_bucket(client, app, agent, bucket):
    from helpdesk.mailgateway import pipeline

    garbage = b"\x00\x01\xfe\xff not mail at all"
    [outcome] = pipeline.ingest([pipeline.Fetched("file", garbage, label="bad.eml")])
    assert outcome.outcome == "quarantined"
    assert hashlib.sha256(garbage).hexdigest() in in_bucket(bucket)
    log_in(client, agent.email)
    response = client.get(f"/agent/quarantine/{outcome.inbound_id}/raw")
    assert response.status_code == 200 and response.data == garbage


def test_a_chat_visitors_file_is_stored_in_the_bucket_and_downloaded_with_the_chat_key_only(client, app, agent,
                                                                                            bucket):
    def start(name, email):
        answer = client.post("/chat/start", json={"name": name, "email": email, "message": "Hello?",
                                                  "origin": "https://helpdesk.example.test/kb/"})
        assert answer.status_code == 201, answer.text
        return {"X-Chat-Key": answer.json["key"]}

    key = start("Gita Guest", "gita@example.test")
    sent = client.post("/chat/visitor/messages", headers=key, content_type="multipart/form-data",
                       data={"body": "The error", "file": (io.BytesIO(b"error trace\n" * 100), "trace.txt",
                                                            "text/plain")})
    assert sent.status_code == 201, sent.text
    [attachment] = sent.json["attachments"]
    assert hashlib.sha256(b"error trace\n" * 100).hexdigest() in in_bucket(bucket)

    download = client.get(f"/chat/visitor/attachments/{attachment['id']}", headers=key)
    assert download.status_code == 200 and download.data == b"error trace\n" * 100
    other = start("Olga Other", "olga@example.test")
    assert client.get(f"/chat/visitor/attachments/{attachment['id']}", headers=other).status_code == 404


def _files_under(folder):
    return [path for path in Path(folder).rglob("*") if path.is_file()]


def _mail_with_attachment(n):
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"] = f"Guest {n} <guest{n}@customer.example>", "support@example.test"
    mail["Subject"], mail["Message-ID"] = f"Scan {n}", f"<scan-{n}@customer.example>"
    mail.set_content(f"Scan {n} attached.")
    mail.add_attachment(f"%PDF-1.4 scan number {n}".encode(), maintype="application", subtype="pdf",
                        filename=f"scan-{n}.pdf")
    return mail.as_bytes()


def test_mail_prepared_by_a_parser_process_lands_in_the_bucket_and_nothing_on_local_disk(
        app, department, bucket, tmp_path, monkeypatch):
    from helpdesk import storage
    from helpdesk.mailgateway import pipeline
    from helpdesk.mailgateway.daemon import Runner
    from helpdesk.mailgateway.sources import MaildirSource

    source = MaildirSource("scans", tmp_path / "box", department="Technical")
    raws = [_mail_with_attachment(n) for n in range(30)]
    for n, raw in enumerate(raws):
        (source.path / "new" / f"{1_700_000_000 + n}.{n:05d}.test").write_bytes(raw)
    written_here = []  # S3 writes of this (the gateway's) process; the parser process is a fresh interpreter
    real_write = storage.S3Store.write

    def recording_write(self, area, key, data, **kwargs):
        written_here.append(key)
        return real_write(self, area, key, data, **kwargs)

    monkeypatch.setattr(storage.S3Store, "write", recording_write)
    parser = pipeline.Parser(1)
    try:
        runner = Runner(source, 10, parser)
        outcomes = []
        while batch := runner.run_once():
            outcomes += batch
    finally:
        parser.close()

    assert [o.outcome for o in outcomes] == ["new_ticket"] * 30
    raw_keys = {hashlib.sha256(raw).hexdigest() for raw in raws}
    scan_keys = {hashlib.sha256(f"%PDF-1.4 scan number {n}".encode()).hexdigest() for n in range(30)}
    assert raw_keys | scan_keys <= in_bucket(bucket)
    # Batches of 10 are all handed to the parser: every raw mail was written to the bucket by the parser
    # process itself, the attachments by the gateway when it made the tickets.
    assert raw_keys.isdisjoint(written_here)
    assert scan_keys <= set(written_here)
    db.session.rollback()
    stored = {a.sha256 for t in db.session.scalars(sa.select(Ticket)) for m in t.messages for a in m.attachments}
    assert stored == scan_keys
    assert _files_under(app.config["ATTACHMENTS_PATH"]) == []


def test_the_gateway_alone_writes_nothing_under_the_local_attachments_folder(app, department, bucket):
    from helpdesk.mailgateway import pipeline

    raw = _mail_with_attachment(1)
    [outcome] = pipeline.ingest([pipeline.Fetched("file", raw, label="scan.eml")])
    assert outcome.outcome == "new_ticket"
    assert hashlib.sha256(raw).hexdigest() in in_bucket(bucket)
    assert _files_under(app.config["ATTACHMENTS_PATH"]) == []


def test_the_api_streams_an_attachment_from_the_bucket_to_its_customer_only(api_client, token_for, app, agent,
                                                                           department, make_user, bucket):
    owner, other = make_user("customer"), make_user("customer")
    ticket = service.open_ticket(owner, subject="Contract", body_text="Please send it.", department=department,
                                 acknowledge=False)
    contract = b"Clause: the customer signs.\n" * 4000  # about 110 KB: more than one 64 KB chunk
    reply = service.add_agent_reply(agent, ticket, body_text="Here it is.",
                                    attachments=[NewAttachment("contract.txt", "text/plain", contract)])
    attachment_id = reply.attachments[0].id
    db.session.commit()
    assert hashlib.sha256(contract).hexdigest() in in_bucket(bucket)

    api_client.token = token_for(owner)
    response = api_client.get(f"/api/v1/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == contract
    assert response.headers["Content-Length"] == str(len(contract))
    api_client.token = token_for(other)
    assert api_client.get(f"/api/v1/attachments/{attachment_id}").status_code == 404
