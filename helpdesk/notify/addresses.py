"""Email addresses: the one rule for which addresses the helpdesk accepts (every door) and can send to (the mailer).

An address is kept in the form it is sent in: lower-cased, with an internationalised domain in its ASCII (IDNA,
``xn--``) form, so ``a@exämple.net`` and ``a@xn--exmple-cua.net`` are one address and one account, and a look-alike
domain shows as what it is. A local part with non-ASCII characters needs SMTPUTF8 on our SMTP server
(``SMTP_SMTPUTF8``); without it such an address is refused when it is typed, not when the mail fails."""
import functools

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

from helpdesk.i18n import lazy_gettext as _l

# Intranet helpdesks receive mail from .local addresses and test setups use .test; email-validator
# documents this list as the place to allow such special-use domains.
for _domain in ("local", "test"):
    if _domain in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_domain)

INVALID = "invalid"
NEEDS_SMTPUTF8 = "needs-smtputf8"


class InvalidAddress(ValueError):
    """An address the helpdesk cannot mail. ``args[0]`` is the technical reason (for logs and the outbox),
    ``message`` the sentence for the person who typed it."""

    def __init__(self, reason: str, kind: str = INVALID):
        super().__init__(reason)
        self.kind = kind

    @property
    def message(self):
        if self.kind == NEEDS_SMTPUTF8:
            return _l("We cannot send email to addresses with accents or non-Latin letters before the @. "
                      "Please use another address.")
        return _l("Enter a valid email address.")


def smtputf8_enabled() -> bool:
    """Whether our SMTP server takes non-ASCII local parts (a setting: smtplib only learns it when sending)."""
    return bool(has_app_context() and current_app.config.get("SMTP_SMTPUTF8"))


def normalise(value: str, smtputf8: bool | None = None) -> str:
    """``value`` as stored and sent (trimmed, lower-cased, ASCII domain); raises InvalidAddress."""
    if smtputf8 is None:
        smtputf8 = smtputf8_enabled()
    result = _normalised((value or "").strip(), bool(smtputf8))
    if isinstance(result, tuple):
        raise InvalidAddress(*result)
    return result


@functools.lru_cache(maxsize=8192)
def _normalised(value, smtputf8):
    # Cached: validation is a pure function of the text, and the mail gateway checks the same senders
    # and copies again and again. No DNS look-ups: they would put the network on every message's path.
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=smtputf8)
    except EmailNotValidError as exc:
        if not smtputf8 and not value.rpartition("@")[0].isascii():
            try:
                validate_email(value, check_deliverability=False, allow_smtputf8=True)
            except EmailNotValidError:
                pass
            else:
                return (str(exc), NEEDS_SMTPUTF8)
        return (str(exc), INVALID)
    return f"{result.local_part}@{result.ascii_domain}".lower()


def for_sending(address: str) -> str:
    """``address`` as the mailer puts it on the envelope and in the header. Plain ASCII addresses pass as they
    are (the SMTP server judges them, and setups use names like ``helpdesk@localhost``); others get their domain
    in ASCII form, and a non-ASCII local part passes only with SMTPUTF8. Raises InvalidAddress."""
    address = address or ""
    if address.isascii() and address.isprintable() and " " not in address and "@" in address:
        return address
    return normalise(address)
