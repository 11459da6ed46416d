"""Find where the quoted history starts below the new text of a reply, so pages can collapse it.
Storage always keeps the whole message; this only says where the new part ends."""
import re

# "On Tue, 3 Nov 2026 at 10:00, Ann <ann@x> wrote:" and the same in our users' languages and clients.
_ATTRIBUTION = re.compile(
    r"^\s*("
    r"on\b.{0,200}\bwrote:"                                  # English (Gmail, Apple Mail, Thunderbird)
    r"|am\b.{0,200}\bschrieb.{0,100}:"                        # German
    r"|.{0,200}\b(tarihinde|zamanında)\b.{0,200}\b(yazdı|şunu yazdı):"  # Turkish
    r"|.{0,200}\bírta\b.{0,100}:"                              # Hungarian ("ezt írta (időpont: …):")
    r"|.{0,200}\bنوشت\s*:"                                    # Persian
    r")\s*$",
    re.I,
)
# Outlook and Exchange put a separator or a header block above the quoted mail.
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|ursprüngliche nachricht|orijinal ileti|eredeti üzenet|پیام اصلی)\s*-{2,}"
    r"|_{10,})\s*$", re.I)
_HEADER_BLOCK = re.compile(r"^\s*(from|von|kimden|feladó|از)\s*:\s*\S", re.I)
_SENT_LINE = re.compile(r"^\s*(sent|gesendet|gönderildi|tarih|elküldve|küldve|date|datum|ارسال|تاریخ)\s*:", re.I)


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted history). The quoted part is empty when none is found. A quote that is the
    whole message (nothing new above it) is not split off, so nothing is ever hidden entirely."""
    if not text:
        return "", ""
    lines = text.splitlines(keepends=True)
    start = _quote_start(lines)
    if start is None:
        return text, ""
    new, quoted = "".join(lines[:start]).rstrip(), "".join(lines[start:]).strip("\n")
    if not new.strip():
        return text, ""
    return new, quoted


def _quote_start(lines):
    start = _marked_quote_start(lines)
    return start if start is not None else _trailing_quote_start(lines)


def _marked_quote_start(lines):
    """The line where a quote announced by an attribution, a separator or a header block starts."""
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line) or _SEPARATOR.match(line):
            return index
        # An Outlook header block: "From: …" followed within two lines by "Sent: …".
        if _HEADER_BLOCK.match(line) and any(_SENT_LINE.match(next_line) for next_line in lines[index + 1:index + 3]):
            return index
    return None


def _trailing_quote_start(lines):
    """A trailing block of "> " lines (with blank lines between) is quoted history."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (lines[start - 1].lstrip().startswith(">") or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    if start < end and any(line.lstrip().startswith(">") for line in lines[start:end]):
        return start
    return None
