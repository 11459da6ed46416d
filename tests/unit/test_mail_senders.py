"""Reading who a message is from: address headers parsed on the raw header (display names decoded only
after the addresses are found), and Authentication-Results believed only from our own mail servers."""
import base64
import email.policy

import pytest

from helpdesk.mailgateway import authentication
from helpdesk.mailgateway.parsing import _address_header, _simple_address_list, parse


def b64(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def from_header(value):
    raw = b"From: " + value.encode() + b"\r\nTo: support@example.test\r\nSubject: x\r\n\r\nbody\r\n"
    return parse(raw, max_attachment_bytes=10**6)


@pytest.mark.parametrize(("header", "address"), [
    (b64("agent@example.test, ") + " <attacker@evil.example>", "attacker@evil.example"),
    (b64("<agent@example.test>") + " <attacker@evil.example>", "attacker@evil.example"),
    ("=?UTF-8?Q?agent=40example=2Etest=2C?= <attacker@evil.example>", "attacker@evil.example"),
    ('"agent@example.test" <attacker@evil.example>', "attacker@evil.example"),
    ('"Agent, agent@example.test" <attacker@evil.example>', "attacker@evil.example"),
    ("attacker@evil.example (agent@example.test)", "attacker@evil.example"),
    (b64("Bcc: victim@example.org") + " <attacker@evil.example>", "attacker@evil.example"),
])
def test_an_address_in_a_display_name_or_comment_is_never_the_sender(header, address):
    mail = from_header(header)
    assert mail.from_addr == address
    assert not mail.sender_ambiguous


def test_the_display_name_is_still_decoded_for_people_to_read():
    mail = from_header(b64("Jürgen Müller") + " <jm@example.de>")
    assert (mail.from_name, mail.from_addr) == ("Jürgen Müller", "jm@example.de")


@pytest.mark.parametrize("header", [
    "agent@example.test, attacker@evil.example",
    "Staff: agent@example.test, attacker@evil.example;",
    "agent@example.test <attacker@evil.example>",
    "undisclosed-recipients:;",
    "not an address at all",
])
def test_a_from_header_without_exactly_one_clean_address_is_ambiguous(header):
    assert from_header(header).sender_ambiguous


def test_two_from_headers_are_ambiguous():
    raw = b"From: agent@example.test\r\nFrom: attacker@evil.example\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse(raw, max_attachment_bytes=10**6).sender_ambiguous


def test_encoded_words_in_to_and_cc_display_names_add_no_recipients():
    raw = (b"From: a@x.example\r\nTo: " + b64("victim@example.org, ").encode() + b" <support@example.test>\r\n"
           b"Cc: \"c@x.example, d@y.example\" <e@z.example>\r\nSubject: x\r\n\r\nbody\r\n")
    mail = parse(raw, max_attachment_bytes=10**6)
    assert [a for _n, a in mail.to] == ["support@example.test"]
    assert [a for _n, a in mail.cc] == ["e@z.example"]


@pytest.mark.parametrize("value", [
    "Grace Customer <grace@customer.test>",
    '"Customer, Grace" <grace@customer.test>, bob@example.org',
    '"Q \\"quoted\\" name" <q@x.example>',
    "=?UTF-8?B?R3LDoWNl?= <grace@customer.test>",
    "Dr. Who <who@tardis.example>, <companion@tardis.example>",
    "a@b.example,c@d.example",
    "  spaced   name   <s@x.example>  ",
    "plain@example.org",
    "Jürgen Müller <jm@example.de>",
])
def test_the_fast_reading_of_plain_lists_agrees_with_the_full_rfc_5322_parser(value):
    fast = _simple_address_list(value, [])
    assert fast is not None, "a plain list should take the fast path"
    full = email.policy.default.header_factory("To", value)
    assert [a for _n, a in fast] == [m.addr_spec.lower() for m in full.addresses]
    assert [n for n, _a in fast] == [" ".join(m.display_name.split()) for m in full.addresses]


@pytest.mark.parametrize("value", [
    "attacker@evil.example (agent@example.test)",
    "Staff: a@x.example;",
    "agent@example.test <attacker@evil.example>",
    '"x" <"quoted@local"@evil.example>',
    "a@x.example,",
])
def test_anything_but_a_plain_list_goes_to_the_full_parser(value):
    assert _simple_address_list(value, []) is None
    assert _address_header(value, []) is not None


OURS = ["mx.example.test"]


@pytest.mark.parametrize(("headers", "failed", "domain"), [
    (["mx.example.test; dmarc=pass header.from=example.test"], False, "example.test"),
    (["mx.example.test; spf=pass smtp.mailfrom=x; dkim=pass header.d=example.test;"
      " dmarc=pass (p=reject dis=none) header.from=Example.Test"], False, "example.test"),
    (["mx.evil.example; dmarc=pass header.from=example.test"], False, None),
    (["mx.example.test; dmarc=none", "mx.example.test; dmarc=pass header.from=example.test"], False, None),
    (["mx.example.test; dmarc=fail header.from=example.test"], True, None),
    (["mx.example.test; spf=fail smtp.mailfrom=x; dkim=fail header.d=x"], True, None),
    (["mx.example.test; spf=softfail smtp.mailfrom=x; dkim=pass header.d=x"], False, None),
    (["mx.example.test (our server); dmarc=pass header.from=example.test"], False, "example.test"),
    (["mx.example.test; dmarc=pass (header.from=evil.example) header.from=example.test"], False, "example.test"),
    ([], False, None),
])
def test_authentication_results_are_believed_only_from_our_own_servers(headers, failed, domain):
    verdict = authentication.verdict(headers, OURS)
    assert (verdict.failed, verdict.dmarc_domain) == (failed, domain)


def test_a_fail_from_anyone_counts_against_the_message():
    assert authentication.verdict(["elsewhere.example; dmarc=fail header.from=example.test"], OURS).failed
