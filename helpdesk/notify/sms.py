"""The SMS channel: short texts to phone numbers, queued in the outbox in the caller's transaction and sent by a
job through the SMS provider registered at start-up (``SmsProvider``; Kavenegar is the first adapter, in
helpdesk.providers). A notice goes out by SMS when its domain registered a text for its kind and the recipient
has a phone number (E.164, see helpdesk.phones):

    sms.compose("devices.debt_warning", lambda notice, recipient: _("Your balance ... %(amount)s", ...))

The text function runs in the recipient's language (``force_locale``) when the notice is queued, and returns the
text, or None to skip this recipient. Never commits; never calls the provider inside the caller's transaction.

SMS_PROVIDER chooses the provider by name; with none ("") the rows are still written (the record of what would
have gone out) and the job marks them failed with "not sent: no SMS provider", so a deployment without SMS loses
nothing else and never sends stale texts (codes, warnings) when a provider is configured later.

WhatsApp: the helpdesk has no WhatsApp channel; ``whatsapp_allowed`` is the rule one must consult (the platform
does not deliver to Iranian and Turkish numbers)."""
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.notify.channels import Notice, Recipient, register_channel
from helpdesk.phones import normalise_or_none, region_of

SMS_QUEUE = "mail"  # the queue of outgoing messages, served by every worker
MAX_TEXT = 1000  # a long text goes as several concatenated SMS; beyond this it is cut

_texts: dict[str, Callable[[Notice, Recipient], str | None]] = {}


def compose(kind: str, text: Callable[[Notice, Recipient], str | None]) -> None:
    """Send notices of ``kind`` by SMS too, worded by ``text(notice, recipient)``."""
    _texts[kind] = text


def kinds() -> set[str]:
    return set(_texts)


def text_for(kind: str):
    return _texts.get(kind)


@dataclass(frozen=True)
class SmsResult:
    """What the provider said about one message: its id for the message (for delivery reports) and whether it
    was accepted. ``retry``: a temporary failure (the provider is down, throttled); a permanent one (an invalid
    number, a blocked line) is not retried."""

    accepted: bool
    provider_id: str = ""
    error: str = ""
    retry: bool = False


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, text: str, *, reference: str) -> SmsResult:
        """Send ``text`` to ``phone`` (E.164). ``reference``: our outbox row's key, unique per message, which a
        provider that supports it uses to refuse a second send of the same message."""


_providers: dict[str, SmsProvider] = {}


def register_provider(provider: SmsProvider) -> None:
    """Offer an adapter under its ``name`` (helpdesk.providers registers them); SMS_PROVIDER picks one."""
    _providers[provider.name] = provider


def current_provider() -> SmsProvider | None:
    """The provider SMS_PROVIDER names, None when it names none (or one that is not registered)."""
    return _providers.get(current_app.config.get("SMS_PROVIDER") or "")


# The platform does not deliver WhatsApp messages to these countries (ISO codes of the numbers' regions).
WHATSAPP_BLOCKED_REGIONS = frozenset({"IR", "TR"})


def whatsapp_allowed(e164: str | None) -> bool:
    """May a WhatsApp message be offered to ``e164``? Never to Iranian (+98) or Turkish (+90) numbers, nor to a
    number we cannot read. A future WhatsApp channel asks this before queueing; SMS carries those notices."""
    phone = normalise_or_none(e164 or "", None) if e164 else None
    if phone is None:
        return False
    return region_of(phone) not in WHATSAPP_BLOCKED_REGIONS


def new_reference() -> str:
    """A unique key for one message: digits only (Kavenegar's localid is a number), 18 of them."""
    return str(10 ** 17 + secrets.randbelow(9 * 10 ** 17))


def queue_sms(*, phone: str, text: str, kind: str, locale: str | None = None, user_id: int | None = None):
    """Add an outbox row for one text to one E.164 number; sent by a job after the caller commits. Never
    commits. Raises ValueError for a number that is not E.164."""
    from helpdesk.jobs import enqueue_after_commit_batched
    from helpdesk.notify.sms_models import SmsMessage
    from helpdesk.notify.sms_tasks import deliver_sms  # the job that sends it (sms_tasks imports this module)

    normal = normalise_or_none(phone, None)
    if normal is None or normal != phone:
        raise ValueError("an SMS needs a phone number in E.164")
    row = SmsMessage(reference=new_reference(), kind=kind, phone=phone, text=text.strip()[:MAX_TEXT],
                     locale=locale, user_id=user_id)
    db.session.add(row)
    enqueue_after_commit_batched(deliver_sms, row, queue=SMS_QUEUE)
    return row


class SmsChannel:
    """SMS: a notice whose kind has a text (``compose``) goes to each recipient with a phone number, once per
    number, worded in the recipient's language."""

    name = "sms"

    def send(self, notice: Notice, batch=None) -> None:
        text = _texts.get(notice.kind)
        if text is None:
            return
        default = current_app.config.get("DEFAULT_LOCALE", "en")
        seen = set()
        for recipient in notice.recipients:
            phone = normalise_or_none(recipient.phone, None) if recipient.phone else None
            if phone is None or phone in seen:
                continue
            # A language the helpdesk does not speak (a stale profile) is read in the default one, never an error
            # in the caller's transaction.
            locale = recipient.locale if str(recipient.locale or "").split("_")[0] in LANGUAGES else default
            with force_locale(locale):
                body = text(notice, recipient)
                body = str(body).strip() if body else ""
            if not body:
                continue
            seen.add(phone)
            queue_sms(phone=phone, text=body, kind=notice.kind, locale=locale, user_id=recipient.user_id)


sms = SmsChannel()


def register() -> None:
    """Offer every notice to the SMS channel (notify's init_app calls this)."""
    register_channel(sms)


def recent_messages(actor, *, failed_only: bool = False, limit: int = 200) -> list:
    """The newest SMS in the outbox (or only those that failed or wait for a retry), for staff; NotFound for
    anyone else."""
    from helpdesk.notify.sms_models import FAILED, PENDING, SmsMessage

    if not (getattr(actor, "is_system", False) or getattr(actor, "is_agent", False)):
        raise NotFound()
    query = sa.select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if failed_only:
        query = query.where(sa.or_(SmsMessage.status == FAILED,
                                   sa.and_(SmsMessage.status == PENDING, SmsMessage.attempts > 0)))
    return db.session.scalars(query).all()
