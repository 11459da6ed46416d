"""Outgoing mail is serialised byte for byte as the email package's own header handling writes it, though
the MIME headers (the same few values in every message) take a shorter way (``mailer._Policy``)."""
import email.policy
import random
from datetime import UTC, datetime

import pytest

from helpdesk import storage
from helpdesk.notify import mailer
from helpdesk.notify.models import OutboxEmail


class _Reference(email.policy.EmailPolicy):
    """The policy as it was before the MIME headers took the shorter way: plain ASCII headers kept as given,
    everything else through the header registry."""

    def header_store_parse(self, name, value):
        if (type(value) is str and value.isascii() and "\r" not in value and "\n" not in value
                and not name.lower().startswith(("content-", "mime-"))):
            return name, value
        return super().header_store_parse(name, value)


REFERENCE = _Reference(max_line_length=998)
LONG_LINE = "word " * 300  # one line of 1,500 characters: quoted-printable or base64, not 7bit
ROWS = [
    {"subject": "Your ticket #1001", "body_text": "Hello,\n\nwe have your message.\n", "body_html": None},
    {"subject": "Re: Fan noise", "recipient_name": "Zoe Quinn", "body_text": "Thanks.\n",
     "body_html": "<p>Thanks.</p>"},
    {"subject": "Ihre Anfrage: Lüfter zu laut", "recipient_name": "Jürgen Groß",
     "body_text": "Grüße aus dem Support\n", "body_html": "<p>Grüße</p>"},
    {"subject": "درخواست شما ثبت شد", "recipient_name": "مریم احمدی", "body_text": "سلام\n" + LONG_LINE,
     "body_html": "<p dir=\"rtl\">سلام</p>"},
    {"subject": "Talebiniz alındı " + "ğüşiöç " * 40, "recipient_name": "Ayşe \"Doe\", Jr.",
     "body_text": LONG_LINE, "body_html": "<p>" + LONG_LINE + "</p>"},
    {"subject": "Kérése: " + "x" * 1200, "recipient_name": "Kovács Éva", "body_text": "Ügyfélszolgálat\r\n.\r\n",
     "body_html": None, "headers": {"In-Reply-To": "<" + "a" * 150 + "@outlook.example>",
                                    "References": " ".join(f"<ref{n}-{'b' * 60}@mail.example>" for n in range(12)),
                                    "Auto-Submitted": "auto-replied"}},
    {"subject": "Invoice", "body_text": "See attached.\n", "body_html": "<p>See attached.</p>",
     "attachments": [("invoice 2026.pdf", "application/pdf"), ("fatura-ödeme.pdf", "application/pdf"),
                     ("صورتحساب.txt", "text/plain"), ("x" * 300 + ".bin", None)]},
]


def _row(number, values):
    values = dict(values)
    attachments = [{"key": storage.put(f"file {name}".encode() * 50)[0], "filename": name, "content_type": kind}
                   for name, kind in values.pop("attachments", [])]
    return OutboxEmail(id=number, created_at=datetime(2026, 12, 4, 8, 30, tzinfo=UTC),
                       message_id=f"<out-{number}@helpdesk.example>", sender="Support <support@example.test>",
                       recipient=f"customer{number}@client.example", recipient_name=values.pop("recipient_name", ""),
                       attachments=attachments, headers=values.pop("headers", {}), **values)


@pytest.mark.parametrize("number", range(len(ROWS)))
def test_each_message_is_written_as_the_header_registry_writes_it(app, monkeypatch, number):
    row = _row(number, ROWS[number])
    written = []
    for policy in (REFERENCE, mailer.POLICY):
        monkeypatch.setattr(mailer, "POLICY", policy)
        for _twice in range(2):  # the second time with the MIME headers already parsed once
            msg = mailer.build_message(row)
            random.seed(number)  # the same multipart boundaries
            as_bytes = msg.as_bytes()
            random.seed(number)
            written.append((as_bytes, msg.as_string()))

    assert len(set(written)) == 1
    as_bytes, _as_string = written[0]
    expected = b"Content-Type: multipart/" if ROWS[number]["body_html"] else b"Content-Type: text/plain"
    assert expected in as_bytes
