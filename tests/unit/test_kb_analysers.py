"""The knowledge base's per-language analysers: a reader's word and the article's word meet in one index term
when they are forms of each other (en, de, tr, hu stemming), whatever the accents; Persian spellings meet
whether typed with Arabic or Persian letters, with or without the zero-width non-joiner."""
import pytest

from helpdesk.search.whoosh_backend import terms


@pytest.mark.parametrize(("language", "written", "searched"), [
    ("en", "Printers", "printer"),
    ("en", "installing", "installed"),
    ("de", "Druckeranleitungen", "Druckeranleitung"),
    ("de", "Häuser", "Haus"),
    ("tr", "kitaplarımızı", "kitap"),
    ("tr", "evlerde", "ev"),
    ("hu", "nyomtatók", "nyomtatóval"),
    ("hu", "házakban", "ház"),
])
def test_forms_of_a_word_share_a_term(language, written, searched):
    assert terms(language, written) == terms(language, searched)


def test_readers_may_leave_out_accents():
    assert terms("de", "Schlüssel") == terms("de", "Schlussel")
    assert terms("hu", "tükörfúrógép") == terms("hu", "tukorfurogep")


def test_turkish_capital_i_lowercases_the_turkish_way():
    assert terms("tr", "İSTANBUL") == terms("tr", "istanbul")
    assert terms("tr", "IŞIK") == terms("tr", "ışık")


def test_stop_words_are_not_indexed():
    assert terms("en", "the printer") == terms("en", "printer")
    assert terms("de", "der Drucker") == terms("de", "Drucker")


def test_persian_letter_variants_and_zero_width_non_joiner_meet():
    arabic_keyboard = "كتاب‌هاي"  # Arabic kaf and yeh, with a ZWNJ
    persian_keyboard = "کتابهای"
    assert terms("fa", arabic_keyboard) == terms("fa", persian_keyboard)
    assert terms("fa", "می‌خواهم کتاب") == ["میخواهم", "کتاب"]


def test_persian_digits_are_searchable_as_ascii_digits():
    assert terms("fa", "مدل ۵۰۰") == terms("fa", "مدل 500")
