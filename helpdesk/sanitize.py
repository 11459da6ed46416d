"""The one place that decides which HTML survives: allowlists, ``clean_html`` and ``html_to_text``."""
import re
import unicodedata
from html import escape, unescape
from html.parser import HTMLParser

import bleach

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "cid"})


def _allowed_attribute(tag, name, value):
    if name in ("title", "dir", "lang"):
        return True
    if tag == "a":
        return name == "href"
    if tag == "img":
        if name in ("alt", "width", "height"):
            return True
        # Remote images track readers; only inline (cid:) and our own attachment URLs load.
        return name == "src" and (value.startswith("cid:") or value.startswith("/attachments/"))
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan")
    if tag == "ol":
        return name == "start"
    return False


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allowed_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
)
# Content of these elements is never text a person meant to send.
_DROP_WITH_CONTENT = re.compile(r"<(script|style|head|title|noscript|template)\b.*?</\1\s*>", re.I | re.S)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(text: str) -> str:
    """``text`` without control characters (NUL and the like) that no person typed; tabs and line
    breaks stay. PostgreSQL refuses NUL in text, and the others only confuse readers."""
    return _CONTROL.sub("", text) if text else text


def clean_name(text: str, limit: int = 200) -> str:
    """A name (of a person, an organisation, a department) as one line of at most ``limit`` characters:
    control characters (CR, LF, TAB, NEL U+0085, NUL...), line and paragraph separators (U+2028, U+2029) and
    other spaces become one plain space, runs of spaces collapse and the ends are trimmed. Names go into
    mail headers, where a line break would end the header (or the mail would never be built)."""
    if not text:
        return ""
    kept = "".join(" " if unicodedata.category(c) in _NAME_BREAKS else c for c in str(text))
    return " ".join(kept.split())[:limit].strip()


_NAME_BREAKS = frozenset({"Cc", "Cs", "Zl", "Zp", "Zs"})


def clean_html(html: str) -> str:
    """Return ``html`` with everything outside the allowlist removed (scripts, styles, handlers, trackers)."""
    if not html:
        return ""
    done = _cleaned_ahead.pop(html, None)
    if done is not None:
        return done
    html = _DROP_WITH_CONTENT.sub("", html)
    cleaned = _cleaner.clean(html)
    # Links open outside the helpdesk and never leak the referrer.
    return bleach.linkify(cleaned, callbacks=[_link_attrs], skip_tags={"pre", "code"}, parse_email=False)


# clean_html results worked out in the mail gateway's parser process (see remember_cleaned): the HTML as
# given to clean_html → the result. Taken out when used.
_cleaned_ahead = {}


def remember_cleaned(html: str, cleaned: str):
    """Keep ``cleaned`` (clean_html(html), computed elsewhere by this same code) for the next clean_html(html)."""
    if len(_cleaned_ahead) > 5000:  # results nobody asked for (mail that did not become a message)
        _cleaned_ahead.clear()
    _cleaned_ahead[html] = cleaned


def _link_attrs(attrs, new=False):
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    attrs[(None, "target")] = "_blank"
    return attrs


# Runs on escaped text: "<https://…>" arrives as "&lt;https://…&gt;", and the brackets are not part of the URL.
_URL = re.compile(r"\b(https?://(?:(?!&[lg]t;)[^\s<>\"'])*(?:(?!&[lg]t;)[^\s<>\"'.,;:!?)\]]))", re.I)


def text_to_html(text: str) -> str:
    """Plain text as safe HTML: escaped, paragraphs and line breaks kept, links made clickable."""
    # Escape, never strip: "Carla <carla@example.com>" or "use <br>" in plain text is content.
    escaped = escape(text or "", quote=False)
    paragraphs = re.split(r"\n\s*\n", escaped.strip())
    html = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs if p)
    # The text is escaped already, so a plain pattern can link URLs (bleach.linkify parses HTML: slow).
    return _URL.sub(r'<a href="\1" rel="nofollow noopener noreferrer" target="_blank">\1</a>', html)


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of ``html`` (for search, plain-text mail and previews)."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    text = unescape("".join(parser.parts))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
