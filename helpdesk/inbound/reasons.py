"""Why the gateway did what it did, as a code with values, so each reader sees it in their language."""
from helpdesk.i18n import lazy_gettext as _l

REASONS = {
    "no_sender": _l("The message has no sender address, so there is no one to answer."),
    "loop": _l("The helpdesk sent this message itself."),
    "own_address": _l("Mail from the helpdesk's own address %(sender)s."),
    "blocked": _l("The sender %(sender)s is blocked."),
    "bounce": _l("A delivery failure report (bounce)."),
    "auto_reply": _l("An automatic reply (%(detail)s)."),
    "mailing_list": _l("Mail from a mailing list."),
    "suspected_bounce": _l("It looks like a delivery failure report, so no acknowledgement was sent."),
    "noreply": _l("The sender %(sender)s does not take replies, so no acknowledgement was sent."),
    "null_sender": _l("The message has no return address (mail servers send their notices so), so no "
                      "acknowledgement was sent."),
    "rate_quiet": _l("%(count)s messages from %(sender)s within an hour: added without automatic answers."),
    "rate_ignored": _l("%(count)s messages from %(sender)s within an hour: this looks like a mail loop."),
    "unauthenticated": _l("A message for ticket #%(number)s failed sender authentication (DMARC/SPF/DKIM)."),
    "stranger": _l("A message for ticket #%(number)s came from %(sender)s, who is not on the ticket."),
    "ambiguous_sender": _l("A message for ticket #%(number)s does not name exactly one sender in its From "
                           "header, so it is not known who wrote it."),
    "agent_unverified": _l("A message from the agent address %(sender)s could not be verified: no DMARC pass "
                           "for its domain from a trusted mail server, and it was not sent to a reply address "
                           "made for that agent."),
    "unreadable": _l("Not a readable email: %(detail)s"),
    "outlook_no_converter": _l("An Outlook message (.msg file) that cannot be read here: the msgconvert program "
                               "(%(program)s) is not installed or does not run. Once it does, try the message "
                               "again."),
    "outlook_damaged": _l("An Outlook file (.msg) that could not be converted to email: it is damaged, or it is "
                          "not a message."),
    "refused": _l("The ticket store refused the message: %(detail)s"),
    "failed": _l("Processing failed at the %(step)s step: %(detail)s"),
}


def describe(code, params=None) -> str:
    """The reason in the current language; unknown codes and bad values degrade to something readable."""
    template = REASONS.get(code)
    if template is None:
        return str(_l("Held for a reason this version of the helpdesk has no words for (%(code)s).",
                      code=code)) if code else ""
    params = dict(params or {})
    if "step" in params:
        params["step"] = step_label(params["step"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


# What became of a message, and the pipeline's steps, as people read them.
OUTCOMES = {
    "new_ticket": _l("new ticket"),
    "added": _l("added to the ticket"),
    "agent_reply": _l("agent reply"),
    "auto_reply": _l("automatic reply, not answered"),
    "bounce": _l("delivery failure report"),
    "loop": _l("sent by the helpdesk itself"),
    "blocked": _l("blocked sender"),
    "rate_limited": _l("too many messages from this sender"),
    "mailing_list": _l("mailing list, not answered"),
    "duplicate": _l("already received"),
    "quarantined": _l("quarantined"),
    "opened_by_hand": _l("ticket opened by hand"),
}
STEPS = {"fetch": _l("fetching from the mailbox"), "store": _l("storing the original"), "parse": _l("reading"),
         "classify": _l("sorting"), "thread": _l("finding the ticket"), "route": _l("finding the department"),
         "act": _l("updating the ticket")}


def outcome_label(code) -> str:
    """What became of a message, in the reader's language (an unknown code says so rather than showing it)."""
    if not code:
        return ""
    return str(OUTCOMES.get(code) or _l("another outcome (%(code)s)", code=code))


def step_label(code) -> str:
    """The pipeline step, in the reader's language."""
    if not code:
        return ""
    return str(STEPS.get(code) or _l("another step (%(code)s)", code=code))
