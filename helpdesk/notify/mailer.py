"""Turn an outbox row into MIME and hand it to SMTP (or, with no SMTP server set, to a folder)."""
import email.errors
import email.policy
import functools
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path

from flask import current_app

from helpdesk import storage
from helpdesk.notify import addresses

LOOP_HEADER = "X-Helpdesk-Loop"
# Fold at the RFC 5322 limit, not at 78: CPython's folding turns a long In-Reply-To (Outlook's ids are
# long) into RFC 2047 words no client reads as a Message-ID, and drops the space between two encoded
# words of a long non-ASCII subject (CPython gh-144156).
class _Policy(email.policy.EmailPolicy):
    """policy.default, but a header we set to plain ASCII on one line (a Message-ID, a Date, an address made
    by formataddr) is kept as given instead of being parsed into a header object, about half the cost of
    building an acknowledgement. It is written as given, folded if longer than the line limit. Anything
    else (non-ASCII text, a line break, the MIME headers the content manager reads back) goes through the
    standard header registry, which encodes, folds and refuses what it must.

    The MIME headers themselves (Content-Type, Content-Transfer-Encoding, MIME-Version: the same few values
    in every message) are parsed once per value and the header object reused (they are immutable), and one
    that is plain ASCII and fits on a line is written as its text, which is what the registry's folding
    gives for it: a quarter of the cost of an acknowledgement went to parsing and folding these."""

    def header_store_parse(self, name, value):
        if type(value) is str and value.isascii() and "\r" not in value and "\n" not in value:
            if not name.lower().startswith(_MIME_HEADERS):
                return name, value
            if self.header_factory is _FACTORY:
                return name, _mime_header(name, value)
        return super().header_store_parse(name, value)

    def fold(self, name, value):
        return self._plain(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        plain = self._plain(name, value)
        return plain.encode("ascii") if plain else super().fold_binary(name, value)

    def _plain(self, name, value):
        """``name: value`` as one line for a MIME header object of plain ASCII that fits, else None."""
        if not (hasattr(value, "name") and name.lower().startswith(_MIME_HEADERS)) or value.defects:
            return None
        text = str(value)
        if (text.isascii() and "\r" not in text and "\n" not in text
                and len(name) + 2 + len(text) <= (self.max_line_length or 78)):
            return f"{name}: {text}{self.linesep}"
        return None


_MIME_HEADERS = ("content-", "mime-")
_FACTORY = email.policy.default.header_factory


@functools.lru_cache(maxsize=64)
def _mime_header(name, value):
    return _FACTORY(name, value)


POLICY = _Policy(max_line_length=998, header_factory=_FACTORY)


class PermanentFailure(Exception):
    """The server refused the message for good (e.g. unknown recipient), or the message cannot be built or
    addressed (an address we cannot mail, a header with a line break): retrying cannot help."""


def _sendable(address, what):
    """``address`` in the form we send it (ASCII domain); PermanentFailure when it cannot be mailed."""
    try:
        return addresses.for_sending(address)
    except addresses.InvalidAddress as exc:
        raise PermanentFailure(f"{what} address {address!r} cannot be mailed: {exc}") from exc


def build_message(row) -> EmailMessage:
    """The MIME message of ``row``; PermanentFailure when it can never be built (bad address or header)."""
    try:
        return _build(row)
    except PermanentFailure:
        raise
    except (ValueError, TypeError, email.errors.MessageError) as exc:  # UnicodeError is a ValueError
        raise PermanentFailure(f"the message cannot be built: {type(exc).__name__}: {exc}") from exc


def _build(row) -> EmailMessage:
    recipient = _sendable(row.recipient, "recipient")
    sender_name, given = parseaddr(row.sender)
    sender_address = _sendable(given, "sender") if given else given
    msg = EmailMessage(policy=POLICY)
    msg["Message-ID"] = row.message_id
    msg["Date"] = formatdate(row.created_at.timestamp(), localtime=False, usegmt=True)
    msg["From"] = row.sender if sender_address == given else formataddr((sender_name, sender_address))
    msg["To"] = formataddr((row.recipient_name, recipient)) if row.recipient_name else recipient
    msg["Subject"] = row.subject
    for name, value in (row.headers or {}).items():
        if value:
            msg[name] = value
    # Lets our own gateway recognise mail it sent, whatever route it takes back.
    msg[LOOP_HEADER] = current_app.config["MAIL_MESSAGE_ID_DOMAIN"]
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    for item in row.attachments or []:
        maintype, _, subtype = (item.get("content_type") or "application/octet-stream").partition("/")
        msg.add_attachment(
            storage.get(item["key"]), maintype=maintype, subtype=subtype or "octet-stream",
            filename=item.get("filename") or "attachment",
        )
    return msg


def send(row):
    """Deliver ``row`` once. Raises PermanentFailure for a final refusal, anything else to retry."""
    with Connection() as connection:
        connection.send(row)


class _Closing(smtplib.SMTPServerDisconnected):
    """The server answered 421: it is closing the session; the message may go through a new one."""


class Connection:
    """One SMTP session for several messages (a batch of acknowledgements), opened at the first message
    and opened again once if the server closed it in between. With no SMTP server set, messages are
    written to OUTGOING_MAIL_PATH instead."""

    def __init__(self):
        self.config = current_app.config
        self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None

    def send(self, row):
        """Deliver ``row``; PermanentFailure for a final refusal, anything else to retry."""
        msg = build_message(row)
        if not self.config.get("SMTP_HOST"):
            _write_to_folder(msg, row)
            return
        recipient = _sendable(row.recipient, "recipient")
        reused = self._client is not None
        try:
            self._send(self._connected(), msg, row, recipient)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise
            # The server ended a session we kept open (idle timeout, message limit): once more, afresh.
            self._send(self._connected(), msg, row, recipient)
        except (PermanentFailure, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
            raise  # refused: smtplib has reset the session, the next message can use it
        except Exception:
            self.close()  # anything else may leave the session in any state
            raise

    def _connected(self):
        if self._client is not None:
            return self._client
        config = self.config
        security = (config.get("SMTP_SECURITY") or "").lower()
        timeout = config["SMTP_TIMEOUT"]
        if security == "ssl":
            client = smtplib.SMTP_SSL(config["SMTP_HOST"], config["SMTP_PORT"], timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=timeout)
        try:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                client.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    @staticmethod
    def _send(client, msg, row, recipient):
        try:
            client.send_message(msg, from_addr=_envelope_sender(row), to_addrs=[recipient])
        except smtplib.SMTPNotSupportedError as exc:  # e.g. SMTPUTF8 needed and not offered
            raise PermanentFailure(f"the SMTP server cannot take this message: {exc}") from exc
        except UnicodeError as exc:
            raise PermanentFailure(f"the message cannot be encoded: {type(exc).__name__}: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            if 500 <= code < 600:
                raise PermanentFailure(f"{code} {reason!r}") from exc
            raise
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            if exc.smtp_code == 421:  # the server is closing the session (e.g. a per-session message limit)
                raise _Closing(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise


def _envelope_sender(row):
    return _sendable(parseaddr(row.sender)[1] or current_app.config["MAIL_DEFAULT_FROM"], "sender")


def _write_to_folder(msg, row):
    folder = Path(current_app.config["OUTGOING_MAIL_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{row.id:08d}.eml"
    target.write_bytes(msg.as_bytes())
