"""A ticket's messages as display items, shared by the customer's ticket page and the agent's workspace."""
from markupsafe import Markup

from helpdesk.sanitize import text_to_html
from helpdesk.tickets.events import describe_event
from helpdesk.tickets.models import SYSTEM_EVENT
from helpdesk.tickets.quoting import split_quoted


def thread_items(messages):
    """Events as sentences; bodies with their quoted history split off to be collapsed."""
    items = []
    for message in messages:
        if message.kind == SYSTEM_EVENT:
            items.append({"message": message, "event": describe_event(message.event)})
            continue
        new, quoted = split_quoted(message.body_text)
        # text_to_html escapes; body_html was sanitised (clean_html) by the ticket store before it was stored.
        if quoted:
            body = Markup(text_to_html(new))  # noqa: S704
        else:
            body = Markup(message.body_html or text_to_html(message.body_text))  # noqa: S704
        items.append({"message": message, "body": body, "quoted": quoted})
    return items
