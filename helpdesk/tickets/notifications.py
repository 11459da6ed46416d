"""Who hears about what happens on a ticket. Each rule names the people and the kind of notice and hands it to
the notification channels (notify/channels.py); how a notice reads as an email is tickets/mail_notices.py."""
from flask import current_app

from helpdesk.accounts.contacts import PURPOSE_SUPPORT, addresses_for
from helpdesk.notify.channels import Notice, Recipient, notify
from helpdesk.tickets.models import REQUESTER


def _recipients(ticket, exclude=()):
    """The requester (at their support addresses) and every CC, each once, in their language."""
    seen = set(e.lower() for e in exclude if e)
    default = current_app.config["DEFAULT_LOCALE"]
    result = []
    for participant in ticket.participants:
        user = participant.user
        if participant.role == REQUESTER and _writes_to_support_addresses(ticket, user):
            people = _requester(ticket)
        else:
            people = [Recipient(
                email=participant.email, name=participant.name or (user.full_name if user else ""),
                locale=(user and user.locale) or default, user_id=user.id if user else None,
                is_agent=bool(user and user.is_agent))]
        for person in people:
            if person.email not in seen:
                seen.add(person.email)
                result.append(person)
    return tuple(result)


def _writes_to_support_addresses(ticket, user) -> bool:
    """A customer's ticket mail goes to the support addresses they confirmed; not while the ticket waits for the
    owner of the address a guest typed to confirm it (that mail is for the address's owner alone)."""
    return user is not None and user.is_customer and not ticket.requester_unconfirmed


def _requester(ticket):
    """The requester as recipients: a customer at their support addresses (the login's own until they confirm
    others); the ticket stays theirs, whichever address the mail goes to."""
    user = ticket.requester
    if not _writes_to_support_addresses(ticket, user):
        return [_person(user)]
    locale = user.locale or current_app.config["DEFAULT_LOCALE"]
    return [Recipient(email=address.email, name=address.name, locale=locale, user_id=user.id)
            for address in addresses_for(user, PURPOSE_SUPPORT)]


def _person(user, name=None):
    return Recipient(email=user.email, name=name if name is not None else user.full_name,
                     locale=user.locale or current_app.config["DEFAULT_LOCALE"], user_id=user.id,
                     is_agent=user.is_agent)


def acknowledge_new_ticket(ticket, message, new_ticket=False, batch=None):
    """Tell the requester and CCs that their ticket exists, with its number (an automatic reply)."""
    notify(Notice("ticket.acknowledgement", _recipients(ticket),
                  {"ticket": ticket, "message": message, "new_ticket": new_ticket}, automatic=True), batch)


def agent_replied(ticket, message, batch=None):
    """Send an agent's reply to the requester and every CC."""
    notify(Notice("ticket.agent_reply", _recipients(ticket), {"ticket": ticket, "message": message}), batch)


def ticket_closed(ticket):
    """Tell the requester their ticket was closed, with one-click links to rate it good or bad."""
    notify(Notice("ticket.closed", tuple(_requester(ticket)), {"ticket": ticket}, automatic=True))


def mail_guest_link(ticket, participant, locale):
    """Send a fresh guest link to ``participant`` (a guest of ``ticket``) who asked for one, in ``locale``."""
    recipient = Recipient(email=participant.email, name=participant.name, locale=locale)
    notify(Notice("ticket.guest_link", (recipient,), {"ticket": ticket, "participant": participant},
                  automatic=True))


def sla_breached(ticket, clock, due, agents):
    """Tell ``agents`` that ``clock`` (its label) of the ticket ran out at ``due``."""
    notify(Notice("ticket.sla_breach", tuple(_person(agent) for agent in agents),
                  {"ticket": ticket, "clock": clock, "due": due}, automatic=True))
