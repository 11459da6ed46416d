"""System events of a ticket's thread (stored as data on the message) as sentences in the reader's language."""
from flask_babel import format_decimal
from flask_babel import gettext as _

from helpdesk.notify.addresses import NEEDS_SMTPUTF8
from helpdesk.tickets.models import PRIORITIES, STATUSES


def format_size(size) -> str:
    """A file size as readers read it: "3 KB", "1.5 MB"."""
    try:
        size = int(size)
    except (TypeError, ValueError):
        return "?"
    if size >= 1024 * 1024:
        return _("%(num)s MB", num=format_decimal(round(size / (1024 * 1024), 1)))
    return _("%(num)s KB", num=format_decimal(max(1, round(size / 1024))))


def _status(code):
    return str(STATUSES.get(code, code or ""))


def _priority(code):
    return str(PRIORITIES.get(code, code or ""))


def _not_acknowledged(reason, sender) -> str:
    """Why a ticket opened by mail got no acknowledgement (reason codes of the mail gateway's rules)."""
    if reason == "mailing_list":
        return _("No acknowledgement was sent: the message came from a mailing list or a newsletter.")
    if reason == "suspected_bounce":
        return _("No acknowledgement was sent: the message looks like a delivery failure report.")
    if reason == "noreply":
        return _("No acknowledgement was sent: the sender %(sender)s does not take replies.", sender=sender)
    if reason == "null_sender":
        return _("No acknowledgement was sent: the message has no return address, as a mail server's notices do.")
    if reason in ("rate_quiet", "rate_limited"):
        return _("No acknowledgement was sent: the sender sent many messages within an hour.")
    return _("No acknowledgement was sent: the message was sent automatically.")


def _status_changed(event):
    return _("Status changed from %(old)s to %(new)s.", old=_status(event.get("from")), new=_status(event.get("to")))


def _subject_changed(event):
    return _("Subject changed from “%(old)s” to “%(new)s”.", old=event.get("from", ""), new=event.get("to", ""))


def _priority_changed(event):
    return _("Priority changed from %(old)s to %(new)s.", old=_priority(event.get("from")),
             new=_priority(event.get("to")))


def _department_changed(event):
    old, new = event.get("from") or "", event.get("to") or ""
    if not new:
        return _("Department %(old)s removed.", old=old)
    if not old:
        return _("Department set to %(new)s.", new=new)
    return _("Department changed from %(old)s to %(new)s.", old=old, new=new)


def _assignee_changed(event):
    name = event.get("to") or ""
    return _("Assigned to %(name)s.", name=name) if name else _("No longer assigned to anyone.")


def _cc_added(event):
    return _("%(email)s was added in copy.", email=event.get("email", ""))


def _cc_dropped(event):
    if event.get("kind") == NEEDS_SMTPUTF8:
        return _("%(email)s was not added in copy: our mail server cannot send to addresses with accents or "
                 "non-Latin letters before the @.", email=event.get("email", ""))
    return _("%(email)s was not added in copy: it is not an address email can be sent to (%(detail)s).",
             email=event.get("email", ""), detail=event.get("detail", ""))


def _sender_fallback(event):
    return _("The From header named no address email can be sent to, so the address in %(header)s, "
             "%(email)s, was taken as the sender.", header=event.get("header", ""), email=event.get("email", ""))


def _cc_removed(event):
    return _("%(email)s was removed from copy.", email=event.get("email", ""))


def _linked(event):
    return _("This ticket follows up ticket #%(number)s.", number=event.get("number", ""))


def _from_chat(event):
    return _("This ticket was opened from live chat #%(chat)s.", chat=event.get("chat", ""))


def _merged_in(event):
    return _("Ticket #%(number)s (%(subject)s) was merged into this ticket.", number=event.get("number", ""),
             subject=event.get("subject", ""))


def _merged_into(event):
    return _("This ticket was merged into ticket #%(number)s (%(subject)s).", number=event.get("number", ""),
             subject=event.get("subject", ""))


def _requester_changed(event):
    return _("The requester changed from %(old)s to %(new)s.", old=event.get("from", ""), new=event.get("to", ""))


def _requester_confirmed(event):
    return _("The requester confirmed by email that they sent this request.")


def _organisation_changed(event):
    new = event.get("to") or ""
    return (_("Organisation set to %(name)s.", name=new) if new
            else _("Organisation %(name)s removed.", name=event.get("from", "")))


def _bounce(event):
    detail = event.get("detail") or ""
    if detail:
        return _("An email about this ticket could not be delivered (%(detail)s).", detail=detail)
    return _("An email about this ticket could not be delivered.")


def _auto_reply(event):
    return _("An automatic reply from %(sender)s was received: %(subject)s",
             sender=event.get("from", ""), subject=event.get("subject", ""))


def _attachment_dropped(event):
    return _("The attachment %(name)s (%(size)s) was not kept: it is larger than the limit.",
             name=event.get("name", ""), size=format_size(event.get("size")))


def _sla_breach(event):
    if event.get("clock") == "first_response":
        return _("The first response target was breached.")
    return _("The resolution target was breached.")


# One sentence per event type (the "type" the ticket store writes).
_SENTENCES = {
    "status": _status_changed,
    "subject": _subject_changed,
    "priority": _priority_changed,
    "department": _department_changed,
    "assignee": _assignee_changed,
    "cc-added": _cc_added,
    "cc-dropped": _cc_dropped,
    "sender-fallback": _sender_fallback,
    "not-acknowledged": lambda event: _not_acknowledged(event.get("reason"), event.get("sender", "")),
    "cc-removed": _cc_removed,
    "linked": _linked,
    "from-chat": _from_chat,
    "merged-in": _merged_in,
    "merged-into": _merged_into,
    "requester": _requester_changed,
    "requester-confirmed": _requester_confirmed,
    "organisation": _organisation_changed,
    "bounce": _bounce,
    "auto-reply": _auto_reply,
    "attachment-dropped": _attachment_dropped,
    "sla-breach": _sla_breach,
}


def describe_event(event) -> str:
    """One translated sentence for a stored event dict ({"type": "status", "from": ..., "to": ...})."""
    event = event if isinstance(event, dict) else {}
    kind = event.get("type")
    sentence = _SENTENCES.get(kind) if isinstance(kind, str) else None  # stored data: a list would not hash
    return sentence(event) if sentence is not None else _("The ticket was changed.")
