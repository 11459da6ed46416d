"""Outlook .msg files read as mail: Debian's msgconvert (libemail-outlook-message-perl, the tool mail-parser's .msg
support runs) turns the OLE2 compound file into RFC 822 bytes, which the reading step then parses like any mail.

msgconvert is run here rather than through ``mailparser.utils.msgconvert``: that wrapper always runs "msgconvert"
from PATH (the program is a setting here, MAIL_MSGCONVERT), ignores the exit status, and its caller
``MailParser.from_file_msg`` prefers another converter when one happens to be installed."""
import email
import email.policy
import os
import re
import subprocess
import tempfile

from flask import current_app, has_app_context

# Every OLE2 compound file starts so (.msg, but also .doc and .xls: only a conversion tells them apart).
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
MSG_CONTENT_TYPES = frozenset({"application/vnd.ms-outlook", "application/x-msg", "application/x-ole-storage"})
TIMEOUT_SECONDS = 60


class ConversionFailed(Exception):
    """The .msg file could not be turned into mail; ``code`` names why (a reason code, see reasons.py)."""

    def __init__(self, code, detail, program=""):
        super().__init__(detail)
        self.code = code
        self.program = program


class NoConverterSetting(Exception):
    """Asked to convert outside the application, with no program named (a parser process): the gateway
    parses the message again itself, where the setting is known."""


def is_ole2(data: bytes) -> bool:
    return data[:8] == OLE2_MAGIC


def is_attached_msg(content_type: str, filename: str | None, data: bytes) -> bool:
    """Whether an attachment is an Outlook message: said so by its type or name, and OLE2 inside."""
    named = content_type in MSG_CONTENT_TYPES or (filename or "").lower().endswith(".msg")
    return named and is_ole2(data)


def to_rfc822(data: bytes, program: str | None = None) -> bytes:
    """The mail inside the .msg file ``data``, as RFC 822 bytes. Raises ConversionFailed: code
    "outlook_no_converter" when the program cannot be run, "outlook_damaged" when it finds no message."""
    program = program or _configured_program()
    with tempfile.TemporaryDirectory(prefix="helpdesk-msg-") as folder:
        path = os.path.join(folder, "message.msg")
        with open(path, "wb") as file:
            file.write(data)
        try:
            # The program is the operator's setting, given a list of arguments (no shell); the folder as working
            # directory, so msgconvert writes nothing anywhere else, whatever it does.
            done = subprocess.run([program, "--outfile", "-", path], cwd=folder, capture_output=True,  # noqa: S603
                                  timeout=TIMEOUT_SECONDS, check=False, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ConversionFailed("outlook_no_converter", f"{program}: {exc}", program) from exc
        except subprocess.TimeoutExpired as exc:
            raise ConversionFailed("outlook_damaged", f"{program} did not finish in {TIMEOUT_SECONDS} s",
                                   program) from exc
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0 and "Can't locate" in stderr:  # a Perl module missing: the install is broken
        raise ConversionFailed("outlook_no_converter", f"{program}: {_last_line(stderr)}", program)
    if done.returncode != 0:
        raise ConversionFailed("outlook_damaged", f"{program} exited {done.returncode}: {_last_line(stderr)}",
                               program)
    converted = _headers_in_utf8(done.stdout, stderr, data)
    if not _holds_a_message(converted):
        # A damaged file is often "converted" into headers and nothing else, with warnings and exit status 0.
        raise ConversionFailed("outlook_damaged", f"{program} found no message: {_last_line(stderr)}", program)
    return converted


def _configured_program() -> str:
    if not has_app_context():
        raise NoConverterSetting("no MAIL_MSGCONVERT outside the application")
    return current_app.config["MAIL_MSGCONVERT"]


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def _headers_in_utf8(converted: bytes, stderr: str, data: bytes) -> bytes:
    """msgconvert prints its header block (raw 8-bit, not RFC 2047) in Perl's own way: as Latin-1 while every
    character fits, else as UTF-8, and then its body, already UTF-8 bytes, is encoded a second time ("Wide
    character in print"). Both are put back: the header block in UTF-8, the body as its own bytes. A .msg with
    8-bit strings (no Unicode properties) is left as it came: its header bytes are in its code page."""
    separator = b"\r\n\r\n" if b"\r\n\r\n" in converted else b"\n\n"
    head, found, rest = converted.partition(separator)
    if not found:
        return converted
    if "Wide character" in stderr:
        try:
            head_text, rest_text = head.decode("utf-8"), rest.decode("utf-8")
            return head_text.encode("utf-8") + separator + rest_text.encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):  # wide characters below the headers too: as it came
            return converted
    if _ANSI_STRING_PROPERTY.search(data) is None and any(byte >= 0x80 for byte in head):
        return head.decode("latin-1").encode("utf-8") + separator + rest
    return converted


# A property stream of 8-bit text (type 001E) in the compound file's directory, whose names are UTF-16LE.
_ANSI_STRING_PROPERTY = re.compile(re.escape("__substg1.0_".encode("utf-16-le")) + rb"(?:[0-9A-Fa-f]\x00){4}"
                                   + re.escape("001E".encode("utf-16-le")))


def _holds_a_message(converted: bytes) -> bool:
    message = email.message_from_bytes(converted, policy=email.policy.compat32)
    if any(message.get(name) for name in ("From", "To", "Subject", "Message-Id")):
        return True
    return any((part.get_payload(decode=True) or b"").strip() for part in message.walk() if not part.is_multipart())
