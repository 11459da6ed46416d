"""No backscatter: delivery failure reports (RFC 3464 or not, from many mail servers and in several
languages, and virus-scanner notices) never open a ticket and are never answered; list, bulk, newsletter
and no-reply mail is never acknowledged, and the ticket it opens says why. The corpus is in
tests/data/mail/wild/."""
from pathlib import Path

from helpdesk.mailgateway import pipeline
from tests.integration.mail.test_pipeline import all_tickets, events, open_printer_ticket, outbox_count, ticket

WILD = Path(__file__).resolve().parents[2] / "data" / "mail" / "wild"
BOUNCES = sorted((WILD / "bounces").glob("*.eml"))
BULK = sorted((WILD / "bulk").glob("*.eml"))
# A person forwarding a report is not a report: added to the ticket, quietly.
FORWARDED_BY_A_PERSON = {"36_forwarded_ndr.eml"}


def deliver_file(path):
    (outcome,) = pipeline.ingest([pipeline.Fetched("file", path.read_bytes(), label=path.name)])
    return outcome


def test_the_corpus_is_big_enough():
    assert len(BOUNCES) >= 40 and len(BULK) >= 20


def test_no_delivery_report_opens_a_ticket_or_is_answered(app, smtp, department):
    open_printer_ticket(smtp)
    smtp.clear()
    sent_before = outbox_count()
    wrong = {}
    for path in BOUNCES:
        outcome = deliver_file(path)
        expected = "added" if path.name in FORWARDED_BY_A_PERSON else "bounce"
        if outcome.outcome != expected:
            wrong[path.name] = (outcome.outcome, outcome.reason)
    assert wrong == {}
    assert [t.number for t in all_tickets()] == [1000]
    assert outbox_count() == sent_before and smtp.messages == []
    # Reports that name the ticket (in their subject or in the original they quote) are recorded on it.
    naming = [p for p in BOUNCES if b"#1000" in p.read_bytes() and p.name not in FORWARDED_BY_A_PERSON]
    assert len(naming) >= 15
    assert len(events(ticket(1000), "bounce")) == len(naming)


def test_no_list_bulk_or_no_reply_mail_is_acknowledged_and_the_ticket_says_why(app, smtp, department):
    wrong = {}
    for path in BULK:
        before = {t.number for t in all_tickets()}
        outcome = deliver_file(path)
        if outcome.outcome not in ("new_ticket", "auto_reply"):
            wrong[path.name] = (outcome.outcome, outcome.reason)
        elif outcome.outcome == "new_ticket":
            (opened,) = [t for t in all_tickets() if t.number not in before]
            if not events(opened, "not-acknowledged"):
                wrong[path.name] = "no word on the ticket about the missing acknowledgement"
    assert wrong == {}
    assert outbox_count() == 0 and smtp.messages == []


def test_a_person_writing_about_a_failed_delivery_still_gets_a_ticket(app, smtp, department):
    raw = (b"From: Dana Doe <dana@customer.test>\r\nTo: support@example.test\r\n"
           b"Subject: Mail delivery failed when I write to my boss\r\nMessage-ID: <dana-1@customer.test>\r\n\r\n"
           b"Since Monday every mail to boss@customer.test comes back. Can you check?\r\n")
    (outcome,) = pipeline.ingest([pipeline.Fetched("file", raw, label="dana")])

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert [e["reason"] for e in events(opened, "not-acknowledged")] == ["suspected_bounce"]
