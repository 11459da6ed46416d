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


def describe_event(event) -> str:
    """One translated sentence for a stored event dict ({"type": "status", "from": ..., "to": ...})."""
    event = event if isinstance(event, dict) else {}
    kind = event.get("type")
    if kind == "status":
        return _("Status changed from %(old)s to %(new)s.", old=_status(event.get("from")),
                 new=_status(event.get("to")))
    if kind == "priority":
        return _("Priority changed from %(old)s to %(new)s.", old=_priority(event.get("from")),
                 new=_priority(event.get("to")))
    if kind == "department":
        old, new = event.get("from") or "", event.get("to") or ""
        if not new:
            return _("Department %(old)s removed.", old=old)
        if not old:
            return _("Department set to %(new)s.", new=new)
        return _("Department changed from %(old)s to %(new)s.", old=old, new=new)
    if kind == "assignee":
        name = event.get("to") or ""
        return _("Assigned to %(name)s.", name=name) if name else _("No longer assigned to anyone.")
    if kind == "cc-added":
        return _("%(email)s was added in copy.", email=event.get("email", ""))
    if kind == "cc-dropped":
        if event.get("kind") == NEEDS_SMTPUTF8:
            return _("%(email)s was not added in copy: our mail server cannot send to addresses with accents or "
                     "non-Latin letters before the @.", email=event.get("email", ""))
        return _("%(email)s was not added in copy: it is not an address email can be sent to (%(detail)s).",
                 email=event.get("email", ""), detail=event.get("detail", ""))
    if kind == "sender-fallback":
        return _("The From header named no address email can be sent to, so the address in %(header)s, "
                 "%(email)s, was taken as the sender.", header=event.get("header", ""), email=event.get("email", ""))
    if kind == "not-acknowledged":
        return _not_acknowledged(event.get("reason"), event.get("sender", ""))
    if kind == "cc-removed":
        return _("%(email)s was removed from copy.", email=event.get("email", ""))
    if kind == "linked":
        return _("This ticket follows up ticket #%(number)s.", number=event.get("number", ""))
    if kind == "merged-in":
        return _("Ticket #%(number)s (%(subject)s) was merged into this ticket.", number=event.get("number", ""),
                 subject=event.get("subject", ""))
    if kind == "merged-into":
        return _("This ticket was merged into ticket #%(number)s (%(subject)s).", number=event.get("number", ""),
                 subject=event.get("subject", ""))
    if kind == "requester":
        return _("The requester changed from %(old)s to %(new)s.", old=event.get("from", ""),
                 new=event.get("to", ""))
    if kind == "requester-confirmed":
        return _("The requester confirmed by email that they sent this request.")
    if kind == "organisation":
        new = event.get("to") or ""
        return (_("Organisation set to %(name)s.", name=new) if new
                else _("Organisation %(name)s removed.", name=event.get("from", "")))
    if kind == "bounce":
        detail = event.get("detail") or ""
        if detail:
            return _("An email about this ticket could not be delivered (%(detail)s).", detail=detail)
        return _("An email about this ticket could not be delivered.")
    if kind == "auto-reply":
        return _("An automatic reply from %(sender)s was received: %(subject)s",
                 sender=event.get("from", ""), subject=event.get("subject", ""))
    if kind == "attachment-dropped":
        return _("The attachment %(name)s (%(size)s) was not kept: it is larger than the limit.",
                 name=event.get("name", ""), size=format_size(event.get("size")))
    if kind == "sla-breach":
        if event.get("clock") == "first_response":
            return _("The first response target was breached.")
        return _("The resolution target was breached.")
    return _("The ticket was changed.")
