"""Persian shaping and display order for invoice PDFs (helpdesk.billing.rtl_text): each letter takes the form its
neighbours call for, by its joining class; lam-alef is one ligature; ZWNJ breaks a join; a right-to-left line is
drawn reversed with its Latin words, numbers and invoice numbers kept in reading order and brackets mirrored."""
import pytest

from helpdesk.billing.rtl_text import (
    DUAL,
    JOIN_CAUSING,
    NON_JOINING,
    RIGHT,
    TRANSPARENT,
    display_line,
    first_strong_is_rtl,
    isolate_ltr,
    joining_type,
    shape,
)


def codes(text):
    return [f"{ord(c):04X}" for c in text]


@pytest.mark.parametrize("letter, kind", [
    ("ب", DUAL), ("پ", DUAL), ("چ", DUAL), ("گ", DUAL), ("ک", DUAL), ("ی", DUAL), ("ل", DUAL), ("ه", DUAL),
    ("ا", RIGHT), ("آ", RIGHT), ("د", RIGHT), ("ر", RIGHT), ("ژ", RIGHT), ("و", RIGHT),
    ("ء", NON_JOINING), ("\u200c", NON_JOINING), ("a", NON_JOINING), ("۱", NON_JOINING), (" ", NON_JOINING),
    ("\u0640", JOIN_CAUSING), ("\u200d", JOIN_CAUSING), ("\u064e", TRANSPARENT), ("\u0651", TRANSPARENT),
])
def test_joining_types_come_from_unicodes_own_data(letter, kind):
    assert joining_type(letter) == kind


def test_a_dual_joining_letter_takes_four_forms_by_its_neighbours():
    # ب alone, at the start, in the middle and at the end of a word.
    assert codes(shape("ب")) == ["FE8F"]
    assert codes(shape("بب")) == ["FE91", "FE90"]
    assert codes(shape("ببب")) == ["FE91", "FE92", "FE90"]


@pytest.mark.parametrize("word, expected", [
    ("پیچ", ["FB58", "FBFF", "FB7B"]),  # pe initial, yeh medial, tcheh final
    ("گچ", ["FB94", "FB7B"]),  # gaf initial, tcheh final
    ("کتاب", ["FB90", "FE98", "FE8E", "FE8F"]),  # keheh initial, teh medial, alef final, beh isolated
    ("ژاله", ["FB8A", "FE8D", "FEDF", "FEEA"]),  # jeh and alef join nothing after them
    ("ی", ["FBFC"]),  # Persian yeh isolated
    ("سی", ["FEB3", "FBFD"]),  # Persian yeh final (not Arabic yeh's FEF2)
])
def test_persian_letters_take_their_own_presentation_forms(word, expected):
    assert codes(shape(word)) == expected


def test_a_right_joining_letter_joins_only_what_comes_before_it():
    # دو: dal never joins the waw after it; both isolated. بد: dal takes its final form.
    assert codes(shape("دو")) == ["FEA9", "FEED"]
    assert codes(shape("بد")) == ["FE91", "FEAA"]


@pytest.mark.parametrize("word, expected", [
    ("لا", ["FEFB"]), ("لآ", ["FEF5"]), ("لأ", ["FEF7"]), ("لإ", ["FEF9"]),
    ("سلام", ["FEB3", "FEFC", "FEE1"]),  # joined to the seen before it: the final ligature
    ("الله", ["FE8D", "FEDF", "FEE0", "FEEA"]),  # lam lam heh: no alef after lam, no ligature
])
def test_lam_alef_is_one_ligature(word, expected):
    assert codes(shape(word)) == expected


def test_zwnj_breaks_the_join_and_is_never_drawn():
    shaped = shape("می‌خواهم")
    assert codes(shaped) == ["FEE3", "FBFD", "200C", "FEA7", "FEEE", "FE8D", "FEEB", "FEE2"]
    assert "\u200c" not in display_line("می‌خواهم", True)


def test_marks_are_transparent_to_joining():
    # بَب: the fatha between the two behs does not break their join.
    assert codes(shape("ب\u064eب")) == ["FE91", "064E", "FE90"]


def test_tatweel_makes_the_letters_around_it_join():
    assert codes(shape("ب\u0640")) == ["FE91", "0640"]


def test_a_form_the_font_lacks_falls_back_to_the_letter():
    assert shape("بب", available=lambda char: char != "\ufe90") == "\ufe91ب"


def test_latin_digits_and_spaces_pass_through():
    assert shape("Web hosting 12.50 €") == "Web hosting 12.50 €"


def test_a_persian_line_is_drawn_reversed():
    # "رضا محمدی" drawn left to right: yeh first, reh last.
    assert codes(display_line("رضا محمدی", True)) == ["FBFC", "FEAA", "FEE4", "FEA4", "FEE3", "0020", "FE8E",
                                                    "FEBF", "FEAD"]


def test_latin_words_and_numbers_keep_their_order_inside_persian_text():
    line = display_line("قرارداد خدمات (example.hu) ۱۲۳ سال", True)
    assert "example.hu" in line and "۱۲۳" in line
    # Brackets are mirrored in the right-to-left run, so on paper they still enclose the name.
    assert "(example.hu)" in line
    assert line.index("۱۲۳") < line.index("example.hu")  # read right to left: the name before the number


def test_an_isolated_invoice_number_reads_as_typed_after_persian_text():
    assert "2026-000123" in display_line("شماره: " + isolate_ltr("2026-000123"), True)
    # Without the isolate the bidi algorithm would show 000123-2026 after Arabic letters: the isolate is why.
    assert "000123-2026" in display_line("شماره: 2026-000123", True)


def test_a_latin_line_in_a_left_to_right_paragraph_is_unchanged():
    assert display_line("Carla Kunde, Hauptstraße 5", False) == "Carla Kunde, Hauptstraße 5"


def test_a_persian_name_inside_a_latin_line_is_shaped_and_reversed():
    assert display_line("Buyer: رضا", False) == "Buyer: \ufe8e\ufebf\ufead"


def test_a_texts_own_direction_is_its_first_strong_letter():
    assert first_strong_is_rtl("۱۲ قرارداد")
    assert not first_strong_is_rtl("Web hosting قرارداد")
    assert not first_strong_is_rtl("2026-000123")
    assert first_strong_is_rtl(isolate_ltr("DE89") + " بانک")  # what an isolate holds is skipped
    assert display_line("Can you check?") == "Can you check?"
