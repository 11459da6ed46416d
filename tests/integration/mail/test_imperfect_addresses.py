"""Mail is not a web form: a Cc or To the web form would refuse is dropped (and the ticket says so), and a
From without a usable address falls back to Reply-To, then Sender. Only mail with no usable sender at all
waits in the quarantine."""
import pytest

from tests.integration.mail.test_pipeline import all_tickets, deliver_one, events, open_printer_ticket, ticket

# Addresses a mail program reads as addresses, but that mail cannot be sent to.
UNUSABLE = [
    "alice@intern",  # a domain without a dot
    "bob@under_score.example",  # an underscore in the domain
    "carol@-leading-hyphen.example",
    "dave@localhost",
    "erin@123.45.67.89",  # an address literal without brackets
    "frank@xn--invalid-punycode-.example",
    "\u0441\u0435rgey@example.org",  # Cyrillic letters in the local part (no SMTPUTF8 by default)
    "heidi@example.invalid-tld-" ,
]
# Things in an address header that are no address at all: skipped without a word.
NOT_ADDRESSES = ["ivan", "judy@@double.example", "mallory@.dot-first.example", "Team:;"]


def mail(*, sender=b"From: Olga Original <olga@customer.test>", cc=b"", to=b"To: support@example.test",
         extra=b"", subject=b"Printer jammed", message_id=b"<imperfect@customer.test>"):
    lines = [sender, to] + ([cc] if cc else []) + ([extra] if extra else []) + [
        b"Subject: " + subject, b"Message-ID: " + message_id, b"Date: Tue, 05 Mar 2024 11:00:00 +0100",
        b"Content-Type: text/plain; charset=utf-8"]
    return b"\r\n".join(line for line in lines if line) + b"\r\n\r\nIt jams on every page.\r\n"


def test_unusable_cc_and_to_addresses_are_dropped_and_named_on_the_ticket(app, smtp, department):
    cc = ", ".join(UNUSABLE[:5]).encode("utf-8")
    to = ("support@example.test, " + ", ".join(UNUSABLE[5:]) + ", kept@customer.test").encode("utf-8")

    outcome = deliver_one(mail(cc=b"Cc: " + cc + b", ok@customer.test", to=b"To: " + to))

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert sorted(p.email for p in opened.participants) == ["kept@customer.test", "ok@customer.test",
                                                            "olga@customer.test"]
    dropped = events(opened, "cc-dropped")
    assert sorted(e["email"] for e in dropped) == sorted(UNUSABLE)
    # The acknowledgement went out to the requester and the usable copies only.
    smtp.wait_for(3)
    recipients = sorted(r for envelope in smtp.envelopes for r in envelope["to"])
    assert recipients == ["kept@customer.test", "ok@customer.test", "olga@customer.test"]


@pytest.mark.parametrize("junk", NOT_ADDRESSES)
def test_something_that_is_no_address_in_cc_does_not_hold_back_the_ticket(app, smtp, department, junk):
    outcome = deliver_one(mail(cc=b"Cc: " + junk.encode() + b", ok@customer.test"))

    assert outcome.outcome == "new_ticket"
    assert sorted(p.email for p in all_tickets()[0].participants) == ["ok@customer.test", "olga@customer.test"]


def test_the_thread_says_in_words_which_copies_were_dropped(app, smtp, department, agent, client):
    from tests.conftest import log_in

    deliver_one(mail(cc=b"Cc: alice@intern"))
    log_in(client, agent.email)
    page = client.get(f"/agent/tickets/{all_tickets()[0].number}").text
    assert "alice@intern was not added in copy" in page


def test_a_reply_with_an_unusable_cc_is_still_added_to_the_ticket(app, smtp, department):
    open_printer_ticket(smtp)

    outcome = deliver_one(mail(sender=b"From: Grace Customer <grace@customer.test>", subject=b"Re: [#1000] Printer",
                               cc=b"Cc: Team <team@intern>, colleague@customer.test",
                               message_id=b"<reply-imperfect@customer.test>"))

    assert (outcome.outcome, outcome.ticket_number) == ("added", 1000)
    assert "colleague@customer.test" in [p.email for p in ticket(1000).participants]
    assert [e["email"] for e in events(ticket(1000), "cc-dropped")] == ["team@intern"]


@pytest.mark.parametrize(("sender", "extra", "expected", "header"), [
    (b"From: scanner", b"Reply-To: Office <office@customer.test>", "office@customer.test", "Reply-To"),
    (b"From: <alice@intern>", b"Reply-To: alice@customer.test", "alice@customer.test", "Reply-To"),
    (b"From: MFP-3 <>", b"Sender: MFP Owner <owner@customer.test>", "owner@customer.test", "Sender"),
    (b"", b"Sender: owner@customer.test", "owner@customer.test", "Sender"),
    (b"From: undisclosed:;", b"Reply-To: bad@intern, good@customer.test", "good@customer.test", "Reply-To"),
], ids=["no-address", "unusable-domain", "empty-angle", "no-from", "group-and-bad-reply-to"])
def test_a_from_without_a_usable_address_falls_back_to_reply_to_or_sender(app, smtp, department, sender, extra,
                                                                           expected, header):
    outcome = deliver_one(mail(sender=sender, extra=extra))

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert opened.requester.email == expected
    assert [(e["header"], e["email"]) for e in events(opened, "sender-fallback")] == [(header, expected)]
    smtp.wait_for(1)
    assert [envelope["to"] for envelope in smtp.envelopes] == [[expected]]


def test_a_fallback_sender_never_posts_on_someone_elses_ticket(app, smtp, department):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(mail(sender=b"From: nobody", extra=b"Reply-To: grace@customer.test",
                               subject=b"Re: [#1000] Printer", message_id=b"<fallback-reply@evil.example>"))

    assert outcome.ticket_number != 1000 or outcome.outcome == "quarantined"
    assert len([m for m in ticket(1000).messages if m.kind == "customer"]) == 1


@pytest.mark.parametrize(("sender", "extra"), [
    (b"From: scanner", b""),
    (b"From: <alice@intern>", b"Reply-To: bob@intern"),
    (b"", b"Sender: just a name"),
])
def test_mail_without_any_usable_sender_waits_in_the_quarantine(app, smtp, department, sender, extra):
    outcome = deliver_one(mail(sender=sender, extra=extra))

    assert outcome.outcome == "quarantined"
    assert "no sender address" in outcome.reason
    assert all_tickets() == []
