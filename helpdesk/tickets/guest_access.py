"""What a guest does through their link (see guest_links): answer the ticket as if they had replied by mail, or,
holding an expired link, have a new one mailed to the address the old one was for."""
from helpdesk.db import commit_service_call
from helpdesk.errors import Conflict
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.tickets import guest_links, notifications, service
from helpdesk.tickets.guest_links import EXPIRED, GUEST_LINK, GuestLinkInvalid


class TicketMerged(Conflict):
    message = _l("This ticket was merged into another one; answer there.")


def reply(visit, *, body_text, attachments=()):
    """Add the guest's answer to ``visit``'s ticket (the caller read it from a valid link), written by the link's
    address as a mail from it would be: it reopens an answered, waiting or closed ticket. TicketMerged on a
    merged ticket (its conversation continues elsewhere)."""
    if visit.ticket.merged_into_id is not None:
        raise TicketMerged()
    return service.add_customer_message(GUEST_LINK, visit.ticket, body_text=body_text, attachments=attachments,
                                        source="web", author_email=visit.email, author_name=visit.name)


def mail_new_link(token, locale):
    """Mail a fresh link to whom the expired guest link ``token`` was for, in ``locale``; it goes only to that
    address, never to whoever holds the old link. GuestLinkInvalid for any link that is not merely expired (a
    revoked link gets no replacement: the next mail from staff brings one)."""
    try:
        visit = guest_links.read_link(token)
    except GuestLinkInvalid as exc:
        if exc.reason != EXPIRED:
            raise
        visit = exc.visit
    else:
        raise GuestLinkInvalid(guest_links.INVALID)  # still valid: nothing to replace
    notifications.mail_guest_link(visit.ticket, visit.participant, locale)
    commit_service_call(db.session)
    return visit
