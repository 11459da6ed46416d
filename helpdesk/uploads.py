"""What a file sent to us (an upload, a mail attachment, a KB video) is called once stored, and whether it is a
program. One name normalisation serves the blocked-program check and the storage, so both see the same name."""
import re
import unicodedata
from pathlib import PurePosixPath

NAME_MAX = 255  # the filename columns' length
# Longest last extension kept when a long name is shortened (".docx", ".tar.gz" parts are far shorter).
_SUFFIX_KEPT = 16
# An NTFS alternate data stream written after the name ("evil.vbs::$DATA", "a.txt:hidden:$DATA"): Windows opens
# the file before the colon, so the stream part is dropped and the name is checked and stored without it.
_NTFS_STREAM = re.compile(r"(?::[^:]*)?:\$[A-Za-z_]+\s*$")
# Executables are refused by their first bytes too: a renamed program is still a program.
EXECUTABLE_MAGIC = (
    b"MZ",  # Windows (PE) and DOS programs
    b"\x7fELF",  # Linux and other Unix programs
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # Mach-O 32-bit (big- and little-endian)
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit
    # Universal (fat) Mach-O, both byte orders; 0xCAFEBABE also starts Java class files, programs as well.
    b"\xca\xfe\xba\xbe", b"\xbe\xba\xfe\xca", b"\xca\xfe\xba\xbf", b"\xbf\xba\xfe\xca",
)


def _strip_ends(text: str) -> str:
    """Without whitespace (any Unicode space) and dots at either end: Windows drops trailing dots and spaces, so
    "evil.vbs." and "evil.vbs " run as evil.vbs; a leading dot would make a hidden file."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] == "."):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == "."):
        end -= 1
    return text[start:end]


def clean_filename(name, default: str = "attachment") -> str:
    """The name a file is checked and stored under: no folders, no control or invisible formatting characters
    (a right-to-left override makes "gpj.exe" look like "exe.jpg"), no NTFS stream or other colon, no whitespace
    or dots at the ends, at most 255 characters with the extension kept; ``default`` when nothing is left."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters and NUL; Cf: invisible formatting (bidi overrides, zero-width, BOM);
    # Cs/Co/Cn: surrogates, private-use and unassigned code points, which no name needs.
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _NTFS_STREAM.sub("", name)
    name = name.replace(":", "_")  # any other colon would name a stream on Windows too ("evil.vbs:x")
    name = _strip_ends(name)
    if len(name) > NAME_MAX:
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and len(suffix) <= _SUFFIX_KEPT:
            name = stem[:NAME_MAX - len(suffix) - 1].rstrip() + "." + suffix
        else:
            name = _strip_ends(name[:NAME_MAX])
    return name or default


def extensions(name) -> set[str]:
    """Every extension of a cleaned name, lower case and folded to plain letters ("EVIL.VbS" and the full-width
    "evil.ｖｂｓ" both give "vbs"); every one counts, so "invoice.pdf.exe" has "pdf" and "exe"."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    parts = [_strip_ends(p) for p in PurePosixPath(folded).name.split(".")[1:]]
    return {p for p in parts if p}


def is_program(name, data: bytes, blocked_extensions) -> bool:
    """True when a file must not be attached: a blocked extension in its cleaned name, or a program's first bytes."""
    blocked = {e.casefold().strip(". ") for e in blocked_extensions}
    return bool(extensions(clean_filename(name)) & blocked) or bytes(data[:4]).startswith(EXECUTABLE_MAGIC)
