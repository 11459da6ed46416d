"""The parser survives broken mail built by Hypothesis: it returns a ParsedMail (or says the bytes are
not mail at all) and never raises anything else."""
from hypothesis import HealthCheck, given, settings

from helpdesk.mailgateway.parsing import ParsedMail, UnparseableMail, parse
from tests.hostile_mime import hostile_mail

# Derandomised: CI sees the same examples every run (a new failure is a regression, not luck).
SETTINGS = settings(max_examples=400, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(hostile_mail())
def test_broken_mime_is_read_without_an_exception(raw):
    try:
        mail = parse(raw, max_attachment_bytes=10**6)
    except UnparseableMail:
        return
    assert isinstance(mail, ParsedMail)
    assert isinstance(mail.subject, str) and isinstance(mail.text, str) and isinstance(mail.html, str)
    assert all(isinstance(a.filename, str) and isinstance(a.data, bytes) for a in mail.attachments)
    assert all(isinstance(value, str) for values in mail.headers.values() for value in values)
    assert mail.from_addr is None or "@" in mail.from_addr


def test_a_header_of_raw_8bit_bytes_is_read_as_text():
    """The library hands such a header back as an email.header.Header, not a str."""
    raw = ("From: a@x.example\r\nSubject: Gr\u00fc\u00dfe\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
           "Content-Type: application/pdf; name=\"R\u00e9sum\u00e9.pdf\"\r\n"
           "Content-Disposition: attachment; filename=\"R\u00e9sum\u00e9.pdf\"\r\nContent-ID: <\u00e9@x>\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n").encode("latin-1")
    mail = parse(raw, max_attachment_bytes=10**6)
    assert mail.subject == "Grüße"
    ((name, content_id),) = [(a.filename, a.content_id) for a in mail.attachments]
    assert (name, content_id) == ("Résumé.pdf", "é@x")
    utf8 = parse(raw.replace("R\u00e9sum\u00e9".encode("latin-1"), "Résumé".encode()), max_attachment_bytes=10**6)
    assert [a.filename for a in utf8.attachments] == ["Résumé.pdf"]
