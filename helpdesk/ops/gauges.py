"""The gauges /metrics reads at scrape time, one function per source, each yielding metric families. Every
query is a count or a minimum along an index (status first), so a scrape stays cheap on a large desk."""
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily

from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.inbound.models import QUARANTINED, RECEIVED, InboundMessage, MailboxState
from helpdesk.jobs import pending_status, queue_name
from helpdesk.notify.models import PENDING, SENDING, OutboxEmail
from helpdesk.webhooks.models import WAITING, WebhookDelivery


def _age(oldest, now) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def _gauge(name, documentation, value):
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def outbox(app):
    now = utcnow()
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxEmail.created_at))
        .where(OutboxEmail.status.in_((PENDING, SENDING)))).one()
    yield _gauge("helpdesk_outbox_pending", "Outgoing emails not sent yet (waiting or being sent).", count)
    yield _gauge("helpdesk_outbox_oldest_pending_age_seconds",
                 "Age of the oldest outgoing email not sent yet (0: none).", _age(oldest, now))


def search_index(app):
    count, oldest = pending_status("helpdesk.search.")
    yield _gauge("helpdesk_search_pending_updates", "Search-index updates asked for and not done yet.", count)
    yield _gauge("helpdesk_search_oldest_pending_age_seconds",
                 "Age of the oldest search-index update not done yet (0: none).", _age(oldest, utcnow()))


def gateway(app):
    now = utcnow()
    polled = GaugeMetricFamily("helpdesk_gateway_seconds_since_progress",
                               "Per IMAP mailbox: seconds since the gateway last recorded reading it "
                               "(mailbox_states.updated_at).", labels=["mailbox"])
    for mailbox, updated_at in db.session.execute(sa.select(MailboxState.mailbox, MailboxState.updated_at)):
        polled.add_metric([mailbox], _age(updated_at, now))
    yield polled
    waiting = GaugeMetricFamily("helpdesk_gateway_oldest_unprocessed_age_seconds",
                                "Per mailbox: age of the oldest stored message not processed yet.",
                                labels=["mailbox"])
    unprocessed = GaugeMetricFamily("helpdesk_gateway_unprocessed",
                                    "Per mailbox: stored messages not processed yet.", labels=["mailbox"])
    rows = db.session.execute(
        sa.select(InboundMessage.mailbox, sa.func.count(), sa.func.min(InboundMessage.received_at))
        .where(InboundMessage.status == RECEIVED).group_by(InboundMessage.mailbox))
    for mailbox, count, oldest in rows:
        waiting.add_metric([mailbox], _age(oldest, now))
        unprocessed.add_metric([mailbox], count)
    yield waiting
    yield unprocessed


def quarantine(app):
    count = db.session.scalar(sa.select(sa.func.count()).where(InboundMessage.status == QUARANTINED))
    yield _gauge("helpdesk_quarantine_messages", "Inbound messages in quarantine, waiting for an agent.", count)


def webhooks(app):
    now = utcnow()
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(WebhookDelivery.created_at))
        .where(WebhookDelivery.status.in_(WAITING))).one()
    yield _gauge("helpdesk_webhook_deliveries_pending", "Webhook deliveries still to be sent (or retried).", count)
    yield _gauge("helpdesk_webhook_oldest_pending_age_seconds",
                 "Age of the oldest webhook delivery still to be sent (0: none).", _age(oldest, now))


def queues(app):
    if not app.config.get("REDIS_URL"):
        return
    from helpdesk.ops.health import probe_redis

    depth = GaugeMetricFamily("helpdesk_queue_jobs", "Jobs waiting in each rq queue.", labels=["queue"])
    client = probe_redis(app)  # short timeouts: a dead Redis must not hang the scrape
    for name in app.config["METRICS_QUEUES"]:
        depth.add_metric([name], client.llen(f"rq:queue:{queue_name(app, name)}"))
    yield depth
