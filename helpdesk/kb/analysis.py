"""Text analysers of the knowledge base index, one per language: words, lowercased the language's way,
stop words out, stemmed where a stemmer exists (whoosh's Snowball ports for en, de and hu; the
snowballstemmer package for Turkish, which whoosh lacks), then folded to plain letters so readers may
type without accents. Persian has no stemmer: its letter variants, short vowels and the zero-width
non-joiner are normalised so the spellings people type meet the ones editors wrote.

Whoosh pickles the schema into the index, so every filter here is a module-level class."""
import unicodedata
from functools import cache, lru_cache

import snowballstemmer
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang import has_stemmer, has_stopwords
from whoosh.support.charset import accent_map

LANGUAGES = ("en", "de", "tr", "hu", "fa")
_SNOWBALL_NAMES = {"tr": "turkish"}

# A word is letters and digits; the ZWNJ is kept inside Persian words and removed by the normaliser.
WORDS = r"[\w\u200c]+(\.?[\w\u200c]+)*"


def _folding_map():
    """Accents off (ü, ő, ç, ş), ß as ss, Turkish dotless i as i, one spelling of Persian yeh and kaf,
    short-vowel marks and the ZWNJ removed, Persian and Arabic digits as ASCII digits."""
    charmap = dict(accent_map)
    for code in range(0x300, 0x10000):
        if unicodedata.combining(chr(code)):
            charmap[code] = ""
    charmap.update({ord("ß"): "ss", ord("ı"): "i", 0x200C: "", ord("ي"): "ی", ord("ك"): "ک", ord("ى"): "ی",
                    ord("ة"): "ه", ord("ۀ"): "ه", ord("أ"): "ا", ord("إ"): "ا", ord("آ"): "ا", 0x640: ""})
    for digit in range(10):
        charmap[0x6F0 + digit] = str(digit)  # Persian digits
        charmap[0x660 + digit] = str(digit)  # Arabic-Indic digits
    return charmap


FOLDING = _folding_map()


class TurkishLowercaseFilter(Filter):
    """Lowercase with Turkish rules: I is ı and İ is i (str.lower() would turn İ into i plus a dot)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = token.text.replace("I", "ı").replace("İ", "i").lower()
            yield token


@cache
def _snowball(language):
    return snowballstemmer.stemmer(_SNOWBALL_NAMES[language])


@lru_cache(maxsize=50_000)
def _stem(language, word):
    return _snowball(language).stemWord(word)


class SnowballStemFilter(Filter):
    """Stems with the snowballstemmer package, for languages whoosh has no stemmer for."""

    def __init__(self, language):
        self.language = language

    def __eq__(self, other):
        return type(other) is type(self) and other.language == self.language

    def __call__(self, tokens):
        for token in tokens:
            if not token.stopped:
                token.text = _stem(self.language, token.text)
            yield token


class PersianNormaliseFilter(Filter):
    """Arabic letter variants as their Persian forms and the ZWNJ dropped, so "می‌خواهم", "میخواهم"
    and the Arabic-keyboard spelling are one word (the fold below does the mapping)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = token.text.translate(FOLDING)
            yield token


def analyser(language):
    """The analyser for text in ``language`` (one of LANGUAGES); unknown languages get the neutral one."""
    tokenizer = RegexTokenizer(WORDS)
    if language == "fa":
        return tokenizer | PersianNormaliseFilter() | LowercaseFilter()
    if language == "tr":
        chain = tokenizer | TurkishLowercaseFilter()
    elif language in LANGUAGES:
        chain = tokenizer | LowercaseFilter()
    else:
        return neutral_analyser()
    if has_stopwords(language):
        chain = chain | StopFilter(lang=language)
    if has_stemmer(language):
        chain = chain | StemFilter(lang=language, cachesize=50_000)
    elif language in _SNOWBALL_NAMES:
        chain = chain | SnowballStemFilter(language)
    return chain | CharsetFilter(FOLDING)


def neutral_analyser():
    """Words lowercased and folded, no stemming: tags, product names."""
    return RegexTokenizer(WORDS) | LowercaseFilter() | CharsetFilter(FOLDING)


def terms(language, text):
    """The index terms ``text`` becomes in ``language`` (what a search for it looks up)."""
    return [token.text for token in analyser(language)(text)]
