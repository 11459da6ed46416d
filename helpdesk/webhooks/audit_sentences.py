"""The webhooks' audit actions as sentences, and how the trail names an endpoint (its URL). Registered on import
(helpdesk.webhooks.init_app). The rows never hold a secret: a rotation says only that it happened."""
import sqlalchemy as sa

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.webhooks.models import DISABLED_REASONS, WebhookEndpoint


def _endpoints(ids):
    rows = db.session.execute(sa.select(WebhookEndpoint.id, WebhookEndpoint.url).where(WebhookEndpoint.id.in_(ids)))
    return {i: Ref("webhook-endpoint", i, url, key=i) for i, url in rows}


_FIELDS = {"url": _l("the URL"), "events": _l("the events"), "description": _l("the description"),
           "allow_private": _l("whether private network addresses are allowed")}


def _changed(reading):
    sentences = []
    if "enabled" in reading.changes:
        _old, new = pair(reading.changes["enabled"])
        sentences.append(reading.sentence(_l("Enabled the webhook endpoint %(name)s.") if new else
                                          _l("Disabled the webhook endpoint %(name)s.")))
    fields = [str(label) for key, label in _FIELDS.items() if key in reading.changes]
    if fields:
        sentences.append(reading.sentence(_l("Changed %(fields)s of the webhook endpoint %(name)s."),
                                          fields=", ".join(fields)))
    return sentences


def _disabled(reading):
    reason = reading.changes.get("reason")
    return reading.sentence(_l("Disabled the webhook endpoint %(name)s: %(reason)s"),
                            reason=str(DISABLED_REASONS.get(reason, reason or "")))


register_kind("webhook-endpoint", name=_l("Webhook endpoint"), describe=_endpoints)
register("webhook-endpoint", "created", _l("Registered the webhook endpoint %(name)s for %(events)s."))
register("webhook-endpoint", "changed", _changed)
register("webhook-endpoint", "secret-rotated", _l("Gave the webhook endpoint %(name)s a new signing secret."))
register("webhook-endpoint", "deleted", _l("Deleted the webhook endpoint %(url)s."))
register("webhook-endpoint", "redelivered", _l("Sent the event %(event)s (%(kind)s) to the webhook endpoint %(name)s "
                                               "again."))
register("webhook-endpoint", "tested", _l("Sent a test event to the webhook endpoint %(name)s."))
register("webhook-endpoint", "disabled", _disabled)
