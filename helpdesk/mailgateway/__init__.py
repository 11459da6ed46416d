"""Inbound mail: fetch (IMAP, Maildir) → store raw → parse → classify → thread → act through the ticket store."""


def init_app(app):
    """Lend the inbound domain what only the gateway can do with stored mail (see helpdesk.inbound.gateway)."""
    from helpdesk.inbound.gateway import MailGateway, register
    from helpdesk.mailgateway import delivery, pipeline, quarantine

    register(app, MailGateway(retry=pipeline.retry, read=quarantine.read_for_ticket,
                              received_headers=delivery.received_headers,
                              message_id_inside=delivery.message_id_inside))
