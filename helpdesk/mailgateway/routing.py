"""Thread a parsed mail to a ticket: the signed token in a recipient address, then the subject tag,
then In-Reply-To and References against every Message-ID the helpdesk stored or sent."""
from dataclasses import dataclass

from helpdesk.tickets import reply_matching
from helpdesk.tickets.models import Ticket


@dataclass(frozen=True)
class Route:
    ticket: Ticket | None
    via: str | None  # "token", "subject", "headers" or None for a new ticket


def thread_for(mail, batch=None) -> Route:
    """The ticket ``mail`` belongs to and how it was found (``batch``: the gateway's, for tickets it opened)."""
    for address in mail.all_recipients:
        number = reply_matching.number_from_address(address)
        if number is not None and (ticket := reply_matching.ticket_by_number(number, batch)) is not None:
            return Route(ticket, "token")
    number = reply_matching.number_from_subject(mail.subject)
    if number is not None and (ticket := reply_matching.ticket_by_number(number, batch)) is not None:
        return Route(ticket, "subject")
    # Newest first: the message replied to, then the References chain from its end.
    candidates = list(mail.in_reply_to) + list(reversed(mail.references))
    ticket = reply_matching.ticket_for_message_ids(candidates, batch)
    if ticket is not None:
        return Route(ticket, "headers")
    return Route(None, None)
