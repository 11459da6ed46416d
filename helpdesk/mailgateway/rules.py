"""Classify a parsed mail with small named rules; the first rule that matches decides the disposition.
Every decision keeps its reason, so an agent can see why a message was not answered."""
import re
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.mailgateway.models import InboundMessage
from helpdesk.mailgateway.reasons import describe

ACCEPT = "accept"          # a ticket change, with the usual acknowledgement
QUIET = "accept_quietly"   # a ticket change, but never an automatic answer
BOUNCE = "bounce"          # a delivery failure report: recorded on the ticket it concerns
DISCARD = "discard"        # kept in the inbound store with its reason, no ticket change
QUARANTINE = "quarantine"  # a person must look at it


@dataclass(frozen=True)
class Verdict:
    disposition: str
    rule: str
    reason_code: str
    params: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return describe(self.reason_code, self.params)


@dataclass(frozen=True)
class Context:
    """What the rules know about this installation."""

    own_addresses: frozenset
    loop_marker: str
    blocked_senders: tuple
    rate_soft_limit: int
    rate_hard_limit: int
    # Read once per batch: {email: user id} of agents and admins; departments as (id, name, inbound address).
    staff: dict = None
    departments: tuple = ()
    prior_counts: dict = None
    batch_counts: dict = None  # messages per sender seen in this batch (mutable on purpose)
    batch: object = None  # the helpdesk.db.Batch the messages are processed in


_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|abwesend|"
    r"automatische antwort|otomatik (yan[ıi]t|cevap)|ofis d[ıi][şs][ıi]nda|automatikus v[áa]lasz|"
    r"h[ée]ts?z[óo]nap|پاسخ خودکار|خارج از دفتر|vacation|urlaub|i am away|on leave)", re.I)
# Local parts that mail servers send delivery reports from (RFC 3464 reports, and the many that are not).
_BOUNCE_SENDER = re.compile(
    r"^(mailer[-_]?daemon|postmaster|mail[-_]?daemon|double-bounce|bounces?([-+=.][^@]*)?|mdaemon|"
    r"smtp[-_]?daemon|mail[-_]?delivery[-_]?(system|subsystem)?)@", re.I)
_BOUNCE_NAME = re.compile(r"^\s*(mail delivery (system|subsystem)|mailer[-_ ]?daemon|postmaster|mail administrator|"
                          r"microsoft outlook|mail (system|delivery) error|e-?mail delivery)\b", re.I)
# Subjects of delivery failure reports and virus-scanner notices, in the languages our users' servers speak.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*((fwd?|wg|ynt|fw):\s*)?("
    r"undeliver(able|ed)|undelivered mail|returned mail|return(ed)? to sender|mail delivery (failed|failure)|"
    r"delivery (status notification|failure|has failed|failed|problem|report)|failure notice|"
    r"message (not delivered|could not be delivered|delivery failure|blocked|rejected)|non[- ]?delivery|"
    r"delivery notification|could not send message|mail system error|warning: could not send|"
    r"notice: mail delivery status|mail delivery status|"
    r"(delayed|undelivered) mail|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|"
    r"unzustellbare nachricht|iletilemedi|teslim edilemedi|iletim hatası|iletim başarısız|"
    r"kézbesíthetetlen|nem kézbesíthető|kézbesítési hiba|تحویل نشد|ارسال نشد|"
    r"(virus|malware|banned|infected|blocked) (found|detected|content|attachment|in mail|notification)|"
    r"virus \(|\*+ ?virus|spam (detected|notification))", re.I)
# Phrases only delivery software writes, looked for at the start of the text.
_BOUNCE_TEXT = re.compile(
    r"this is the mail system at host|this is the qmail-send program|created automatically by mail delivery "
    r"software|delivery to the following recipients? failed|delivery has failed to these recipients|"
    r"wasn't able to deliver your message|could not be delivered to one or more recipients|"
    r"your message (did not reach|couldn't be delivered|could not be delivered|wasn't delivered)|"
    r"the following addresses had permanent fatal errors|the original message was received (at|on)|"
    r"this is a delivery status notification|"
    r"message delivery has failed|undeliverable to the following|a message that you sent could not be delivered|"
    r"this message was created automatically by|the following message to <[^>]+> was undeliverable|"
    r"diagnostic-code:|final-recipient:|reporting-mta:|remote-mta:|"
    r"konnte nicht (an alle empfänger )?zugestellt werden|die nachricht konnte nicht zugestellt|"
    r"mesajınız (teslim edilemedi|iletilemedi)|az üzenetet nem sikerült kézbesíteni|"
    r"a virus was found|virus (found|detected) in|contained a virus|banned (file|attachment)", re.I)
_NOREPLY_SENDER = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|noreply[-_.+][^@]*|"
                             r"[^@]*[-_.+]no[-_.]?reply|notifications?|newsletters?|news|marketing|mailings?)@",
                             re.I)
# Headers that bulk senders and newsletter services put on their mail.
_BULK_HEADERS = ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Post", "X-Campaign",
                 "X-Campaign-Id", "X-Mailchimp-Id", "X-MC-User", "X-SG-EID", "Feedback-ID", "X-Newsletter",
                 "X-Mailing-List", "Mailing-List", "X-Listmember", "X-BeenThere")


def is_own_address(address: str, context: Context) -> bool:
    """True for the helpdesk's addresses, including their plus-addressed reply variants."""
    if not address:
        return False
    local, _, domain = address.lower().rpartition("@")
    return address.lower() in context.own_addresses or f"{local.split('+', 1)[0]}@{domain}" in context.own_addresses


def rule_no_sender(mail, context):
    if not mail.from_addr and not mail.reply_to and not mail.sender_header:
        return Verdict(QUARANTINE, "no_sender", "no_sender")
    return None


def rule_loop(mail, context):
    if mail.header("X-Helpdesk-Loop") and mail.header("X-Helpdesk-Loop") == context.loop_marker:
        return Verdict(DISCARD, "loop", "loop")
    if is_own_address(mail.from_addr, context):
        return Verdict(DISCARD, "loop", "own_address", {"sender": mail.from_addr})
    return None


def rule_blocked_sender(mail, context):
    sender = (mail.from_addr or "").lower()
    domain = sender.rpartition("@")[2]
    for blocked in context.blocked_senders:
        blocked = blocked.lower()
        if sender == blocked or (blocked.startswith("@") and domain == blocked[1:]):
            return Verdict(DISCARD, "blocked", "blocked", {"sender": sender})
    return None


def null_sender(mail) -> bool:
    """The envelope sender was empty (``Return-Path: <>``): mail servers send reports and notices that way."""
    return any(value.strip().replace(" ", "") in ("<>", "") for value in mail.header_all("Return-Path"))


def rule_bounce(mail, context):
    """Delivery failure reports, RFC 3464 or not, and virus-scanner notices. A report is recorded on the
    ticket it concerns and never opens one; a message that only looks like one (a person may well write
    "Mail delivery failed" as a subject) opens its ticket quietly, without an acknowledgement."""
    report = mail.content_type == "multipart/report" and "delivery-status" in mail.header("Content-Type").lower()
    if report or mail.delivery_status or _BOUNCE_SENDER.match(mail.from_addr or ""):
        return Verdict(BOUNCE, "bounce", "bounce")
    subject = bool(_BOUNCE_SUBJECT.match(mail.subject or ""))
    text = bool(_BOUNCE_TEXT.search((mail.text or mail.html or "")[:4000]))
    machine = null_sender(mail) or bool(_BOUNCE_NAME.match(mail.from_name or "")) \
        or (mail.header("Auto-Submitted").lower() not in ("", "no"))
    if (subject and text) or (machine and (subject or text)):
        return Verdict(BOUNCE, "bounce", "bounce")
    if subject or text:
        return Verdict(QUIET, "suspected_bounce", "suspected_bounce")
    return None


def rule_auto_reply(mail, context):
    auto_submitted = mail.header("Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return Verdict(QUIET, "auto_reply", "auto_reply", {"detail": f"Auto-Submitted: {auto_submitted}"})
    precedence = mail.header("Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return Verdict(QUIET, "auto_reply", "auto_reply", {"detail": f"Precedence: {precedence}"})
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Response-Suppress"):
        value = mail.header(name)
        if value and (name != "X-Auto-Response-Suppress" or re.search(r"\b(all|oof|autoreply)\b", value, re.I)):
            return Verdict(QUIET, "auto_reply", "auto_reply", {"detail": f"{name}: {value}"})
    if any(mail.header(name) for name in _BULK_HEADERS):
        return Verdict(QUIET, "mailing_list", "mailing_list")
    if _AUTO_SUBJECT.match(mail.subject or ""):
        return Verdict(QUIET, "auto_reply", "auto_reply", {"detail": mail.subject[:80]})
    if _NOREPLY_SENDER.match(mail.from_addr or ""):
        return Verdict(QUIET, "noreply", "noreply", {"sender": mail.from_addr})
    if null_sender(mail):
        return Verdict(QUIET, "null_sender", "null_sender")
    return None


def recent_counts(senders, before_id) -> dict:
    """{sender: messages received in the last hour before inbound row ``before_id``}: one query for a
    whole batch's senders."""
    senders = [s for s in set(senders) if s]
    if not senders:
        return {}
    since = utcnow() - timedelta(hours=1)
    return dict(db.session.execute(
        sa.select(InboundMessage.sender, sa.func.count())
        .where(InboundMessage.sender.in_(senders), InboundMessage.received_at >= since,
               InboundMessage.id < before_id)
        .group_by(InboundMessage.sender)
    ).all())


def rule_rate_limit(mail, context):
    if not mail.from_addr:
        return None
    # Counts from before this batch plus what this batch has seen so far, this message included.
    context.batch_counts[mail.from_addr] = context.batch_counts.get(mail.from_addr, 0) + 1
    recent = context.prior_counts.get(mail.from_addr, 0) + context.batch_counts[mail.from_addr]
    if recent > context.rate_hard_limit:
        return Verdict(DISCARD, "rate_limited", "rate_ignored", {"count": recent, "sender": mail.from_addr})
    if recent > context.rate_soft_limit:
        return Verdict(QUIET, "rate_limited", "rate_quiet", {"count": recent, "sender": mail.from_addr})
    return None


# The chain, in order. The first verdict wins; no verdict means ACCEPT.
# A bounce needs no usable sender to be recognised (a report's From may be empty or "<@>").
CHAIN = (rule_loop, rule_bounce, rule_no_sender, rule_blocked_sender, rule_auto_reply, rule_rate_limit)


def classify(mail, context) -> Verdict:
    for rule in CHAIN:
        verdict = rule(mail, context)
        if verdict is not None:
            return verdict
    return Verdict(ACCEPT, "accept", "")
