"""parse() and decode_text() on the real mail in tests/data/mail: headers, charsets, bodies, attachments
and bounces, without a database."""
from pathlib import Path

import pytest

from helpdesk.mailgateway.parsing import UnparseableMail, decode_text, parse

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
LIMIT = 20 * 1024 * 1024
ACK_PLACEHOLDER = "<ACK-MESSAGE-ID@placeholder.invalid>"


def parsed(name, limit=LIMIT):
    return parse((CORPUS / name).read_bytes(), max_attachment_bytes=limit)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml") if p.name != "garbage.eml"))
def test_every_corpus_mail_parses_without_replacement_characters(name):
    mail = parsed(name)

    for text in (mail.subject, mail.from_name, mail.text, mail.html):
        assert "\ufffd" not in text
    assert "\r" not in mail.text + mail.html


@pytest.mark.parametrize("name, subject", [
    ("subject_de.eml", "Rechnung für März: Größe der Lieferung stimmt nicht"),
    ("subject_tr.eml", "Şifremi unuttum, giriş yapamıyorum"),
    ("subject_hu.eml", "Árvíztűrő tükörfúrógép: hibás számla"),
    ("subject_fa.eml", "درخواست بازپرداخت برای سفارش ۴۷۱۱"),
    ("reply_subject_va.eml", "Vá: [#1000] We received your request: Printer on fire"),
    ("undeclared_8bit_turkish.eml", "Şifre sıfırlama çalışmıyor"),
])
def test_encoded_subjects_are_decoded(name, subject):
    assert parsed(name).subject == subject


@pytest.mark.parametrize("name, sender", [
    ("subject_de.eml", ("Jürgen Müller", "juergen@kunde.test")),
    ("subject_tr.eml", ("Ayşe Yılmaz", "ayse@musteri.test")),
    ("subject_hu.eml", ("Kovács Éva", "eva@ugyfel.test")),
    ("subject_fa.eml", ("رضا محمدی", "reza@moshtari.test")),
])
def test_encoded_sender_names_are_decoded(name, sender):
    mail = parsed(name)

    assert (mail.from_name, mail.from_addr) == sender


@pytest.mark.parametrize("name, line", [
    ("body_iso_8859_2.eml", "Az árvíztűrő tükörfúrógép számlája hibás, kérem javítsák."),
    ("body_windows_1254.eml", "şifre sıfırlama bağlantısı çalışmıyor; İstanbul ofisinde de aynı sorun var."),
    ("body_koi8_r.eml", "Принтер не печатает, горит красная лампочка."),
    ("subject_de.eml", "die Rechnung für März enthält die falsche Größe."),
    ("agent_forward_inline_outlook_de.eml", "Bitte übernehmen."),
])
def test_bodies_in_declared_charsets_are_decoded(name, line):
    assert line in parsed(name).text.splitlines()


def test_undeclared_8bit_body_is_decoded_with_the_charset_of_the_subject():
    mail = parsed("undeclared_8bit_turkish.eml")

    assert mail.text == ("Merhaba,\n\nşifre sıfırlama bağlantısı çalışmıyor; İstanbul ofisinde de aynı sorun var.\n\n"
                         "İyi çalışmalar,\nAyşe Yılmaz")


TURKISH = "şifre sıfırlama bağlantısı çalışmıyor; İstanbul ofisinde de aynı sorun var."


def test_decode_text_uses_the_declared_charset_first():
    assert decode_text("Ölçü".encode("iso-8859-9"), "iso-8859-9") == "Ölçü"
    assert decode_text("Größe".encode("cp1252"), "iso-8859-1") == "Größe"


def test_decode_text_uses_a_charset_seen_elsewhere_in_the_message_when_none_is_declared():
    assert decode_text(TURKISH.encode("cp1254"), None, hints=("windows-1254",)) == TURKISH


def test_decode_text_falls_back_when_the_declared_charset_is_wrong_or_unknown():
    assert decode_text(TURKISH.encode("utf-8"), "us-ascii") == TURKISH
    assert decode_text(TURKISH.encode("utf-8"), "x-no-such-charset") == TURKISH


@pytest.mark.parametrize("charset, text", [
    ("cp1254", f"Merhaba,\n\n{TURKISH}\n\nİyi çalışmalar,\nAyşe Yılmaz\n"),
    ("iso-8859-2", "Tisztelt Ügyfélszolgálat!\n\nAz árvíztűrő tükörfúrógép számlája hibás, kérem javítsák.\n\n"
                   "Üdvözlettel,\nKovács Éva\n"),
    ("koi8-r", "Здравствуйте!\n\nПринтер не печатает, горит красная лампочка.\n\nС уважением,\nОльга Петрова\n"),
])
def test_decode_text_detects_legacy_charsets_of_a_whole_message_without_any_hint(charset, text):
    # A single short line is not enough to tell Windows-1254 from Windows-1250: that is what the hints are for.
    assert decode_text(text.encode(charset), None) == text


def test_crlf_line_endings_give_the_same_text_as_lf():
    lf, crlf = parsed("duplicate_via_mx1.eml"), parsed("duplicate_via_mx2_crlf.eml")

    assert crlf.text == lf.text == "Our scanner sends every page twice.\n\nBest regards\nHans"
    assert crlf.message_id == lf.message_id == "<dup.scanner.20240307@kunde.test>"


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml") if p.name != "garbage.eml"))
def test_mail_read_over_imap_with_crlf_parses_like_the_same_mail_from_a_file(name):
    lf = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n")
    from_file, over_imap = (parse(raw, max_attachment_bytes=LIMIT) for raw in (lf, lf.replace(b"\n", b"\r\n")))

    for field in ("subject", "from_addr", "from_name", "message_id", "in_reply_to", "references", "to", "cc", "text",
                  "html", "bounced_message_id"):
        assert getattr(over_imap, field) == getattr(from_file, field), field
    # Text attachments keep the line endings they came with (MIME's canonical form is CRLF); binary ones are equal.
    def attachments(mail):
        return [(a.filename, a.content_type, a.content_id,
                 a.data.replace(b"\r\n", b"\n") if a.content_type.startswith("text/") else a.data)
                for a in mail.attachments]

    assert attachments(over_imap) == attachments(from_file)


def test_folded_message_id_of_exchange_online_is_read():
    mail = parsed("exchange_via_mx1.eml")

    assert mail.message_id == "<DB7PR03MB4523B33F6D8F0A9E0E0C2F5CC9B99@DB7PR03MB4523.eurprd03.prod.outlook.com>"
    assert mail.text.startswith('Hello,\n\nthe licence key from our order 2024-0311 is not accepted: "Key invalid')


def test_threading_headers_and_recipients_are_read():
    reply = parsed("thread_2_reply.eml")
    assert reply.in_reply_to == reply.references == ("<drucker.original@kunde.test>",)

    with_cc = parsed("new_ticket_with_cc.eml")
    assert with_cc.to == (("Example Support", "support@example.test"), ("Colleague, Dana", "dana@customer.test"))
    assert with_cc.cc == (("", "erik@customer.test"), ("Helpdesk", "helpdesk@example.test"))
    assert parsed("new_ticket.eml").delivered_to == ("support@example.test",)


def test_html_only_mail_has_html_and_no_text_part():
    mail = parsed("html_only.eml")

    assert mail.text == ""
    assert "my order <b>4711</b> has not arrived yet." in mail.html


def test_inline_image_is_an_attachment_with_its_content_id():
    mail = parsed("inline_image.eml")

    (image,) = mail.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "error.png", "image/png", "part1.error@mail.customer.test", True)
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert 'src="cid:part1.error@mail.customer.test"' in mail.html
    assert mail.text.startswith("This is what the screen shows:")


def test_forwarded_message_stays_an_attachment_and_out_of_the_text():
    mail = parsed("forwarded_message_attached.eml")

    assert mail.text == "The shop says it has shipped, but nothing arrived. See the attached mail."
    (forwarded,) = mail.attachments
    assert (forwarded.filename, forwarded.content_type) == ("Your order 4711 has shipped.eml", "message/rfc822")
    assert b"tracking number 00340434161094042557" in forwarded.data
    assert parse(forwarded.data, max_attachment_bytes=LIMIT).message_id == "<order-4711-shipped@shop.test>"


def test_text_attachment_beside_a_text_body_is_kept_apart_from_it():
    mail = parsed("text_attachment.eml")

    assert mail.text == "The printer log is attached."
    (log,) = mail.attachments
    assert (log.filename, log.content_type) == ("printer.log", "text/plain")
    assert log.data.startswith(b"2024-03-08 09:00:01 ERROR")


def test_winmail_dat_is_an_attachment():
    (winmail,) = parsed("winmail_dat.eml").attachments

    assert (winmail.filename, winmail.content_type) == ("winmail.dat", "application/ms-tnef")
    assert winmail.data.startswith(b"\x78\x9f\x3e\x22")


def test_attachment_over_the_limit_is_listed_as_dropped():
    mail = parsed("text_attachment.eml", limit=100)

    assert mail.attachments == ()
    assert mail.dropped == (("printer.log", 122),)
    assert mail.text == "The printer log is attached."


@pytest.mark.parametrize("name", ["bounce_dsn_rfc822.eml", "bounce_dsn_headers_only.eml"])
def test_bounce_names_the_message_it_is_about(name):
    mail = parsed(name)

    assert mail.content_type == "multipart/report"
    assert mail.bounced_message_id == ACK_PLACEHOLDER
    assert "Status: 5.1.1" in mail.delivery_status


def test_ordinary_mail_is_no_bounce():
    mail = parsed("forwarded_message_attached.eml")

    assert (mail.bounced_message_id, mail.delivery_status) == (None, "")


def test_mail_without_from_has_no_sender():
    mail = parsed("missing_from.eml")

    assert (mail.from_addr, mail.from_name, mail.reply_to) == (None, "", ())
    assert mail.subject == "Scan from MFP-3"


@pytest.mark.parametrize("raw", [(CORPUS / "garbage.eml").read_bytes(), b"", b"\r\n\r\n"])
def test_bytes_that_are_no_mail_are_refused(raw):
    with pytest.raises(UnparseableMail):
        parse(raw, max_attachment_bytes=LIMIT)
