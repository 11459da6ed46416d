"""The one folding of text that ticket and knowledge base search share, whatever the backend: what a word
becomes so that people may type it without accents and in any of the spellings our languages allow.

- case: lowercased (Turkish I/İ the Turkish way where the text is known to be Turkish: ``lower``);
- diacritics: off (ü, ő, ç, ş, é as u, o, c, s, e), combining marks dropped, ß as ss, dotless ı as i, and
  the Latin letters with a stroke that have no decomposition (ø, ł, đ, ...) as their plain letter;
- Persian and Arabic: Arabic yeh, alef maksura and kaf as Persian yeh and kaf, teh marbuta and heh with
  yeh as heh, alef with hamza or madda as alef, the tatweel and the zero-width non-joiner dropped, short
  vowel marks dropped (they are combining marks);
- digits: Persian (۰-۹) and Arabic-Indic (٠-٩) digits as ASCII digits.

Pure Python (``str.translate``), so a backend that analyses text elsewhere (a database's full-text
search) can fold documents and queries the same way before it hands them over."""
import re
import unicodedata

LANGUAGES = ("en", "de", "tr", "hu", "fa")

# A word is letters and digits, with inner dots (version numbers, host names); the ZWNJ belongs to a
# Persian word, so it is kept here and dropped by the fold.
WORDS = r"[\w\u200c]+(\.?[\w\u200c]+)*"
WORD = re.compile(WORDS)

# Letters Unicode does not decompose into a base letter and a mark.
_PLAIN_LETTERS = {
    "ß": "ss", "ı": "i", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ŀ": "l", "ħ": "h", "ŧ": "t",
    "æ": "ae", "œ": "oe",
}
_PERSIAN_LETTERS = {
    "ي": "ی", "ى": "ی", "ك": "ک",  # Arabic keyboard letters as Persian ones
    "ة": "ه", "ۀ": "ه",  # teh marbuta, heh with yeh
    "أ": "ا", "إ": "ا", "آ": "ا",  # alef with hamza or madda
    "\u0640": "",  # tatweel (stretches a word, means nothing)
    "\u200c": "",  # zero-width non-joiner: "می‌خواهم" and "میخواهم" are one word
}
# Latin (with its extensions), Greek and Cyrillic: the blocks where a letter decomposes into a base letter
# and accents.
_DECOMPOSED_BLOCKS = ((0x80, 0x250), (0x370, 0x530), (0x1E00, 0x1F00))


def _folding_map() -> dict:
    charmap = {}
    for start, end in _DECOMPOSED_BLOCKS:
        for code in range(start, end):
            base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
            if base and base != chr(code):
                charmap[code] = base.lower()
    for code in range(0x300, 0x10000):
        if unicodedata.combining(chr(code)):
            charmap[code] = ""
    for letter, plain in (_PLAIN_LETTERS | _PERSIAN_LETTERS).items():
        charmap[ord(letter)] = plain
    for digit in range(10):
        charmap[0x6F0 + digit] = str(digit)  # Persian
        charmap[0x660 + digit] = str(digit)  # Arabic-Indic
    return charmap


FOLDING = _folding_map()


def lower(text: str, language: str | None = None) -> str:
    """``text`` lowercased, the Turkish way for Turkish (I is ı, İ is i; str.lower() would give i and a dot)."""
    if language == "tr":
        text = text.replace("I", "ı").replace("İ", "i")
    return text.lower()


def fold(text: str, language: str | None = None) -> str:
    """``text`` lowercased and folded: what index and query both compare."""
    return lower(text, language).translate(FOLDING)


def words(text: str) -> list[str]:
    """The words of ``text`` as written (see WORDS)."""
    return [match.group() for match in WORD.finditer(text)]
