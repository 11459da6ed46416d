"""Persian (Arabic-script) text made drawable by a PDF library that draws one glyph per character and left to right:
letters shaped into their contextual presentation forms (``shape``) and each line put in display order
(``display_line``). uharfbuzz is not available, so this is our own small shaper: enough for invoice texts (names,
addresses, product names, amounts), not a full OpenType engine (no marks positioning, no optional ligatures).

Shaping: each letter takes its isolated, initial, medial or final form (Unicode's Arabic Presentation Forms A and B,
U+FB50–U+FDFF and U+FE70–U+FEFF) by its joining type and its neighbours'; lam followed by alef is one ligature.
The forms and the joining types are read from Unicode's own data (each presentation form's decomposition names its
letter and form), so Persian's پ چ ژ گ ک ی are covered like every Arabic letter.

Ordering: the Unicode bidirectional algorithm (fpdf2's implementation of UAX #9) on the shaped line; characters at
odd (right-to-left) levels are mirrored ("(" drawn as ")"), and the invisible controls left out."""
import unicodedata
from functools import lru_cache

from fpdf.bidi import BIDI_BRACKETS, BidiParagraph
from fpdf.enums import TextDirection

ISOLATED, FINAL, INITIAL, MEDIAL = "isolated", "final", "initial", "medial"
# Joining types (Unicode's ArabicShaping.txt): dual-joining, right-joining, non-joining, join-causing, transparent.
DUAL, RIGHT, NON_JOINING, JOIN_CAUSING, TRANSPARENT = "D", "R", "U", "C", "T"

ZWNJ, ZWJ, TATWEEL = "\u200c", "\u200d", "\u0640"
LAM = "\u0644"
# Lam + an alef → the ligature's (isolated, final) forms.
LAM_ALEF = {"\u0622": ("\ufef5", "\ufef6"), "\u0623": ("\ufef7", "\ufef8"), "\u0625": ("\ufef9", "\ufefa"),
            "\u0627": ("\ufefb", "\ufefc")}
# Isolates put around a Latin value (an invoice number, an IBAN) so it reads as typed inside Persian text.
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"
_MIRRORED = {**{c: v["pair"] for c, v in BIDI_BRACKETS.items()}, "<": ">", ">": "<", "«": "»", "»": "«",
             "‹": "›", "›": "‹"}
_PRESENTATION_RANGES = (range(0xFB50, 0xFE00), range(0xFE70, 0xFF00))
_TAGS = {"<isolated>": ISOLATED, "<final>": FINAL, "<initial>": INITIAL, "<medial>": MEDIAL}


@lru_cache(maxsize=1)
def presentation_forms() -> dict:
    """letter → {form: presentation-form character}, from the decompositions of the presentation-form blocks."""
    forms = {}
    for block in _PRESENTATION_RANGES:
        for code in block:
            parts = unicodedata.decomposition(chr(code)).split()
            if len(parts) == 2 and parts[0] in _TAGS:
                forms.setdefault(chr(int(parts[1], 16)), {}).setdefault(_TAGS[parts[0]], chr(code))
    return forms


def joining_type(char: str) -> str:
    """The letter's joining type: dual when it has initial and medial forms, right when only final ones, join-causing
    for tatweel and ZWJ, transparent for combining marks (harakat), non-joining for everything else (ZWNJ, spaces,
    Latin, digits, hamza)."""
    if char in (TATWEEL, ZWJ):
        return JOIN_CAUSING
    forms = presentation_forms().get(char)
    if forms:
        if INITIAL in forms or MEDIAL in forms:
            return DUAL
        return RIGHT if FINAL in forms else NON_JOINING
    if unicodedata.category(char) in ("Mn", "Me"):
        return TRANSPARENT
    return NON_JOINING


def _neighbour(text, index, step):
    """The joining type of the nearest non-transparent character from ``index`` in direction ``step``."""
    index += step
    while 0 <= index < len(text):
        kind = joining_type(text[index])
        if kind != TRANSPARENT:
            return kind, index
        index += step
    return NON_JOINING, None


def _form(joins_before: bool, joins_after: bool) -> str:
    if joins_before and joins_after:
        return MEDIAL
    if joins_after:
        return INITIAL
    return FINAL if joins_before else ISOLATED


def _pick(char, wanted, available):
    """The presentation form ``wanted`` of ``char`` when it exists (and ``available`` says the font has it), else
    the nearest that does (medial → final, initial → isolated), else the letter itself."""
    forms = presentation_forms().get(char, {})
    for form in (wanted, FINAL if wanted == MEDIAL else ISOLATED if wanted == INITIAL else None):
        glyph = forms.get(form) if form else None
        if glyph and (available is None or available(glyph)):
            return glyph
    return char


def shape(text: str, available=None) -> str:
    """``text`` (logical order) with every Arabic-script letter replaced by its contextual presentation form and
    lam-alef by its ligature. ``available(char)``, when given, says whether the font draws a form; a form it lacks
    falls back to the letter. Other characters are kept; ZWNJ and ZWJ stay (they are dropped when displayed)."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        kind = joining_type(char)
        if kind not in (DUAL, RIGHT):
            out.append(char)
            index += 1
            continue
        before, _ = _neighbour(text, index, -1)
        joins_before = before in (DUAL, JOIN_CAUSING)
        if char == LAM and index + 1 < len(text) and text[index + 1] in LAM_ALEF:
            ligature = LAM_ALEF[text[index + 1]][1 if joins_before else 0]
            out.append(ligature if available is None or available(ligature) else char + text[index + 1])
            index += 2
            continue
        after, _ = _neighbour(text, index, 1)
        joins_after = kind == DUAL and after in (DUAL, RIGHT, JOIN_CAUSING)
        out.append(_pick(char, _form(joins_before, joins_after), available))
        index += 1
    return "".join(out)


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds any right-to-left character (Arabic script, Hebrew)."""
    return any(unicodedata.bidirectional(c) in ("AL", "R") for c in text or "")


def isolate_ltr(text: str) -> str:
    """``text`` wrapped in a left-to-right isolate: an invoice number, an IBAN or a reference inside a Persian line
    keeps its order ("2026-000123", never "000123-2026")."""
    return f"{LRI}{text}{PDI}" if text else ""


def _drawn(char: str) -> bool:
    """Whether a character is drawn: the bidi and joining controls only steer shaping and ordering."""
    return unicodedata.category(char) != "Cf"


def first_strong_is_rtl(text: str) -> bool:
    """Whether ``text``'s first strong letter (outside isolates) is right-to-left: its own direction, as HTML's
    dir="auto" finds it (UAX #9 rules P2 and P3). Text without letters is left to right."""
    depth = 0
    for char in text or "":
        kind = unicodedata.bidirectional(char)
        if kind in ("LRI", "RLI", "FSI"):
            depth += 1
        elif kind == "PDI":
            depth = max(depth - 1, 0)
        elif depth == 0 and kind in ("L", "R", "AL"):
            return kind != "L"
    return False


def display_line(text: str, rtl: bool | None = None, available=None) -> str:
    """One line of ``text`` (logical order, no line breaks) as it is drawn left to right: shaped, reordered by the
    bidirectional algorithm in a right-to-left (``rtl``) or left-to-right paragraph (``rtl`` None: the text's own
    direction, by its first strong letter), brackets mirrored in right-to-left runs, controls left out. A line with
    no right-to-left character in a left-to-right paragraph is returned as it is (the common case, and the fast
    one). ``available`` is shape's."""
    if not text:
        return ""
    if rtl is None:
        rtl = first_strong_is_rtl(text)
    if not rtl and not has_rtl(text):
        return "".join(c for c in text if _drawn(c))
    shaped = shape(text, available)
    paragraph = BidiParagraph(shaped, base_direction=TextDirection.RTL if rtl else TextDirection.LTR)
    characters = paragraph.get_reordered_characters()
    return "".join(_MIRRORED.get(c.character, c.character) if c.embedding_level % 2 else c.character
                   for c in characters if _drawn(c.character))
