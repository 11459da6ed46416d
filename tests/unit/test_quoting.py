"""Quoted history below a reply is found (to collapse it), in our users' languages and mail clients."""
import pytest

from helpdesk.tickets.quoting import split_quoted

CASES = {
    "gmail_en": ("Thanks, that fixed it.\n\nOn Tue, 3 Nov 2026 at 10:00, Support <support@example.com> wrote:\n"
                 "> Please restart the router.\n", "Thanks, that fixed it."),
    "thunderbird_de": ("Danke, jetzt geht es.\n\nAm 03.11.26 um 10:00 schrieb Support:\n> Bitte neu starten.\n",
                       "Danke, jetzt geht es."),
    "turkish": ("Teşekkürler, sorun çözüldü.\n\n3 Kas 2026 Sal, 10:00 tarihinde Destek <destek@example.com> "
                "şunu yazdı:\n> Lütfen yeniden başlatın.\n", "Teşekkürler, sorun çözüldü."),
    "hungarian": ("Köszönöm, működik.\n\nSupport <support@example.com> ezt írta (időpont: 2026. nov. 3., K, "
                  "10:00):\n> Kérem, indítsa újra.\n", "Köszönöm, működik."),
    "persian": ("ممنون، درست شد.\n\nپشتیبانی در تاریخ ۳ نوامبر نوشت:\n> لطفاً دوباره راه‌اندازی کنید.\n",
                "ممنون، درست شد."),
    "outlook": ("Works now.\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\nSubject: Re: VPN\n\n"
                "Please restart.\n", "Works now."),
    "outlook_header_block": ("Geht wieder.\n\nVon: Support <support@example.com>\nGesendet: Dienstag, 3. November\n"
                             "An: Kunde\nBetreff: VPN\n\nBitte neu starten.\n", "Geht wieder."),
    "plain_angle_quotes": ("Still broken.\n\n> Please restart.\n>\n> Regards\n", "Still broken."),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_new_text_is_separated_from_the_quoted_history(name):
    text, expected_new = CASES[name]
    new, quoted = split_quoted(text)
    assert new == expected_new
    assert quoted and quoted in text
    assert new + quoted != ""  # nothing lost: both parts come from the stored text


def test_signature_stays_with_the_new_text():
    text = "Thanks!\n\n-- \nAnn Example\nACME GmbH\n\nOn Mon, Ann wrote:\n> old\n"
    new, _quoted = split_quoted(text)
    assert new.endswith("ACME GmbH")


def test_inline_answers_between_quotes_are_not_hidden():
    text = "> Which version?\n3.2\n> Which OS?\nDebian 12\n"
    assert split_quoted(text) == (text, "")


def test_a_message_that_is_only_a_quote_is_shown_whole():
    text = "> only quoted text\n> nothing new\n"
    assert split_quoted(text) == (text, "")


def test_text_without_quotes_is_unchanged():
    assert split_quoted("Hello,\nplease help.\n") == ("Hello,\nplease help.\n", "")
