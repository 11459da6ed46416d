"""Who hears about what happens on a ticket, and the mail they get (rendered in each recipient's language)."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from helpdesk.db import ensure_ids
from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail
from helpdesk.notify.service import new_message_id, queue_email
from helpdesk.tickets import guest_links, requester_confirmation
from helpdesk.tickets.models import INTERNAL_NOTE, SYSTEM_EVENT, Message, Participant, Ticket
from helpdesk.tickets.reply_matching import remember, reply_address, subject_tag
from helpdesk.tickets.satisfaction import BAD, GOOD, rating_link

_MAX_REFERENCES = 10


def _recipients(ticket, exclude=()):
    """(email, name, locale, agent id or None) of the requester and every CC, each once."""
    seen = set(e.lower() for e in exclude if e)
    default = current_app.config["DEFAULT_LOCALE"]
    for participant in ticket.participants:
        if participant.email in seen:
            continue
        seen.add(participant.email)
        user = participant.user
        name = participant.name or (user.full_name if user else "")
        yield participant.email, name, (user and user.locale) or default, user.id if user and user.is_agent else None


def _addresses(ticket, agent_id=None):
    """(From, Reply-To) of mail about ``ticket``; the Reply-To of mail to an agent names that agent, so
    their emailed answer is known to be theirs (see mailgateway.authentication)."""
    config = current_app.config
    department = ticket.department
    inbound = (department and department.inbound_address) or config["MAIL_DEFAULT_FROM"]
    sender = (department and department.reply_from_address) or inbound
    display = f"{config['BRAND_NAME']} {department.name}" if department else config["BRAND_NAME"]
    reply_to = reply_address(inbound, ticket.number, agent_id) if config["MAIL_PLUS_ADDRESSING"] else inbound
    return formataddr((display, sender)), formataddr((display, reply_to))


def _thread_history(ticket, message, recipients, new_ticket):
    """(Message-IDs of the earlier public messages, {recipient: Message-ID of the last mail they got})."""
    if new_ticket:  # nothing was said or sent before the first message
        return [], {}
    earlier = db.session.scalars(
        sa.select(Message.message_id)
        .where(Message.ticket_id == ticket.id, Message.kind != INTERNAL_NOTE, Message.message_id.is_not(None),
               Message.id != message.id)
        .order_by(Message.id)
    ).all()
    last_sent = dict(db.session.execute(
        sa.select(OutboxEmail.recipient, OutboxEmail.message_id)
        .where(OutboxEmail.ticket_id == ticket.id, OutboxEmail.recipient.in_(recipients))
        .order_by(OutboxEmail.id)
    ).all())  # later rows overwrite earlier ones: the last mail per recipient
    return earlier, last_sent


def _threading(message, earlier, last_sent):
    """In-Reply-To and References for mail about ``message`` to one recipient: the thread's root, the
    recent public messages, and the last mail this recipient got on the ticket (the one they see)."""
    chain = earlier[:1] + earlier[1:][-(_MAX_REFERENCES - 2):]
    if message.kind == "customer" and message.message_id and not earlier:
        chain = [message.message_id]  # acknowledging the first message: it is the parent
    if last_sent:
        chain.append(last_sent)
    chain = list(dict.fromkeys(chain))
    parent = last_sent or (chain[-1] if chain else None)
    return {"In-Reply-To": parent, "References": " ".join(chain) or None}




def _queue(ticket, message, template, auto_submitted, exclude=(), new_ticket=False, batch=None):
    """One outbox row per recipient, rendered in the recipient's language when it is delivered."""
    sender, reply_to = _addresses(ticket)
    recipients = list(_recipients(ticket, exclude=exclude))
    earlier, last_sent = _thread_history(ticket, message, [r[0] for r in recipients], new_ticket)
    for email, name, locale, agent_id in recipients:
        own_reply_to = reply_to if agent_id is None else _addresses(ticket, agent_id)[1]
        headers = {"Reply-To": own_reply_to, **_threading(message, earlier, last_sent.get(email))}
        if auto_submitted:
            headers["Auto-Submitted"] = "auto-replied"
        attachments = [{"key": a.sha256, "filename": a.filename, "content_type": a.content_type}
                       for a in message.attachments] if template == "agent_reply" else []
        mail = dict(sender=sender, recipient=email, recipient_name=name, headers=headers,
                    attachments=attachments, message_id=new_message_id(str(ticket.number)),
                    render_with=render_outbox)
        remember(ticket, message_id=mail["message_id"], batch=batch)

        ensure_ids(db.session, ticket, message)
        queue_email(**mail, ticket_id=ticket.id, render_args={
            "template": template, "ticket": ticket.id, "message": message.id, "locale": locale})


_SUBJECTS = {
    "acknowledgement": lambda ticket: _("We received your request: %(subject)s", subject=ticket.subject),
    "agent_reply": lambda ticket: ticket.subject,
}


def render_outbox(row):
    """Render a ticket mail queued by ``_queue`` (called by the delivery job, see notify.render)."""
    args = row.render_args
    ticket = db.session.get(Ticket, args["ticket"])
    message = db.session.get(Message, args["message"])
    template = args["template"]
    with force_locale(args["locale"]):
        context = {"ticket": ticket, "message": message, "recipient_name": row.recipient_name,
                   "brand": current_app.config["BRAND_NAME"], "base_url": current_app.config["BASE_URL"],
                   "confirm_link": _confirm_link(ticket, row, template),
                   # Made now, as the mail goes out: a guest link is fresh, of the ticket's current generation.
                   "ticket_link": guest_links.ticket_link(ticket, row.recipient),
                   "guest_link_days": current_app.config["GUEST_LINK_DAYS"]}
        row.body_text = render_template(f"tickets/mail/{template}.txt", **context)
        row.body_html = render_template(f"tickets/mail/{template}.html", **context)
        row.subject = f"{subject_tag(ticket.number)} {_SUBJECTS[template](ticket)}"


def _prefetch_outbox(rows):
    """The tickets (with their participants and guest-link generations) and messages of ``rows``, in a few
    queries, for ``render_outbox``."""
    ticket_ids = {row.render_args["ticket"] for row in rows}
    message_ids = {row.render_args["message"] for row in rows}
    return (db.session.scalars(sa.select(Ticket).where(Ticket.id.in_(ticket_ids)).options(
                selectinload(Ticket.participants).joinedload(Participant.user))).all()
            + db.session.scalars(sa.select(Message).where(Message.id.in_(message_ids))).all()
            + db.session.scalars(sa.select(guest_links.TicketGuestLinks)
                                 .where(guest_links.TicketGuestLinks.ticket_id.in_(ticket_ids))).all())


render_outbox.prefetch = _prefetch_outbox


def _confirm_link(ticket, row, template):
    """The "yes, I sent this" link, in the acknowledgement to the owner of an address a guest typed."""
    if template != "acknowledgement" or not ticket.requester_unconfirmed or row.recipient != ticket.requester.email:
        return None
    return requester_confirmation.confirm_link(ticket)


def acknowledge_new_ticket(ticket, message, new_ticket=False, batch=None):
    """Tell the requester and CCs that their ticket exists, with its number (an automatic reply)."""
    _queue(ticket, message, "acknowledgement", auto_submitted=True, new_ticket=new_ticket, batch=batch)


def agent_replied(ticket, message, batch=None):
    """Send an agent's reply to the requester and every CC."""
    _queue(ticket, message, "agent_reply", auto_submitted=False, batch=batch)


class _NoMessage:
    """Stands for "no message" where the threading helpers expect one (closing adds no message)."""

    id = -1
    kind = SYSTEM_EVENT
    message_id = None
    attachments = ()


def ticket_closed(ticket):
    """Tell the requester their ticket was closed, with one-click links to rate it good or bad."""
    requester = ticket.requester
    sender, reply_to = _addresses(ticket)
    locale = requester.locale or current_app.config["DEFAULT_LOCALE"]
    earlier, last_sent = _thread_history(ticket, _NoMessage, [requester.email], new_ticket=False)
    with force_locale(locale):
        context = {"ticket": ticket, "recipient_name": requester.full_name, "brand": current_app.config["BRAND_NAME"],
                   "base_url": current_app.config["BASE_URL"], "good_link": rating_link(ticket, GOOD),
                   "bad_link": rating_link(ticket, BAD)}
        text = render_template("tickets/mail/closed.txt", **context)
        html = render_template("tickets/mail/closed.html", **context)
        closed = _("Your request was closed: %(subject)s", subject=ticket.subject)
        subject_line = f"{subject_tag(ticket.number)} {closed}"
    headers = {"Reply-To": reply_to, "Auto-Submitted": "auto-generated",
               **_threading(_NoMessage, earlier, last_sent.get(requester.email))}
    queue_email(sender=sender, recipient=requester.email, recipient_name=requester.full_name, subject=subject_line,
                body_text=text, body_html=html, headers=headers, ticket_id=ticket.id,
                message_id=new_message_id(str(ticket.number)))


def mail_guest_link(ticket, participant, locale):
    """Mail a fresh guest link to ``participant`` (a guest of ``ticket``) who asked for one, in ``locale``."""
    sender, reply_to = _addresses(ticket)
    earlier, last_sent = _thread_history(ticket, _NoMessage, [participant.email], new_ticket=False)
    with force_locale(locale):
        context = {"ticket": ticket, "recipient_name": participant.name, "brand": current_app.config["BRAND_NAME"],
                   "link": guest_links.guest_link(ticket, participant),
                   "guest_link_days": current_app.config["GUEST_LINK_DAYS"]}
        text = render_template("tickets/mail/guest_link.txt", **context)
        html = render_template("tickets/mail/guest_link.html", **context)
        subject = _("Your link to ticket #%(number)s: %(subject)s", number=ticket.number, subject=ticket.subject)
    headers = {"Reply-To": reply_to, "Auto-Submitted": "auto-generated",
               **_threading(_NoMessage, earlier, last_sent.get(participant.email))}
    queue_email(sender=sender, recipient=participant.email, recipient_name=participant.name,
                subject=f"{subject_tag(ticket.number)} {subject}", body_text=text, body_html=html, headers=headers,
                ticket_id=ticket.id, message_id=new_message_id(str(ticket.number)))
