"""The name a browser saves a file under: one Content-Disposition header for every download we serve."""
import unicodedata
from urllib.parse import quote

from werkzeug.http import dump_options_header

from helpdesk.uploads import clean_filename

# RFC 5987 attr-char besides letters and digits: what may stay unencoded in filename*.
_ATTR_CHAR = "!#$&+-.^_`|~"


def content_disposition(filename, inline: bool = False) -> str:
    """``attachment; filename=…`` (or ``inline``), by RFC 6266: a name in any script (Chinese, Persian, emoji)
    goes in ``filename*`` as UTF-8, beside an ASCII look-alike for old clients. HTTP headers are Latin-1, so a
    bare non-Latin name cannot be sent at all; quotes, semicolons and line breaks never break the header."""
    name = clean_filename(filename, default="download")
    options = {"filename": _ascii_fallback(name)}
    if options["filename"] != name:
        options["filename*"] = "UTF-8''" + quote(name, safe=_ATTR_CHAR)
    return dump_options_header("inline" if inline else "attachment", options)


def _ascii_fallback(name: str) -> str:
    """The name in printable ASCII: accents dropped ("Müller.pdf" -> "Muller.pdf"), other letters left out, no quote
    or backslash; "download" stands in for a part of the name with nothing left ("文件.txt" -> "download.txt")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in plain)
    stem, dot, suffix = plain.rpartition(".")
    if not dot:
        stem, suffix = plain, ""
    stem = stem.strip(" .")
    suffix = suffix.strip(" .")
    return (stem or "download") + (f".{suffix}" if suffix else "")
