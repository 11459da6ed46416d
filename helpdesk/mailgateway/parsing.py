"""Parse raw mail into one immutable ParsedMail with the standard library's parser. The MIME parts are
walked here so that forwarded messages stay attachments, text attachments beside a text body are kept,
and 8-bit text without a declared charset is detected instead of mangled.

mail-parser (the stack's first choice) was measured and dropped for this step: it decodes undeclared
8-bit text to replacement characters, merges forwarded message/rfc822 parts into the body text, and at
0.47 ms a message it cost more than the whole rest of parsing (the standard library parses in 0.07 ms)."""
import email
import email.message
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import charset_normalizer

from helpdesk.mailgateway import outlook

# Legacy charsets our users' mail arrives in when it does not say (Western, Central European,
# Turkish, Cyrillic, Persian/Arabic); detection is limited to these to stay accurate on short text.
LEGACY_CHARSETS = ["cp1252", "iso-8859-2", "cp1250", "cp1254", "iso-8859-9", "koi8-r", "cp1251", "cp1256",
                   "iso-8859-15"]
_ENCODED_WORD_CHARSET = re.compile(rb"=\?([A-Za-z0-9_\-:.]+)(?:\*[^?]*)?\?[bBqQ]\?")
# A Message-ID is printable ASCII (RFC 5322): one with other characters could not be put back into the
# In-Reply-To and References of the mail we send in reply, so it is not one.
_MSGID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")


class UnparseableMail(Exception):
    """The bytes are not a mail message at all; ``reason_code`` and ``reason_params`` say why to the quarantine
    (see reasons.py)."""

    def __init__(self, detail, reason_code="unreadable", reason_params=None):
        super().__init__(detail)
        self.reason_code = reason_code
        self.reason_params = {"detail": detail} if reason_params is None else reason_params


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_addr: str | None
    reply_to: tuple[tuple[str, str], ...]
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    # Envelope recipients the receiving server recorded (Delivered-To, X-Original-To, Envelope-To).
    delivered_to: tuple[str, ...]
    date: datetime | None
    text: str
    html: str
    attachments: tuple[ParsedAttachment, ...]
    # (filename, size) of attachments dropped for being over the size limit.
    dropped: tuple[tuple[str, int], ...]
    content_type: str
    headers: dict = field(repr=False)
    # Text of delivery-status reports and the Message-ID of the message a bounce is about.
    delivery_status: str = ""
    bounced_message_id: str | None = None
    defects: tuple[str, ...] = ()
    # True unless the message has exactly one From header holding exactly one address, parsed without
    # a defect. Only such a sender is trusted as an agent or on someone else's ticket.
    sender_ambiguous: bool = False
    # The Sender header's mailboxes: a sender of last resort when From holds no usable address.
    sender_header: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def header_all(self, name: str) -> tuple[str, ...]:
        return tuple(self.headers.get(name.lower(), ()))

    @property
    def all_recipients(self) -> tuple[str, ...]:
        return tuple(addr for _, addr in self.to + self.cc) + self.delivered_to


def decode_text(payload: bytes, declared: str | None, hints=()) -> str:
    """Text from bytes: the declared charset if it works, then charsets seen elsewhere in the message,
    then UTF-8, then detection among LEGACY_CHARSETS. Never replacement characters unless all fail."""
    candidates = [declared] if declared else []
    candidates += [h for h in hints if h and h != declared]
    candidates.append("utf-8")
    for charset in candidates:
        try:
            return payload.decode(_codec(charset))
        except (LookupError, UnicodeDecodeError):
            continue
    best = charset_normalizer.from_bytes(payload, cp_isolation=LEGACY_CHARSETS).best()
    if best is not None:
        return str(best)
    return payload.decode("cp1252", errors="replace")


def _codec(charset: str) -> str:
    charset = charset.strip().strip('"').lower()
    # Mail software says these and means the supersets.
    return {"us-ascii": "ascii", "ascii": "ascii", "iso-8859-1": "cp1252", "latin1": "cp1252",
            "iso-8859-9": "cp1254", "ks_c_5601-1987": "cp949", "gb2312": "gb18030", "x-unknown": "utf-8"}.get(
        charset, charset)


def raw_headers(part, name) -> list[str]:
    """Every value of header ``name`` in ``part`` as the raw string it arrived as (folding and RFC 2047
    intact, 8-bit bytes surrogate-escaped). The one way this module reads a header: ``part.get`` hands
    back an ``email.header.Header`` object instead of a string when a header holds raw 8-bit bytes."""
    if not hasattr(part, "raw_items"):
        return []
    name = name.lower()
    return [value if isinstance(value, str) else str(value) for key, value in part.raw_items() if key.lower() == name]


def raw_header(part, name) -> str:
    """The first value of header ``name`` (see ``raw_headers``), or ""."""
    values = raw_headers(part, name)
    return values[0] if values else ""


def _decode_header_value(value, hints) -> str:
    if value is None:
        return ""
    value = str(value)
    if _has_8bit(value):
        # Raw 8-bit in a header (not RFC 2047): recover the bytes, then treat like undeclared body text.
        value = decode_text(value.encode("ascii", "surrogateescape"), None, hints)
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
            pass  # a broken encoded word is shown as it arrived
    return " ".join(value.split())


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _addresses(values, hints):
    """(display name, address) pairs of address headers; see _address_header."""
    return tuple(pair for value in values or () for pair in _address_header(value, hints)[0])


def _address_header(value, hints):
    """((display name, address), ...) of one raw address header, and whether it parsed cleanly.

    The structure is read from the raw header, and RFC 2047 encoded words are decoded only inside
    display names, after the addresses are found: an address (or a comma, or "Bcc:") hidden in an
    encoded display name stays part of that name and never becomes an address. Raw 8-bit text (not
    RFC 2047) is decoded first: no charset turns high bytes into the ASCII delimiters parsers look for.

    Plain lists of ``Name <addr>``, ``"Name" <addr>`` and ``addr`` (nearly all mail) are read by a strict
    pattern; anything else goes to the standard library's RFC 5322 parser (``policy.default``), which
    is twenty times slower."""
    value = _FOLD.sub("", str(value or ""))
    if _has_8bit(value):
        value = decode_text(value.encode("ascii", "surrogateescape"), None, hints)
    simple = _simple_address_list(value, hints)
    if simple is not None:
        return simple, True
    try:
        header = email.policy.default.header_factory("From", value)
        mailboxes = header.addresses
    except (HeaderParseError, IndexError, TypeError, ValueError):
        return (), False
    pairs = []
    for mailbox in mailboxes:
        address = mailbox.addr_spec.strip().lower()
        if mailbox.domain and "@" in address and " " not in address:
            pairs.append((" ".join(mailbox.display_name.split()), address))
    return tuple(pairs), not header.defects


# An addr-spec of dot-atoms (no quoted local part, no domain literal), a display name of atoms or one
# quoted string (encoded words are atoms here), and nothing else: no comments, groups or obsolete forms.
_ATOM_CHARS = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_ADDR_SPEC = rf"[{_ATOM_CHARS}]+(?:\.[{_ATOM_CHARS}]+)*@[{_ATOM_CHARS}]+(?:\.[{_ATOM_CHARS}]+)*"
_WORD = rf"[{_ATOM_CHARS}.\x80-\U0010ffff]+"
_SIMPLE_MAILBOX = re.compile(
    rf"""[ \t]*(?:(?:(?P<quoted>"(?:[^"\\\r\n]|\\.)*")|(?P<words>{_WORD}(?:[ \t]+{_WORD})*))?"""
    rf"""[ \t]*<(?P<angle>{_ADDR_SPEC})>|(?P<bare>{_ADDR_SPEC}))[ \t]*(?:,|$)""")


def _simple_address_list(value, hints):
    """The pairs of a header that is a plain list of mailboxes, or None for anything else."""
    pairs, position = [], 0
    if not value.strip():
        return ()
    while position < len(value):
        match = _SIMPLE_MAILBOX.match(value, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match["bare"]:
            pairs.append(("", match["bare"].lower()))
            continue
        name = match["quoted"] or match["words"] or ""
        if match["quoted"]:
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        pairs.append((_decode_header_value(name, hints), match["angle"].lower()))
    if value.rstrip().endswith(","):
        return None  # an empty list element: let the full parser judge it
    return tuple(pairs)


def _message_ids(value) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value or ""))


def _has_8bit(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _filename(part, hints):
    name = _encoded_filename(part) or part.get_filename()
    raw = raw_headers(part, "Content-Disposition") + raw_headers(part, "Content-Type")
    if any(_has_8bit(value) for value in raw):
        # A raw 8-bit name: the library would read its bytes as unknown characters. Decode the header's bytes
        # like undeclared text, then let the library read the parameters (RFC 2231 included).
        probe = email.message.Message()
        for header in ("Content-Disposition", "Content-Type"):
            for value in raw_headers(part, header):
                probe[header] = decode_text(value.encode("ascii", "surrogateescape"), None, hints)
        name = probe.get_filename()
    if name:
        return _decode_header_value(name, hints)[:255]
    return None


def _encoded_filename(part):
    """The RFC 2231 name (``filename*=UTF-8''…``), which the standard library returns only when no plain
    ``filename=`` stands beside it: Email::MIME (and so msgconvert) writes both, an ASCII stand-in and the name."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            for key, value in part.get_params(header=header, failobj=[]):
                if key.lower() == param and isinstance(value, tuple):
                    return email.utils.collapse_rfc2231_value(value)
        except (LookupError, TypeError, ValueError):
            return None
    return None


def _leaves(part):
    """Yield (kind, part): "forward" for attached messages (not descended into), "status" for
    delivery reports, "leaf" for everything else."""
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        yield "forward", part
    elif ctype == "message/delivery-status":
        yield "status", part
    elif part.is_multipart():
        for sub in part.get_payload():
            yield from _leaves(sub)
    else:
        yield "leaf", part


_EXTENSIONS = {"text/plain": "txt", "text/html": "html", "image/png": "png", "image/jpeg": "jpg",
               "image/gif": "gif", "application/pdf": "pdf", "text/calendar": "ics",
               "application/vnd.ms-outlook": "msg"}


def parse(raw: bytes, *, max_attachment_bytes: int, msgconvert: str | None = None) -> ParsedMail:
    """Parse ``raw``; raises UnparseableMail when there is nothing mail-like in it. An Outlook .msg file, on
    its own or attached, is converted to mail first (by ``msgconvert``, else the MAIL_MSGCONVERT setting)."""
    if not raw or not raw.strip():
        raise UnparseableMail("the message is empty")
    if outlook.is_ole2(raw):
        raw = _from_outlook(raw, msgconvert)
    # compat32 keeps undecodable bytes (surrogate-escaped) instead of raising; we decode them ourselves.
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    defects = tuple(f"{type(d).__name__}" for part in message.walk() for d in part.defects)
    if not message.keys():
        raise UnparseableMail("no mail headers found")

    hints = []
    header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for match in _ENCODED_WORD_CHARSET.findall(header_block):
        hints.append(match.decode("ascii").lower())
    for part in message.walk():
        charset = part.get_content_charset()
        if charset and charset not in hints and charset not in ("us-ascii", "ascii"):
            hints.append(charset)

    headers = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(_decode_header_value(value, hints))

    texts, htmls, attachments, dropped = [], [], [], []
    delivery_status = []
    bounced_message_id = None
    for kind, part in _leaves(message):
        if kind == "status":
            blocks = part.get_payload()
            delivery_status.append("\n".join(str(b) for b in blocks) if isinstance(blocks, list) else str(blocks))
            continue
        if kind == "forward":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            try:
                data = inner.as_bytes() if hasattr(inner, "as_bytes") else bytes(str(inner), "utf-8")
            except Exception:
                data = str(inner).encode("utf-8", "replace")
            inner_subject = _decode_header_value(raw_header(inner, "Subject"), hints)
            if hasattr(inner, "get") and message.get_content_type() == "multipart/report":
                bounced_message_id = bounced_message_id or (_message_ids(raw_header(inner, "Message-ID")) or
                                                             (None,))[0]
            name = _filename(part, hints) or f"{(inner_subject or 'forwarded message')[:100]}.eml"
            _keep(attachments, dropped, ParsedAttachment(name, "message/rfc822", data), max_attachment_bytes)
            continue
        ctype = part.get_content_type()
        disposition = raw_header(part, "Content-Disposition").split(";")[0].strip().lower()
        filename = _filename(part, hints)
        payload = part.get_payload(decode=True)
        if payload is None:
            payload = (part.get_payload() or "").encode("utf-8", "replace") if isinstance(part.get_payload(), str) \
                else b""
        if ctype == "text/rfc822-headers" and message.get_content_type() == "multipart/report":
            found = _message_ids(_header_in_block(payload, "message-id"))
            bounced_message_id = bounced_message_id or (found[0] if found else None)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            # Mail read over IMAP (or saved on Windows) has CRLF line endings; stored text has plain newlines.
            text = decode_text(payload, part.get_content_charset(), hints).replace("\r\n", "\n")
            (texts if ctype == "text/plain" else htmls).append(text)
            continue
        content_id = _decode_header_value(raw_header(part, "Content-ID"), hints).strip().strip("<>") or None
        name = filename or f"{'inline' if content_id else 'attachment'}-{len(attachments) + 1}." \
                           f"{_EXTENSIONS.get(ctype, 'bin')}"
        _keep(attachments, dropped, ParsedAttachment(name, ctype, payload, content_id,
                                                     inline=disposition == "inline" or bool(content_id)),
              max_attachment_bytes)
        if outlook.is_attached_msg(ctype, filename, payload):
            original = _attached_outlook(name, payload, msgconvert)
            if original is None:
                defects += ("OutlookAttachmentNotConverted",)
            else:
                _keep(attachments, dropped, original, max_attachment_bytes)

    from_headers = [_address_header(value, hints) for value in raw_headers(message, "From")]
    from_addrs = tuple(pair for pairs, _clean in from_headers for pair in pairs)
    sender_ambiguous = not (len(from_headers) == 1 and from_headers[0][1] and len(from_addrs) == 1)
    date = None
    try:
        date_header = _decode_header_value(raw_header(message, "Date"), hints)
        date = parsedate_to_datetime(date_header) if date_header else None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        date = None
    delivered = tuple(addr for _, addr in _addresses(
        raw_headers(message, "Delivered-To") + raw_headers(message, "X-Original-To")
        + raw_headers(message, "Envelope-To"), hints))
    message_id = (_message_ids(raw_header(message, "Message-ID")) or (None,))[0]
    return ParsedMail(
        message_id=message_id,
        in_reply_to=_message_ids(raw_header(message, "In-Reply-To")),
        references=_message_ids(" ".join(raw_headers(message, "References"))),
        subject=_decode_header_value(raw_header(message, "Subject"), hints)[:998],
        from_name=from_addrs[0][0] if from_addrs else "",
        from_addr=from_addrs[0][1] if from_addrs else None,
        reply_to=_addresses(raw_headers(message, "Reply-To"), hints),
        to=_addresses(raw_headers(message, "To"), hints),
        cc=_addresses(raw_headers(message, "Cc"), hints),
        delivered_to=delivered,
        date=date,
        text="\n\n".join(t.strip("\n") for t in texts if t.strip()),
        html="\n".join(htmls),
        attachments=tuple(attachments),
        dropped=tuple(dropped),
        content_type=message.get_content_type(),
        headers=headers,
        delivery_status="\n".join(delivery_status),
        bounced_message_id=bounced_message_id,
        defects=defects,
        sender_ambiguous=sender_ambiguous,
        sender_header=_addresses(raw_headers(message, "Sender"), hints),
    )


def _from_outlook(raw, program):
    """The mail inside a .msg file (any other OLE2 file, a Word document say, is not one)."""
    try:
        return outlook.to_rfc822(raw, program)
    except outlook.ConversionFailed as exc:
        raise UnparseableMail(str(exc), exc.code, {"program": exc.program}) from exc


def _attached_outlook(name, data, program):
    """The mail inside an attached .msg file as an attached message (message/rfc822), the way an agent's
    forward of a customer's mail arrives from other mail programs; None if it cannot be converted."""
    try:
        converted = outlook.to_rfc822(data, program)
    except outlook.ConversionFailed:
        return None
    stem = name[:-4] if name.lower().endswith(".msg") else name
    return ParsedAttachment(f"{stem[:250]}.eml", "message/rfc822", converted)


def _keep(attachments, dropped, attachment, limit):
    if len(attachment.data) > limit:
        dropped.append((attachment.filename, len(attachment.data)))
    else:
        attachments.append(attachment)


def _header_in_block(block: bytes, name: str) -> str:
    for line in block.decode("utf-8", "replace").splitlines():
        if line.lower().startswith(name + ":"):
            return line.split(":", 1)[1]
    return ""
