"""The inbound pipeline, wired in one place: store raw → parse → classify → thread → act.
Each step is a plain function with its own module; a failure at any step quarantines the message
with the step and the reason, keeping the raw bytes. Nothing is dropped silently."""
import hashlib
import logging
import os
import re
import time
import traceback
from dataclasses import dataclass, replace
from email.utils import getaddresses, parseaddr

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from helpdesk import storage
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import User
from helpdesk.actors import MAIL_GATEWAY
from helpdesk.db import Batch, commit_service_call, ensure_ids, utcnow
from helpdesk.errors import HelpdeskError, NotFound
from helpdesk.extensions import db
from helpdesk.jobs import discard_since, pending_mark, run_task
from helpdesk.mailgateway import authentication, rules
from helpdesk.mailgateway.models import IGNORED, PROCESSED, QUARANTINED, RECEIVED, InboundMessage
from helpdesk.mailgateway.parsing import ParsedMail, UnparseableMail, parse
from helpdesk.mailgateway.reasons import describe
from helpdesk.mailgateway.routing import thread_for
from helpdesk.sanitize import clean_html, remember_cleaned, strip_control
from helpdesk.tickets import access, intake, reply_matching
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Department
from helpdesk.tickets.reply_matching import ticket_for_message_ids

log = logging.getLogger("helpdesk.mailgateway")

# Exchange Online folds its long Message-IDs onto the next line ("Message-ID:\n <...>").
_MSGID_HEADER = re.compile(rb"^message-id:[ \t]*(?:\n[ \t]+)?(<[^>\r\n]+>)", re.I | re.M)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|i̇lt|ilt|továbbítás|tov|fw)\s*:", re.I)
_FORWARDED_FROM = re.compile(r"^\s*(?:from|von|kimden|feladó|از)\s*:\s*(.+)$", re.I | re.M)


@dataclass(frozen=True)
class Fetched:
    """One message from a source: raw bytes and where it came from."""

    mailbox: str
    raw: bytes
    source_ref: str | None = None
    label: str = ""  # for people: a file name, "UID 42"


@dataclass(frozen=True)
class Outcome:
    label: str
    outcome: str             # new_ticket, added, agent_reply, auto_reply, bounce, duplicate, quarantined, ...
    ticket_number: int | None
    message_id: str | None
    inbound_id: int | None
    reason: str = ""


# --------------------------------------------------------------------------- 1. store raw first

def fingerprint(raw: bytes) -> tuple[str, str | None]:
    """(fingerprint, Message-ID). The same message delivered twice shares the fingerprint even when
    transport headers and line endings differ."""
    head, _sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    match = _MSGID_HEADER.search(head)
    message_id = strip_control(match.group(1).decode("ascii", "replace"))[:998] if match else None
    if message_id:
        digest = hashlib.sha256(b"mid:" + message_id.encode() + b"\0" + body.rstrip()).hexdigest()
    else:
        digest = hashlib.sha256(raw.replace(b"\r\n", b"\n").rstrip()).hexdigest()
    return digest, message_id


def store_batch(batch, on_stored=None, prepared=None):
    """Store every new message of ``batch`` and commit once. Returns [(Fetched, row or None)], None for a
    duplicate. ``on_stored(session)`` runs inside the same transaction (e.g. to advance an IMAP UID).
    ``prepared``: per message, what a parser process already worked out (see ``_prepare``)."""
    prepared = prepared or [None] * len(batch)
    keyed = [(item, *(ready.fingerprint if ready else fingerprint(item.raw)), ready)
             for item, ready in zip(batch, prepared, strict=True)]
    try:
        with Batch(db.session, deferred=True):  # the rows in one multi-row INSERT
            return _store(batch, keyed, on_stored)
    except sa.exc.IntegrityError:
        # Another gateway process stored some of these at the same moment: store one by one.
        return _store_one_by_one(keyed, on_stored)


def _store(batch, keyed, on_stored):
    prints = [fp for _, fp, _, _ in keyed]
    refs = [(item.mailbox, item.source_ref) for item in batch if item.source_ref]
    known = set(db.session.scalars(sa.select(InboundMessage.fingerprint).where(InboundMessage.fingerprint.in_(prints))))
    known_refs = set()
    if refs:
        known_refs = set(db.session.execute(
            sa.select(InboundMessage.mailbox, InboundMessage.source_ref)
            .where(InboundMessage.source_ref.in_([r for _, r in refs]))).all())
    result, seen = [], set()
    for item, digest, message_id, ready in keyed:
        if digest in known or digest in seen or (item.mailbox, item.source_ref) in known_refs:
            result.append((item, None))
            continue
        seen.add(digest)
        row = _new_row(item, digest, message_id, ready)
        db.session.add(row)
        result.append((item, row))
    if on_stored is not None:
        on_stored(db.session)
    _flush_unless_prepared(keyed)
    return result


def _flush_unless_prepared(keyed):
    """The raw bytes reach the disk before the rows that refer to them are committed (and the server is told):
    a parser process flushed what it wrote before it handed the batch back, so only the bytes this process
    wrote itself remain."""
    if any(ready is None for _item, _digest, _message_id, ready in keyed):
        storage.flush_to_disk()


def _new_row(item, digest, message_id, ready=None):
    """The inbound row for a message (its bytes go to storage first). Sender and subject come from a
    headers-only parse, so even a message that later fails to parse is listed with them."""
    key, size = ready.stored if ready else storage.put(item.raw, durable=False)  # flushed with the batch
    sender, subject = ready.listed if ready else _listed(item.raw)
    return InboundMessage(mailbox=item.mailbox, source_ref=item.source_ref, message_id=message_id,
                          fingerprint=digest, raw_key=key, size=size, status=RECEIVED, sender=sender,
                          subject=subject)


def _listed(raw):
    """(sender, subject) as the quarantine lists a message, from its header block alone."""
    sender = subject = None
    try:
        headers = _quick_headers(raw)
        addresses = getaddresses(headers.get("from") or headers.get("reply-to") or [])
        sender = next((strip_control(a.lower())[:320] for _n, a in addresses if "@" in a), None)
        subject = strip_control((headers.get("subject") or [""])[0])[:998] or None
    except Exception:  # anything unreadable is the parse step's to report, with the raw bytes kept
        log.debug("headers of inbound message unreadable at store time", exc_info=True)
    return sender, subject


_WANTED_HEADER = re.compile(rb"^(from|reply-to|subject)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def _quick_headers(raw: bytes) -> dict:
    """{lower-case name: [values]} of From, Reply-To and Subject, undecoded, read from the header block
    alone (a full parse comes later; this is only so a message that fails it is still listed)."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    found = {}
    for name, value in _WANTED_HEADER.findall(head):
        unfolded = re.sub(rb"\r?\n[ \t]", b" ", value).strip()
        found.setdefault(name.lower().decode(), []).append(unfolded.decode("utf-8", "replace"))
    return found


def _store_one_by_one(keyed, on_stored):
    result = []
    for item, digest, message_id, ready in keyed:
        row = _new_row(item, digest, message_id, ready)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            result.append((item, row))
        except sa.exc.IntegrityError:
            result.append((item, None))
    if on_stored is not None:
        on_stored(db.session)
    _flush_unless_prepared(keyed)
    db.session.commit()
    return result


# --------------------------------------------------------------------------- context

def make_context(rows=(), batch=None):
    """What the rules need to know, read once for a ``batch`` of stored ``rows``."""
    config = current_app.config
    own = {a.lower() for a in config.get("MAIL_HELPDESK_ADDRESSES", []) if a}
    own.add(config["MAIL_DEFAULT_FROM"].lower())
    departments = db.session.execute(sa.select(Department.id, Department.name, Department.inbound_address,
                                               Department.reply_from_address)).all()
    for _id, _name, inbound, reply_from in departments:
        own.update(a.lower() for a in (inbound, reply_from) if a)
    for mailbox in config.get("MAIL_MAILBOXES") or []:
        if mailbox.get("address"):
            own.add(mailbox["address"].lower())
    if batch is not None and batch.deferred:  # a few queries for the batch's senders instead of a few per message
        senders = accounts.users_by_email([r.sender for r in rows if r.sender], batch)
        intake.prefetch_senders(senders.values())
    return rules.Context(
        own_addresses=frozenset(own),
        loop_marker=config["MAIL_MESSAGE_ID_DOMAIN"],
        blocked_senders=tuple(config.get("MAIL_BLOCKED_SENDERS") or ()),
        rate_soft_limit=int(config["MAIL_SENDER_SOFT_LIMIT"]),
        rate_hard_limit=int(config["MAIL_SENDER_HARD_LIMIT"]),
        staff=dict(db.session.execute(sa.select(User.email, User.id).where(User.role.in_(("admin", "agent")))).all()),
        departments=tuple((d_id, name, (inbound or "").lower()) for d_id, name, inbound, _ in departments),
        prior_counts=rules.recent_counts([r.sender for r in rows], min((r.id for r in rows), default=0)),
        batch_counts={},
        batch=batch,
    )


# --------------------------------------------------------------------------- 2-5. process one stored message

class _RedoMessageByMessage(Exception):
    """A message failed inside a deferred batch, which cannot undo one message alone."""


def process(row: InboundMessage, context=None, department_name=None, mail=None) -> Outcome:
    """Parse, classify, thread and act on one stored message. Never raises for a bad message:
    any failure leaves it quarantined with the step and the reason. Inside a ``batch`` each message
    runs in its own savepoint, so one failure never undoes the others (a deferred batch has no
    savepoints: there a failure sends the whole batch back to be redone message by message)."""
    if context is None or context.batch is None:
        with Batch(db.session) as unit:
            context = make_context(batch=unit) if context is None else replace(context, batch=unit)
            outcome = process(row, context, department_name, mail)
        _emit_logs()
        return outcome
    started = time.perf_counter()
    step = "parse"
    if context.batch.deferred:
        try:
            outcome, step = _steps(row, context, department_name, mail)
        except Exception as exc:
            raise _RedoMessageByMessage(f"inbound {row.id}") from exc
    else:
        mark = pending_mark()
        try:
            with db.session.begin_nested():
                outcome, step = _steps(row, context, department_name, mail)
        except Exception as exc:  # isolate every message: one bad mail never stops the ones after it
            discard_since(mark)  # e.g. an acknowledgement queued before the failure: its row is gone
            outcome = quarantine(row, getattr(exc, "helpdesk_step", step), exc)
    # Logged once the batch has committed, so a redone batch does not report twice.
    db.session.info.setdefault(_LOGS, []).append(("inbound %s %s", (row.id, outcome.outcome), {"fields": {
        "inbound": row.id, "mailbox": row.mailbox, "message_id": row.message_id, "sender": row.sender,
        "outcome": outcome.outcome, "ticket": outcome.ticket_number, "reason": outcome.reason,
        "ms": round((time.perf_counter() - started) * 1000, 1)}}))
    return outcome


_LOGS = "helpdesk_gateway_logs"


def _emit_logs():
    for message, args, extra in db.session.info.pop(_LOGS, None) or ():
        log.info(message, *args, extra=extra)


def _parse(row):
    return parse(storage.get(row.raw_key), max_attachment_bytes=current_app.config["MAX_ATTACHMENT_BYTES"])


def _steps(row, context, department_name, mail=None):
    step = "parse"
    try:
        if mail is None:
            mail = _parse(row)
        # Nothing below needs to read this message's own unsaved rows back from the database, so
        # they are written in one flush when the message's savepoint is released, not at every query.
        with db.session.no_autoflush:
            fallback = (mail.reply_to or mail.sender_header or (("", None),))[0][1]
            sender = strip_control(mail.from_addr or fallback or "")[:320]
            if row.sender != (sender or None):
                row.sender = sender or None
            subject = strip_control(mail.subject)[:998]
            if row.subject != subject:
                row.subject = subject
            step = "classify"
            verdict = rules.classify(mail, context)
            step = "thread"
            route = thread_for(mail, context.batch)
            step = "act"
            return _act(row, mail, verdict, route, context, department_name), step
    except Exception as exc:
        exc.helpdesk_step = step
        raise


def quarantine(row, step, exc, code=None, params=None) -> Outcome:
    """Hold the message for an agent: the reason as a code with values (shown in each reader's
    language) and the technical detail with the traceback."""
    if code is None:
        if isinstance(exc, UnparseableMail):
            code, params = exc.reason_code, exc.reason_params
        elif isinstance(exc, HelpdeskError):
            code, params = "refused", {"detail": str(exc)}
        else:
            code, params = "failed", {"step": step, "detail": f"{type(exc).__name__}: {exc}"}
        # The step is shown through STEPS in the reader's language (see reasons.describe).
    row.attempts = (row.attempts or 0) + 1
    row.status = QUARANTINED
    row.step = step
    row.reason_code, row.reason_params = code, _jsonable(params or {})
    row.error = "".join(traceback.format_exception(exc))[-8000:]
    row.outcome = "quarantined"
    commit_service_call(db.session)
    return Outcome("", "quarantined", None, row.message_id, row.id, describe(code, params))


def _jsonable(params):
    return {key: value if isinstance(value, (int, float, bool)) or value is None else str(value)
            for key, value in params.items()}


def _finish(row, status, outcome, ticket=None, verdict=None):
    """Mark the row; the caller's service call (or the explicit commit here) commits it."""
    row.attempts = (row.attempts or 0) + 1
    row.status = status
    row.outcome = outcome
    row.processed_at = utcnow()
    row.step = None
    if ticket is not None:
        ensure_ids(db.session, ticket)
        row.ticket_id = ticket.id
    row.error = None
    row.reason_code = verdict.reason_code if verdict is not None and verdict.reason_code else None
    row.reason_params = _jsonable(verdict.params) if row.reason_code else None
    return Outcome("", outcome, ticket.number if ticket is not None else None, row.message_id, row.id,
                   verdict.reason if row.reason_code else "")


def _act(row, mail: ParsedMail, verdict, route, context, department_name):
    """Carry out the verdict: one handler per disposition, as in Mailman's chains."""
    handler = _HANDLERS.get(verdict.disposition)
    if handler is None:
        handler = _record_auto_reply if verdict.rule == "auto_reply" else _deliver
    return handler(row, mail, verdict, route, context, department_name)


def _hold(row, mail, verdict, route, context, department_name):
    return quarantine(row, "classify", ValueError(verdict.reason), verdict.reason_code, verdict.params)


def _discard(row, mail, verdict, route, context, department_name):
    outcome = _finish(row, IGNORED, verdict.rule, verdict=verdict)
    commit_service_call(db.session)
    return outcome


def _record_bounce(row, mail, verdict, route, context, department_name):
    return _record_on_ticket(row, mail, _bounce_ticket(mail, route, context.batch), "bounce", verdict, {
        "type": "bounce", "from": mail.from_addr or "", "detail": _bounce_detail(mail)})


def _record_auto_reply(row, mail, verdict, route, context, department_name):
    return _record_on_ticket(row, mail, route.ticket, "auto_reply", verdict, {
        "type": "auto-reply", "from": mail.from_addr or "", "subject": mail.subject[:200]})


_HANDLERS = {rules.QUARANTINE: _hold, rules.DISCARD: _discard, rules.BOUNCE: _record_bounce}

# What the gateway calls each kind of ticket change (InboundMessage.outcome).
_DELIVERED = {intake.AGENT_REPLY: "agent_reply", intake.CUSTOMER_MESSAGE: "added", intake.NEW_TICKET: "new_ticket"}


def _deliver(row, mail, verdict, route, context, department_name):
    """A ticket change: who sent the mail is worked out here (it is about mail); what it may do on the
    ticket store is the tickets' intake rules."""
    address, name, fallback = _sender(mail)
    if address is None:
        return _refuse(row, "no_sender", {}, ValueError)
    trusted_ids = current_app.config["MAIL_AUTHSERV_IDS"]
    # Only the From address names an agent (never Reply-To), and only with proof that the agent wrote it.
    agent = db.session.get(User, context.staff[mail.from_addr]) if mail.from_addr in context.staff else None
    if agent is not None and not _agent_verified(mail, agent, route.ticket, trusted_ids):
        return _refuse(row, "agent_unverified", {"sender": mail.from_addr})
    # A sender taken from Reply-To or Sender is good enough to answer, never to speak on someone's ticket.
    sender = intake.Sender(address, name, agent, ambiguous=mail.sender_ambiguous,
                           authenticated=fallback is None and authentication.sender_trusted(mail, trusted_ids))
    arrival = _arrival(mail, verdict, route, context, department_name, sender, fallback)
    received = intake.receive(sender, arrival, intake.Policy.from_config(current_app.config), via=MAIL_GATEWAY,
                              batch=context.batch)
    decision = received.decision
    if decision.refused:
        return _refuse(row, decision.reason, decision.params)
    outcome = _DELIVERED[decision.action]
    _finish(row, PROCESSED, outcome, received.ticket)
    return _outcome_for(row, received.ticket, outcome)


def _arrival(mail, verdict, route, context, department_name, sender, fallback):
    """What the mail brings to the ticket store, in the intake's terms."""
    quietly = verdict.disposition == rules.QUIET
    events = [{"type": "attachment-dropped", "name": name, "size": size} for name, size in mail.dropped]
    events += [fallback] if fallback else []
    if quietly and route.ticket is None:
        # The ticket says why its requester heard nothing from us.
        events.append({"type": "not-acknowledged", "reason": verdict.reason_code, "sender": sender.email})
    forwarded = _forwarded_sender(mail) if sender.agent is not None and route.ticket is None else None
    return intake.Arrival(
        ticket=route.ticket, subject=_subject(mail), **_body(mail),
        attachments=tuple(tickets.NewAttachment(a.filename, a.content_type, a.data, a.content_id)
                          for a in mail.attachments),
        cc=tuple(_cc_addresses(mail, context)), message_id=mail.message_id, in_reply_to=_first(mail.in_reply_to),
        events=tuple(events), source="email", acknowledge=not quietly, forwarded_from=forwarded,
        department=_department_for(mail, department_name, context))


def _refuse(row, code, params, error=NotFound):
    """Quarantine a message the ticket store may not take, with the reason in the reader's language."""
    return quarantine(row, "act", error(describe(code, params) if params else describe(code)), code, params)


def _outcome_for(row, ticket, outcome=None):
    return Outcome("", outcome or row.outcome, ticket.number, row.message_id, row.id)


def _record_on_ticket(row, mail, ticket, outcome, verdict, event):
    if ticket is None:
        result = _finish(row, IGNORED, outcome, verdict=verdict)
        commit_service_call(db.session)
        return result
    _finish(row, IGNORED, outcome, ticket, verdict=verdict)
    tickets.record_events(MAIL_GATEWAY, ticket, [event])
    return Outcome("", outcome, ticket.number, row.message_id, row.id, verdict.reason)


def _bounce_ticket(mail, route, batch):
    """The ticket a delivery report is about: the Message-ID an RFC 3464 report names, the ticket the report
    itself threads to, else what the quoted original in its text names (a Message-ID we sent, the
    ``[#1042]`` tag)."""
    if mail.bounced_message_id:
        found = ticket_for_message_ids([mail.bounced_message_id], batch)
        if found is not None:
            return found
    if route.ticket is not None:
        return route.ticket
    originals = [a.data[:20000].decode("utf-8", "replace") for a in mail.attachments
                 if a.content_type in ("text/rfc822-headers", "message/rfc822", "message/global")]
    quoted = "\n".join([(mail.text or "")[:20000], *originals])
    found = ticket_for_message_ids(re.findall(r"<[^<>\s@]+@[^<>\s]+>", quoted)[:20], batch)
    if found is None and (number := reply_matching.number_from_subject(quoted)) is not None:
        found = reply_matching.ticket_by_number(number, batch)
    return found


def _bounce_detail(mail):
    for line in mail.delivery_status.splitlines():
        if line.lower().startswith(("diagnostic-code:", "status:")):
            return line.strip()[:300]
    return (mail.text or "").strip().splitlines()[0][:300] if (mail.text or "").strip() else ""


def _sender(mail):
    """(address, name, event or None) of whom to answer: the From address if email can be sent to it, else the
    first usable one in Reply-To, then Sender (with a "sender-fallback" event saying so); (None, "", None)
    when there is none."""
    if mail.from_addr and _usable(mail.from_addr):
        return _usable(mail.from_addr), mail.from_name, None
    for header, pairs in (("Reply-To", mail.reply_to), ("Sender", mail.sender_header)):
        for name, address in pairs:
            if usable := _usable(address):
                return usable, name, {"type": "sender-fallback", "header": header, "email": usable}
    return None, "", None


def _usable(address):
    try:
        return accounts.normalise_email(address)
    except ValueError:
        return None


def _agent_verified(mail, agent, ticket, trusted_ids) -> bool:
    """Mail from an agent's address counts as theirs with a trusted DMARC pass for its domain, or when it
    came back through the reply address made for that agent on this ticket."""
    if authentication.sender_verified(mail, trusted_ids):
        return True
    if mail.sender_ambiguous or ticket is None or authentication.verdict(
            mail.header_all("Authentication-Results"), trusted_ids).failed:
        return False
    return any(reply_matching.agent_from_address(address, ticket.number) == agent.id
               for address in mail.all_recipients)


def _body(mail):
    text = mail.text
    if not text.strip() and not mail.html.strip():
        text = _("(This message has no text.)")
    return {"body_text": text, "body_html": mail.html or None}


def _subject(mail):
    subject = " ".join((mail.subject or "").split())
    if not subject:
        return _("(no subject)")
    return subject if len(subject) <= tickets.SUBJECT_MAX else subject[: tickets.SUBJECT_MAX - 1] + "…"


def _first(values):
    return values[0] if values else None


def _cc_addresses(mail, context):
    """The To and Cc addresses but the helpdesk's own, each once (the intake leaves out sender and requester)."""
    result = []
    for _name, address in mail.to + mail.cc:
        if not rules.is_own_address(address, context) and address not in result:
            result.append(address)
    return result


def _department_for(mail, department_name, context):
    """The id of the mailbox's department, else of the department whose address the mail was sent to."""
    for department_id, name, _inbound in context.departments:
        if department_name and name == department_name:
            return department_id
    recipients = set(mail.all_recipients)
    for department_id, _name, inbound in context.departments:
        if not inbound:
            continue
        local, _, domain = inbound.rpartition("@")
        for address in recipients:
            a_local, _, a_domain = address.rpartition("@")
            if a_domain == domain and a_local.split("+", 1)[0] == local:
                return department_id
    return None


def _forwarded_sender(mail):
    """(name, address) of the original sender of a mail an agent forwarded, or None."""
    for attachment in mail.attachments:
        if attachment.content_type == "message/rfc822":
            head = attachment.data.split(b"\n\n", 1)[0].decode("utf-8", "replace")
            match = re.search(r"^from:\s*(.+)$", head, re.I | re.M)
            if match:
                name, address = parseaddr(match.group(1).strip())
                if "@" in address:
                    return name, address.lower()
    if _FORWARD_SUBJECT.match(mail.subject or ""):
        match = _FORWARDED_FROM.search(mail.text or "")
        if match:
            name, address = parseaddr(match.group(1).strip().replace("[mailto:", "<").replace("]", ">"))
            if "@" in address:
                return name, address.lower()
    return None


# --------------------------------------------------------------------------- batches

def process_stored(stored, department_name=None, should_stop=lambda: False, parsed=None):
    """Process what ``store_batch`` stored, in arrival order, in one transaction. Stopping early
    leaves the rest stored for the next run.

    The fast path writes the whole batch in one flush at its end (a deferred batch). If any message
    fails there, or the final write does, the batch is rolled back and redone with a savepoint per
    message, so the failure is quarantined alone and the rest go through as before. ``parsed``
    ({inbound id: ParsedMail}) is what a parser process already parsed of the batch."""
    if current_app.config["MAIL_DEFERRED_WRITES"]:
        try:
            return _process_stored(stored, department_name, should_stop, deferred=True, parsed=parsed)
        except _RedoMessageByMessage as exc:
            # One line: the message's own quarantine row keeps the traceback, and its outcome is logged below.
            log.info("mail batch redone message by message: %s failed (%s: %s)", exc, type(exc.__cause__).__name__,
                     exc.__cause__)
            db.session.info.pop(_LOGS, None)
        except Exception:
            log.warning("mail batch: the final write failed; redone message by message", exc_info=True)
            db.session.info.pop(_LOGS, None)
    return _process_stored(stored, department_name, should_stop, deferred=False)


def _process_stored(stored, department_name, should_stop, deferred, parsed=None):
    outcomes = []
    # Nothing reads the batch's rows once it is committed (the outcomes are taken inside): they are detached.
    with Batch(db.session, deferred=deferred, detach=True) as unit:
        # The store commit expired the rows; their ids are in the identity keys without a query each.
        ids = [sa.inspect(row).identity[0] for _item, row in stored if row is not None]
        if ids:  # reload them all in one query (the objects of a detached batch redone here are new ones)
            loaded = {row.id: row for row in db.session.scalars(
                sa.select(InboundMessage).where(InboundMessage.id.in_(ids)).execution_options(populate_existing=True))}
            stored = [(item, loaded.get(sa.inspect(row).identity[0], row) if row is not None else None)
                      for item, row in stored]
        rows = [row for _item, row in stored if row is not None]
        context = make_context(rows, unit)
        parsed = _parse_and_prefetch(rows, unit, parsed) if deferred else {}
        for item, row in stored:
            if row is None:
                outcomes.append(Outcome(item.label, "duplicate", None, fingerprint(item.raw)[1], None,
                                        "already received"))
                continue
            if should_stop():
                break
            done = process(row, context, department_name, parsed.get(row.id))
            outcomes.append(Outcome(item.label, done.outcome, done.ticket_number, done.message_id,
                                    done.inbound_id, done.reason))
    _emit_logs()
    return outcomes


def _parse_and_prefetch(rows, batch, ready=None) -> dict:
    """Parse a batch up front (but for what is ``ready``: parsed by a parser process) and read every ticket
    its mail may thread to in a few queries. A message that does not parse is left for its own parse
    step to quarantine."""
    parsed, numbers, message_ids = {}, [], []
    for row in rows:
        try:
            mail = parsed[row.id] = (ready or {}).get(row.id) or _parse(row)
        except Exception:  # its own parse step quarantines it with the reason
            log.debug("inbound %s does not parse", row.id, exc_info=True)
            continue
        numbers.extend(reply_matching.number_from_address(a) for a in mail.all_recipients)
        numbers.append(reply_matching.number_from_subject(mail.subject))
        message_ids.extend(mail.in_reply_to)
        message_ids.extend(mail.references)
        message_ids.append(mail.bounced_message_id)
    reply_matching.prefetch(numbers, message_ids, batch)
    return parsed


# --------------------------------------------------------------------------- a parser process

@dataclass(frozen=True)
class Prepared:
    """What a parser process works out for one fetched message before the gateway stores it."""

    fingerprint: tuple  # (fingerprint, Message-ID)
    stored: tuple  # (storage key, size): the raw bytes are in attachment storage
    listed: tuple  # (sender, subject) from the header block
    mail: ParsedMail | None  # None: it does not parse (the gateway parses it again to say why)
    cleaned: tuple | None  # (html, clean_html(html)) for the ticket service


def _prepare_in_worker(raws, store, max_attachment_bytes):
    """In the parser process: each message fingerprinted, written to storage with its attachments, its header
    block read, parsed and its HTML sanitised, so the gateway process only writes rows. The files written
    reach the disk before the batch goes back (one flush here, while the gateway writes the batch before it),
    so the gateway can commit rows that name them."""
    results = []
    for raw in raws:
        try:
            mail = parse(raw, max_attachment_bytes=max_attachment_bytes)
        except Exception:
            mail = None
        html = strip_control(mail.html) if mail is not None and mail.html else ""
        for attachment in mail.attachments if mail is not None else ():
            # Stored now, under the key the ticket service will ask for (it finds them there): flushed to disk
            # with the batch's raw mail, before the commit that names them.
            storage.put(attachment.data, store, durable=False)
        results.append(Prepared(fingerprint(raw), storage.put(raw, store, durable=False), _listed(raw), mail,
                                (html, clean_html(html)) if html else None))
    if raws:
        storage.flush_to_disk(store)
    return results


def _forget_connections(engines):
    """In a parser process forked from the gateway: let go of the database connections it inherited without
    closing them (they are the gateway's), as SQLAlchemy advises for a forked process."""
    for engine in engines:
        engine.dispose(close=False)


class Parser:
    """Prepares fetched mail in other processes (MAIL_PARSE_PROCESSES): fingerprint, raw bytes and attachments
    written to storage, headers, parse, sanitised HTML. On a machine with more than one core the gateway writes
    one batch while the next is prepared (see daemon.Runner). All of it is a pure function of the bytes: the
    results are what the gateway would have worked out itself."""

    def __init__(self, processes: int, wait: bool = True, copy: bool = False):
        import multiprocessing
        import threading
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: the workers start from a clean process, not a copy of one holding database connections
        # and threads; they import the parser first, a second or more on a busy machine. ``copy`` (for a caller
        # that has neither yet: ``helpdesk mail ingest`` as it starts) forks them from this process instead,
        # ready at once with what it has imported (the pool forks them all before its own thread starts).
        copy = copy and threading.active_count() == 1
        inherited = list(db.engines.values()) if copy and has_app_context() else []
        self._pool = ProcessPoolExecutor(max_workers=processes,
                                         mp_context=multiprocessing.get_context("fork" if copy else "forkserver"),
                                         initializer=_forget_connections if inherited else None,
                                         initargs=(inherited,))
        log.debug("%d mail parser process(es), %s", processes,
                  "copies of this process" if copy else "started by a fork server")
        # Start the processes now (they import the parser, about a second) rather than on the first batch.
        # Without ``wait``, batches are prepared in place until they are up (``helpdesk mail ingest``).
        self._starting = [self._pool.submit(_prepare_in_worker, [], "", 0) for _worker in range(processes)]
        if wait:
            for started in self._starting:
                started.result()

    def ready(self) -> bool:
        return all(started.done() for started in self._starting)

    @staticmethod
    def processes_for(config) -> int:
        wanted = config.get("MAIL_PARSE_PROCESSES", 0)
        if wanted == "auto":
            return 1 if (os.cpu_count() or 1) > 1 else 0
        return int(wanted or 0)

    def submit(self, batch, config=None):
        """Start preparing a fetched batch (a list of Fetched); returns a handle for ``prepared`` (None while
        the processes are still starting: the gateway prepares the batch itself). ``config``: the settings, for
        a caller that has no app yet (the processes are then counted on to start: they are copies)."""
        if config is None:
            if not self.ready():
                return None
            config = current_app.config
        return self._pool.submit(_prepare_in_worker, [item.raw for item in batch], storage.location(config),
                                 config["MAX_ATTACHMENT_BYTES"])

    @staticmethod
    def prepared(handle):
        """[Prepared] of a submitted batch; None if the parser process failed (the gateway then does it all)."""
        try:
            return handle.result()
        except Exception:
            log.warning("mail parser process failed; the gateway prepares the batch itself", exc_info=True)
            return None

    @staticmethod
    def parsed(stored, prepared) -> dict:
        """{inbound id: ParsedMail} for the stored new messages (their sanitised HTML kept for the ticket
        service)."""
        parsed = {}
        for (_item, row), ready in zip(stored, prepared, strict=True):
            if row is None or ready.mail is None:
                continue
            parsed[sa.inspect(row).identity[0]] = ready.mail
            if ready.cleaned is not None:
                remember_cleaned(*ready.cleaned)
        return parsed

    def run_job(self, config, task, args):
        """Run a background job (see jobs.run_task) in a parser process, in an app made from ``config``
        there; returns a Future. ``helpdesk mail ingest`` writes the search index there while it sends the
        acknowledgements itself."""
        return self._pool.submit(run_job_in_worker, config, task, args)

    def prepare_jobs(self, config):
        """Build the app ``run_job`` needs in the parser process now, while the mail is still coming in, rather
        than when the first job arrives at the end."""
        self._pool.submit(_worker_app_for, config)

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)


_worker_app = None


def _worker_app_for(config):
    global _worker_app
    if _worker_app is None:
        from helpdesk import create_app

        _worker_app = create_app(None, config, http=False)  # it runs jobs, it serves no page
    return _worker_app


def run_job_in_worker(config, task, args):
    return run_task(task, *args, app=_worker_app_for(config))


def ingest(items, department_name=None, on_stored=None):
    """Store a batch (one commit), then process each new message in arrival order."""
    return process_stored(store_batch(items, on_stored=on_stored), department_name)


def process_pending(mailbox=None, limit=1000, should_stop=lambda: False, department_name=None):
    """Process stored but unprocessed messages (left by a crash) in arrival order."""
    query = sa.select(InboundMessage).where(InboundMessage.status == RECEIVED).order_by(InboundMessage.id).limit(limit)
    if mailbox is not None:
        query = query.where(InboundMessage.mailbox == mailbox)
    rows = db.session.scalars(query).all()
    db.session.rollback()  # end the read, so the batch below starts as a write transaction
    return process_stored([(Fetched(row.mailbox, b"", label=f"inbound {row.id}"), row) for row in rows],
                          department_name, should_stop) if rows else []


def retry(actor, inbound_id) -> Outcome:
    """Run a quarantined (or ignored) message through the pipeline again. Agents only."""
    access.require_agent(actor)
    row = db.session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound()
    row.status = RECEIVED
    return process(row)
