"""Ticket notices as email (the email channel's composers for "ticket.*" notices, see notify/channels.py):
From and Reply-To per department (Reply-To naming the agent for mail to agents), threading headers so each
mail lands in the recipient's thread, and the templates, rendered in each recipient's language when the mail
goes out. The ticket rules that decide who hears about what are in tickets/notifications.py."""
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from helpdesk.db import ensure_ids
from helpdesk.extensions import db
from helpdesk.notify import channels
from helpdesk.notify.models import OutboxEmail
from helpdesk.notify.service import new_message_id, queue_email, renderer_moved
from helpdesk.tickets import guest_links, requester_confirmation
from helpdesk.tickets.models import INTERNAL_NOTE, SYSTEM_EVENT, Message, Participant, Ticket
from helpdesk.tickets.reply_matching import remember, reply_address, subject_tag
from helpdesk.tickets.satisfaction import BAD, GOOD, rating_link

_MAX_REFERENCES = 10


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


class _NoMessage:
    """Stands for "no message" where the threading helpers expect one (closing adds no message)."""

    id = -1
    kind = SYSTEM_EVENT
    message_id = None
    attachments = ()


def _render_later(notice, recipients, batch, template):
    """One outbox row per recipient, rendered in the recipient's language when it is delivered."""
    ticket, message = notice.about["ticket"], notice.about["message"]
    sender, reply_to = _addresses(ticket)
    earlier, last_sent = _thread_history(ticket, message, [r.email for r in recipients],
                                         notice.about.get("new_ticket", False))
    ensure_ids(db.session, ticket, message)
    # A customer's mail may go to their support addresses; its link is the one their own address would get.
    own_address = {p.user.id: p.email for p in ticket.participants if p.user is not None}
    for recipient in recipients:
        own_reply_to = _addresses(ticket, recipient.user_id)[1] if recipient.is_agent else reply_to
        headers = {"Reply-To": own_reply_to, **_threading(message, earlier, last_sent.get(recipient.email))}
        if notice.automatic:
            headers["Auto-Submitted"] = "auto-replied"
        attachments = [{"key": a.sha256, "filename": a.filename, "content_type": a.content_type}
                       for a in message.attachments] if template == "agent_reply" else []
        message_id = new_message_id(str(ticket.number))
        remember(ticket, message_id=message_id, batch=batch)
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name, headers=headers,
                    attachments=attachments, message_id=message_id, render_with=render_outbox, ticket_id=ticket.id,
                    render_args={"template": template, "ticket": ticket.id, "message": message.id,
                                 "locale": recipient.locale,
                                 **_link_as(own_address.get(recipient.user_id), recipient.email)})


def _link_as(own, email):
    return {"link_as": own} if own and own != email else {}


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
                   "ticket_link": guest_links.ticket_link(ticket, args.get("link_as") or row.recipient),
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
            + guest_links.prefetch_generations(ticket_ids))


render_outbox.prefetch = _prefetch_outbox


def _confirm_link(ticket, row, template):
    """The "yes, I sent this" link, in the acknowledgement to the owner of an address a guest typed."""
    if template != "acknowledgement" or not ticket.requester_unconfirmed or row.recipient != ticket.requester.email:
        return None
    return requester_confirmation.confirm_link(ticket)


def _once(notice, recipients, template, subject, **extra):
    """Render ``template`` for each recipient now, in their language, and queue it (automatic mail)."""
    ticket = notice.about["ticket"]
    sender, reply_to = _addresses(ticket)
    earlier, last_sent = _thread_history(ticket, _NoMessage, [r.email for r in recipients], new_ticket=False)
    config = current_app.config
    for recipient in recipients:
        with force_locale(recipient.locale or config["DEFAULT_LOCALE"]):
            context = {"ticket": ticket, "recipient_name": recipient.name, "brand": config["BRAND_NAME"],
                       "base_url": config["BASE_URL"], **{k: v(recipient) if callable(v) else v
                                                         for k, v in extra.items()}}
            text = render_template(f"tickets/mail/{template}.txt", **context)
            html = render_template(f"tickets/mail/{template}.html", **context)
            subject_line = f"{subject_tag(ticket.number)} {subject(ticket, context)}"
        headers = {"Reply-To": reply_to, "Auto-Submitted": "auto-generated",
                   **_threading(_NoMessage, earlier, last_sent.get(recipient.email))}
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name, subject=subject_line,
                    body_text=text, body_html=html, headers=headers, ticket_id=ticket.id,
                    message_id=new_message_id(str(ticket.number)))


def _closed(notice, recipients, batch):
    ticket = notice.about["ticket"]
    _once(notice, recipients, "closed",
          lambda t, _c: _("Your request was closed: %(subject)s", subject=t.subject),
          good_link=rating_link(ticket, GOOD), bad_link=rating_link(ticket, BAD))


def _guest_link(notice, recipients, batch):
    ticket, participant = notice.about["ticket"], notice.about["participant"]
    _once(notice, recipients, "guest_link",
          lambda t, _c: _("Your link to ticket #%(number)s: %(subject)s", number=t.number, subject=t.subject),
          link=guest_links.guest_link(ticket, participant),
          guest_link_days=current_app.config["GUEST_LINK_DAYS"])


def _sla_breach(notice, recipients, batch):
    """To agents: the ticket's SLA clock ran out (From the department's address, no Reply-To to answer)."""
    ticket, clock, due = notice.about["ticket"], notice.about["clock"], notice.about["due"]
    config = current_app.config
    department = ticket.department
    sender = (department and (department.reply_from_address or department.inbound_address)) \
        or config["MAIL_DEFAULT_FROM"]
    sender = formataddr((config["BRAND_NAME"], sender))
    for recipient in recipients:
        with force_locale(recipient.locale or config["DEFAULT_LOCALE"]):
            context = {"ticket": ticket, "clock": str(clock), "due": due, "recipient_name": recipient.name,
                       "brand": config["BRAND_NAME"], "url": f"{config['BASE_URL']}/agent/tickets/{ticket.number}"}
            text = render_template("tickets/mail/sla_breach.txt", **context)
            html = render_template("tickets/mail/sla_breach.html", **context)
            subject = _("%(tag)s SLA breached (%(clock)s): %(subject)s", tag=subject_tag(ticket.number),
                        clock=context["clock"], subject=ticket.subject)
        queue_email(sender=sender, recipient=recipient.email, recipient_name=recipient.name, subject=subject,
                    body_text=text, body_html=html, headers={"Auto-Submitted": "auto-generated"},
                    ticket_id=ticket.id, message_id=new_message_id(str(ticket.number)))


def register():
    """Tell the email channel how to write each kind of ticket notice."""
    channels.email.compose("ticket.acknowledgement",
                           lambda n, r, b: _render_later(n, r, b, "acknowledgement"))
    channels.email.compose("ticket.agent_reply", lambda n, r, b: _render_later(n, r, b, "agent_reply"))
    channels.email.compose("ticket.closed", _closed)
    channels.email.compose("ticket.guest_link", _guest_link)
    channels.email.compose("ticket.sla_breach", _sla_breach)
    # Mail queued before these notices moved here names the old place of its renderer.
    renderer_moved("helpdesk.tickets.notifications.render_outbox", render_outbox)
