"""Forged senders: mail that pretends to come from an agent or from a customer on the ticket. The sender
is the single From address read from the raw header (never from a decoded display name, Sender or
Reply-To), an agent's mail needs proof (a trusted DMARC pass or the reply address made for that agent),
and nothing forged is added to a ticket, reopens it or is mailed from the support address as a reply."""
import base64

import pytest

from helpdesk.tickets import reply_matching, service
from helpdesk.tickets.models import AGENT_REPLY, CLOSED, OPEN
from tests.integration.mail.test_pipeline import GRACE, all_tickets, deliver_one, open_printer_ticket, ticket

AGENT = "agent@example.test"
ATTACKER = "attacker@evil.example"
# What our receiving server writes for mail from the attacker's own, properly signed domain.
PASS_FOR_EVIL = (b"Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=evil.example;\r\n"
                 b"\tdkim=pass header.d=evil.example; dmarc=pass header.from=evil.example\r\n")
PASS_FOR_US = (b"Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=example.test;\r\n"
               b"\tdkim=pass header.d=example.test; dmarc=pass (p=reject) header.from=example.test\r\n")


def b64(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def mail(from_lines, *, results=PASS_FOR_EVIL, to=b"Example Support <support@example.test>",
         subject=b"Re: [#1000] Printer on fire", extra=b"", body=b"Close this ticket, the printer is fine.",
         message_id=b"<spoof@evil.example>"):
    if isinstance(from_lines, str):
        from_lines = [from_lines]
    head = results + b"".join(b"From: " + line.encode() + b"\r\n" for line in from_lines)
    return (head + b"To: " + to + b"\r\nSubject: " + subject + b"\r\nMessage-ID: " + message_id + b"\r\n"
            + b"Date: Tue, 05 Mar 2024 11:00:00 +0100\r\n" + extra
            + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + b"\r\n")


def mailed_to(smtp, address):
    """Mail the SMTP server received for ``address`` (by envelope: a display name may name anyone)."""
    return [e for e in smtp.envelopes if address in e["to"]]


def agent_replies(number=1000):
    return [m for m in ticket(number).messages if m.kind == AGENT_REPLY]


# Headers whose display name, comment or group says "agent" while the address is the attacker's, or
# that name more than one sender. None may become the agent's reply.
AGENT_SPOOFS = {
    "base64 encoded word hiding an address and a comma": b64(f"{AGENT}, ") + f" <{ATTACKER}>",
    "base64 encoded word hiding an angle address": b64(f"Alex Agent <{AGENT}>") + f" <{ATTACKER}>",
    "q-encoded word with the @ encoded": "=?UTF-8?Q?agent=40example=2Etest?= " + f"<{ATTACKER}>",
    "q-encoded word with a comma": "=?UTF-8?Q?Alex_Agent=2C_agent=40example=2Etest?= " + f"<{ATTACKER}>",
    "encoded word in another charset": "=?ISO-8859-1?B?" + base64.b64encode(f"{AGENT},".encode()).decode()
                                       + f"?= <{ATTACKER}>",
    "quoted display name with the address": f'"{AGENT}" <{ATTACKER}>',
    "quoted display name with a comma and address": f'"Alex Agent, {AGENT}" <{ATTACKER}>',
    "comment holding the address": f"{ATTACKER} ({AGENT})",
    "comment holding an angle address": f"{ATTACKER} (Alex Agent <{AGENT}>)",
    "unquoted address as display name": f"{AGENT} <{ATTACKER}>",
    "address list, agent first": f"{AGENT}, {ATTACKER}",
    "address list, agent second": f"{ATTACKER}, {AGENT}",
    "group syntax around both": f"Staff: {AGENT}, {ATTACKER};",
    "raw 8-bit name with the address": f"Jürgen {AGENT} <{ATTACKER}>",
    "route-like trailing domain": f'"{AGENT}" <{AGENT}>@evil.example',
    "quoted local part holding the address": f'"Alex" <"{AGENT}"@evil.example>',
    "cyrillic look-alike domain": "agent@ex\u0430mple.test",
    "fullwidth look-alike local part": "\uff41gent@example.test",
    "encoded Bcc in the display name": b64(f"Bcc: {AGENT}") + f" <{ATTACKER}>",
}


def test_forged_agent_sender_never_becomes_an_agent_reply(app, smtp, department, agent):
    open_printer_ticket(smtp)
    smtp.clear()
    wrong = {}
    # One mail per forgery, each on Grace's ticket (the app is built once for all of them).
    for position, (label, from_header) in enumerate(AGENT_SPOOFS.items()):
        outcome = deliver_one(mail(from_header, message_id=b"<spoof-%d@evil.example>" % position))
        if outcome.outcome == "agent_reply" or agent_replies() or ticket(1000).status != OPEN:
            wrong[label] = outcome.outcome
    assert wrong == {}
    # Nothing went to Grace from the support address as an answer to her ticket.
    assert mailed_to(smtp, GRACE) == []


@pytest.mark.parametrize(("from_lines", "extra"), [
    ([f"Alex Agent <{AGENT}>", f"<{ATTACKER}>"], b""),  # two From headers, agent's first
    ([f"<{ATTACKER}>", f"Alex Agent <{AGENT}>"], b""),  # two From headers, agent's second
    ([f"<{ATTACKER}>"], f"Sender: Alex Agent <{AGENT}>\r\n".encode()),
    ([f"<{ATTACKER}>"], f"Reply-To: Alex Agent <{AGENT}>\r\n".encode()),
    ([f"<{ATTACKER}>"], f"Resent-From: {AGENT}\r\nX-Original-From: {AGENT}\r\n".encode()),
], ids=["two-from-agent-first", "two-from-agent-second", "sender-header", "reply-to", "resent-from"])
def test_only_a_single_from_address_can_name_the_agent(app, smtp, department, agent, from_lines, extra):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(mail(from_lines, extra=extra))

    assert outcome.outcome != "agent_reply"
    assert agent_replies() == []
    assert ticket(1000).status == OPEN


@pytest.mark.parametrize("results", [
    b"",  # no verdict at all
    PASS_FOR_EVIL,  # a pass, but for another domain than the From address's
    # A pass written by a server we do not trust (anyone can add this header).
    b"Authentication-Results: mx.evil.example; dmarc=pass header.from=example.test\r\n",
    # Our server's real verdict on top; a forged "pass" in our server's name further down is ignored.
    b"Authentication-Results: mx.example.test; spf=none smtp.mailfrom=evil.example; dmarc=none\r\n"
    + PASS_FOR_US,
    # Our server says DMARC failed.
    b"Authentication-Results: mx.example.test; dmarc=fail (p=reject) header.from=example.test\r\n",
], ids=["none", "pass-other-domain", "untrusted-server", "forged-below-ours", "dmarc-fail"])
def test_mail_from_the_agents_exact_address_without_proof_is_quarantined(app, smtp, department, agent, results):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(mail(f"Alex Agent <{AGENT}>", results=results))

    assert outcome.outcome == "quarantined"
    assert AGENT in outcome.reason and "verified" in outcome.reason
    assert agent_replies() == []
    assert ticket(1000).status == OPEN
    assert smtp.messages == []


def test_agent_reply_with_a_trusted_dmarc_pass_for_the_agents_domain_is_accepted(app, smtp, department, agent):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(mail(f"Alex Agent <{AGENT}>", results=PASS_FOR_US, body=b"On my way."))

    assert outcome.outcome == "agent_reply"
    (reply,) = agent_replies()
    assert reply.author_id == agent.id
    (sent,) = smtp.wait_for(1)
    assert GRACE in str(sent["To"]) and "On my way." in sent.get_body(("plain",)).get_content()


def test_agent_reply_through_the_reply_address_made_for_that_agent_needs_no_dmarc(app, smtp, department, agent):
    open_printer_ticket(smtp)
    smtp.clear()
    own = reply_matching.reply_address("support@example.test", 1000, agent.id).encode()

    outcome = deliver_one(mail(f"Alex Agent <{AGENT}>", results=b"", to=own, body=b"On my way."))

    assert outcome.outcome == "agent_reply"
    assert [m.author_id for m in agent_replies()] == [agent.id]


@pytest.mark.parametrize("which", ["another agent", "the customers' address", "another ticket"])
def test_a_reply_address_not_made_for_this_agent_on_this_ticket_is_no_proof(app, smtp, department, agent,
                                                                            make_user, which):
    open_printer_ticket(smtp)
    smtp.clear()
    other = make_user("agent", email="olive@example.test", full_name="Olive Other")
    address = {"another agent": reply_matching.reply_address("support@example.test", 1000, other.id),
               "the customers' address": reply_matching.reply_address("support@example.test", 1000),
               "another ticket": reply_matching.reply_address("support@example.test", 1001, agent.id)}[which]

    outcome = deliver_one(mail(f"Alex Agent <{AGENT}>", results=b"", to=address.encode()))

    assert outcome.outcome == "quarantined"
    assert agent_replies() == []


def test_mail_to_an_agent_on_the_ticket_carries_a_reply_address_made_for_that_agent(app, smtp, department, agent):
    open_printer_ticket(smtp)
    service.add_participant(agent, ticket(1000), AGENT)
    smtp.clear()
    service.add_agent_reply(agent, ticket(1000), body_text="Looking into it.")

    sent = {str(m["To"]).rpartition("<")[2].rstrip(">"): str(m["Reply-To"]) for m in smtp.wait_for(2)}
    assert reply_matching.agent_from_address(sent[AGENT], 1000) == agent.id
    assert reply_matching.agent_from_address(sent[GRACE], 1000) is None
    assert reply_matching.number_from_address(sent[GRACE]) == 1000


def test_forged_agent_forward_does_not_choose_the_requester(app, smtp, department, agent):
    forward = (b"---------- Forwarded message ---------\r\nFrom: Victor Victim <victor@customer.test>\r\n"
               b"Subject: Refund\r\n\r\nPlease refund me.")
    outcome = deliver_one(mail(b64(f"{AGENT}, ") + f" <{ATTACKER}>", subject=b"Fwd: Refund", body=forward,
                               message_id=b"<fwd@evil.example>"))

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert opened.requester.email == ATTACKER
    assert "victor@customer.test" not in [p.email for p in opened.participants]


# --------------------------------------------------------------------------- posing as a customer

CUSTOMER_SPOOFS = {
    "encoded word with her address": b64(f"{GRACE}, ") + f" <{ATTACKER}>",
    "quoted display name with her address": f'"{GRACE}" <{ATTACKER}>',
    "comment with her address": f"{ATTACKER} ({GRACE})",
    "unquoted address as display name": f"{GRACE} <{ATTACKER}>",
    "address list with her address first": f"{GRACE}, {ATTACKER}",
}


def test_forged_customer_sender_neither_posts_on_nor_reopens_her_ticket(app, smtp, department, agent):
    open_printer_ticket(smtp)
    service.close(agent, ticket(1000))
    smtp.clear()
    before = [m.id for m in ticket(1000).messages if m.kind == "customer"]
    wrong = {}
    for position, (label, from_header) in enumerate(CUSTOMER_SPOOFS.items()):
        deliver_one(mail(from_header, message_id=b"<customer-spoof-%d@evil.example>" % position))
        if ticket(1000).status != CLOSED or [m.id for m in ticket(1000).messages if m.kind == "customer"] != before:
            wrong[label] = ticket(1000).status
    assert wrong == {}
    assert mailed_to(smtp, GRACE) == []


def test_two_from_headers_naming_the_customer_are_held_for_an_agent(app, smtp, department):
    open_printer_ticket(smtp)
    smtp.clear()

    outcome = deliver_one(mail([f"Grace Customer <{GRACE}>", f"<{ATTACKER}>"], results=b""))

    assert outcome.outcome == "quarantined"
    assert "#1000" in outcome.reason and "From" in outcome.reason
    assert len([m for m in ticket(1000).messages if m.kind == "customer"]) == 1


def test_encoded_bcc_in_a_display_name_does_not_choose_a_new_tickets_requester(app, smtp, department):
    outcome = deliver_one(mail(b64("Bcc: victim@customer.test") + f" <{ATTACKER}>", subject=b"Hello",
                               to=b"support@example.test, " + b64("victim@customer.test,").encode()
                               + b" <support@example.test>"))

    assert outcome.outcome == "new_ticket"
    (opened,) = all_tickets()
    assert [p.email for p in opened.participants] == [ATTACKER]
    (acknowledgement,) = smtp.wait_for(1)
    assert str(acknowledgement["To"]).endswith(f"<{ATTACKER}>")
