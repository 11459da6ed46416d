"""Received chains as the servers of the world write them, read into hops: who sent, from which IP, who received,
when, and how long each hop and the whole route took. Broken dates and unreadable headers never raise."""
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.inbound.delivery import route
from helpdesk.mailgateway.delivery import received_headers


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# One real-world shape per mail server, (header, expected (sending server, IP, receiving server, time UTC)).
SHAPES = {
    "postfix": (
        "from mail.customer.example (mail.customer.example [192.0.2.10])\r\n\tby mx.helpdesk.example (Postfix) "
        "with ESMTPS id 4TqQ0A1Xk2z9sWc\r\n\tfor <support@helpdesk.example>; Mon, 2 Mar 2026 10:15:03 +0100 (CET)",
        ("mail.customer.example", "192.0.2.10", "mx.helpdesk.example", at("2026-03-02T09:15:03"))),
    "postfix-unknown-rdns": (
        "from [192.0.2.44] (unknown [192.0.2.44])\n\tby smtp.example.net (Postfix) with ESMTPSA id 7B2C1;\n"
        "\tMon,  2 Mar 2026 10:14:01 +0100 (CET)",
        (None, "192.0.2.44", "smtp.example.net", at("2026-03-02T09:14:01"))),
    "postfix-helo-differs": (
        "from laptop (dsl-198-51-100-23.isp.example [198.51.100.23])\n\tby smtp.example.net (Postfix) with ESMTP "
        "id 4Tq; Mon, 2 Mar 2026 09:14:01 +0000",
        ("dsl-198-51-100-23.isp.example", "198.51.100.23", "smtp.example.net", at("2026-03-02T09:14:01"))),
    "exim": (
        "from [203.0.113.5] (helo=laptop.example.org)\n\tby smtp.example.org with esmtpsa  (TLS1.3) tls "
        "TLS_AES_256_GCM_SHA384\n\t(Exim 4.96)\n\t(envelope-from <bob@example.org>)\n\tid 1rXyZa-000AbC-2F\n"
        "\tfor support@helpdesk.example;\n\tMon, 02 Mar 2026 09:14:58 +0000",
        ("laptop.example.org", "203.0.113.5", "smtp.example.org", at("2026-03-02T09:14:58"))),
    "exim-with-rdns": (
        "from mail.example.org ([198.51.100.9])\n\tby mx1.example.com with esmtps (TLS1.2) tls "
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.94.2) (envelope-from <a@example.org>) id 1r-0 "
        "for b@example.com; Mon, 02 Mar 2026 09:15:00 +0000",
        ("mail.example.org", "198.51.100.9", "mx1.example.com", at("2026-03-02T09:15:00"))),
    "sendmail": (
        "from host.example.com (host.example.com [192.0.2.3])\n\tby mx.example.net (8.15.2/8.15.2) with ESMTP id "
        "122E9ZQs012345\n\tfor <a@example.net>; Mon, 2 Mar 2026 04:14:12 -0500",
        ("host.example.com", "192.0.2.3", "mx.example.net", at("2026-03-02T09:14:12"))),
    "sendmail-ipv6": (
        "from host6.example.com (host6.example.com [IPv6:2001:db8::25])\n\tby mx.example.net (8.17.1/8.17.1) with "
        "ESMTPS id 122E9ZQs0; Mon, 2 Mar 2026 09:14:12 GMT",
        ("host6.example.com", "2001:db8::25", "mx.example.net", at("2026-03-02T09:14:12"))),
    "exchange-online": (
        "from AM6PR03MB1234.eurprd03.prod.outlook.com (2603:10a6:20b:1::17) by "
        "DB7PR03MB4523.eurprd03.prod.outlook.com with HTTPS; Mon, 2 Mar 2026 09:14:30 +0000",
        ("am6pr03mb1234.eurprd03.prod.outlook.com", "2603:10a6:20b:1::17",
         "DB7PR03MB4523.eurprd03.prod.outlook.com", at("2026-03-02T09:14:30"))),
    "exchange-frontdoor": (
        "from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2101.outbound.protection.outlook.com "
        "[40.107.22.101])\r\n by mx.helpdesk.example (Postfix) with ESMTPS id 4Tq\r\n for <support@helpdesk.example>; "
        "Mon,  2 Mar 2026 10:14:33 +0100 (CET)",
        ("mail-am6eur05on2101.outbound.protection.outlook.com", "40.107.22.101", "mx.helpdesk.example",
         at("2026-03-02T09:14:33"))),
    "exchange-onprem": (
        "from EXCH01.corp.example.local (10.1.2.3) by EXCH02.corp.example.local (10.1.2.4) with Microsoft SMTP "
        "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.1.2507.6; "
        "Mon, 2 Mar 2026 10:14:20 +0100",
        ("exch01.corp.example.local", "10.1.2.3", "EXCH02.corp.example.local", at("2026-03-02T09:14:20"))),
    "gmail": (
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\n        by mx.google.com with "
        "SMTPS id a640c23a62f3a-a3e5f1c2d3bsor1234567ex.13.2026.03.02.01.14.20\n        for <x@gmail.com>\n"
        "        (Google Transport Security);\n        Mon, 02 Mar 2026 01:14:20 -0800 (PST)",
        ("mail-sor-f41.google.com", "209.85.220.41", "mx.google.com", at("2026-03-02T09:14:20"))),
    "gmail-submission": (
        "by 2002:a05:6a10:8c0a:b0:4f7:a1b2:c3d4 with SMTP id k10csp123456pxb; Mon, 2 Mar 2026 01:14:19 -0800 (PST)",
        (None, None, "2002:a05:6a10:8c0a:b0:4f7:a1b2:c3d4", at("2026-03-02T09:14:19"))),
    "qmail-network": (
        "from unknown (HELO mail.example.net) (198.51.100.7)\n  by mx.example.com with SMTP; 2 Mar 2026 09:14:11 -0000",
        ("mail.example.net", "198.51.100.7", "mx.example.com", at("2026-03-02T09:14:11"))),
    "qmail-invoked": (
        "(qmail 12345 invoked by uid 89); 2 Mar 2026 09:14:10 -0000",
        (None, None, None, at("2026-03-02T09:14:10"))),
    "postfix-local": (
        "by mx.example.net (Postfix, from userid 1000) id 0A1B2C; Mon,  2 Mar 2026 10:14:00 +0100 (CET)",
        (None, None, "mx.example.net", at("2026-03-02T09:14:00"))),
    "timezone-name": (
        "from x.example.com (x.example.com [192.0.2.5]) by y.example.com with LMTP; Mon, 2 Mar 2026 04:14:00 EST",
        ("x.example.com", "192.0.2.5", "y.example.com", at("2026-03-02T09:14:00"))),
    "no-weekday-two-digit-year": (
        "from old.example.com ([192.0.2.6]) by new.example.com; 2 Mar 26 09:14:00 +0000",
        ("old.example.com", "192.0.2.6", "new.example.com", at("2026-03-02T09:14:00"))),
    "missing-date": (
        "from relay.example.com (relay.example.com [192.0.2.7]) by mx.example.com (Postfix) with ESMTP id 1A",
        ("relay.example.com", "192.0.2.7", "mx.example.com", None)),
    "garbage-date": (
        "from a.example.com (a.example.com [192.0.2.8]) by b.example.com; yesterday around noon",
        ("a.example.com", "192.0.2.8", "b.example.com", None)),
    "impossible-date": (
        "from a.example.com (a.example.com [192.0.2.8]) by b.example.com; Mon, 32 Foo 2026 99:99:99 +0000",
        ("a.example.com", "192.0.2.8", "b.example.com", None)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_servers_received_header_gives_its_sender_ip_receiver_and_time(shape):
    header, expected = SHAPES[shape]

    (hop,) = route([header]).hops

    assert (hop.sending_server, hop.sending_ip, hop.receiving_server, hop.at) == expected
    assert "\n" not in hop.raw and "\t" not in hop.raw


def test_the_chain_is_read_oldest_first_with_the_delay_of_each_hop_and_the_total():
    chain = [  # as they stand in the message: the newest (our server) on top
        "from mx.relay.example (mx.relay.example [198.51.100.1]) by mx.helpdesk.example (Postfix) with ESMTPS "
        "id 1; Mon, 2 Mar 2026 10:47:10 +0100 (CET)",
        "from smtp.customer.example (smtp.customer.example [192.0.2.20]) by mx.relay.example with ESMTP id 2; "
        "Mon, 2 Mar 2026 09:15:10 +0000",
        "from [10.0.0.15] (unknown [10.0.0.15]) by smtp.customer.example (Postfix) with ESMTPSA id 3; "
        "Mon, 2 Mar 2026 10:15:00 +0100",
    ]

    found = route(chain)

    assert [(h.number, h.sending_ip, h.receiving_server) for h in found.hops] == [
        (1, "10.0.0.15", "smtp.customer.example"), (2, "192.0.2.20", "mx.relay.example"),
        (3, "198.51.100.1", "mx.helpdesk.example")]
    assert [h.delay for h in found.hops] == [None, timedelta(seconds=10), timedelta(minutes=32)]
    assert found.total == timedelta(minutes=32, seconds=10)


def test_a_hop_without_a_date_leaves_its_delay_unknown_and_the_next_counts_from_the_last_known_time():
    chain = [
        "from b.example (b.example [192.0.2.2]) by c.example; Mon, 2 Mar 2026 09:20:00 +0000",
        "from a.example (a.example [192.0.2.1]) by b.example (Postfix) with ESMTP id 1",
        "from laptop.example ([192.0.2.9]) by a.example; Mon, 2 Mar 2026 09:15:00 +0000",
    ]

    found = route(chain)

    assert [h.delay for h in found.hops] == [None, None, timedelta(minutes=5)]
    assert found.total == timedelta(minutes=5)


def test_clocks_that_disagree_give_a_negative_delay_rather_than_an_error():
    found = route(["from b.example by c.example; Mon, 2 Mar 2026 09:14:00 +0000",
                   "from a.example by b.example; Mon, 2 Mar 2026 09:15:00 +0000"])

    assert [h.delay for h in found.hops] == [None, timedelta(minutes=-1)]


def test_no_or_unreadable_received_headers_give_no_delivery_information():
    assert route([]).hops == ()
    assert route([]).total is None
    assert not route([]).known
    assert not route(["", "   "]).known
    nonsense = route(["nonsense", "\x00\x01 ;;; ((("])
    assert not nonsense.known
    assert [h.raw for h in nonsense.hops] == ["\x00\x01 ;;; (((", "nonsense"]


def test_a_single_hop_has_no_total():
    assert route([SHAPES["postfix"][0]]).total is None


def test_undecodable_bytes_and_huge_chains_are_shown_safely():
    header = "from h\udce4ndler.example ([192.0.2.1]) by mx.example; Mon, 2 Mar 2026 09:14:00 +0000"

    (hop,) = route([header]).hops
    many = route([f"from a{n}.example by b.example; Mon, 2 Mar 2026 09:14:00 +0000" for n in range(500)])

    assert "\ufffd" in hop.raw and hop.raw.encode("utf-8")
    assert hop.sending_ip == "192.0.2.1"
    assert len(many.hops) == 60


def test_received_headers_are_read_from_the_stored_raw_mail_folded_and_in_order():
    raw = (b"Received: from b.example by c.example;\r\n\tMon, 2 Mar 2026 09:20:00 +0000\r\n"
           b"Subject: x\r\nReceived: from a.example\r\n by b.example; Mon, 2 Mar 2026 09:15:00 +0000\r\n"
           b"From: a@a.example\r\n\r\nReceived: not a header, the body\r\n")

    headers = received_headers(raw)

    assert len(headers) == 2
    assert [h.receiving_server for h in route(headers).hops] == ["b.example", "c.example"]


def test_a_message_without_headers_has_no_received_headers():
    assert received_headers(b"") == []
    assert received_headers(b"\x00\xff garbage") == []
