"""The status-notice tests' world: billing_web's shop (Carla in Germany with web hosting, Bora in Turkey with a
domain, Reza in Iran with nothing live; Bilge is billing staff, Alex a plain agent) with live services, and a helper
that publishes a notice through the service."""
from datetime import UTC, datetime, timedelta

from helpdesk.billing.models import SERVICE_ACTIVE, Service
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.status_notices import service as notices
from tests.integration.billing_web import web_shop

TEXTS = {"en": {"title": "Web hosting cluster slow", "text": "Pages load slowly.\nWe are on it."},
         "de": {"title": "Webhosting-Cluster langsam", "text": "Seiten laden langsam.\nWir sind dran."}}


def give_service(account, product, status=SERVICE_ACTIVE, identifier=""):
    """A service of ``product`` for ``account`` in ``status`` (as if ordered and paid long ago)."""
    service = Service(account_id=account.id, product_id=product.id, cycle="monthly", currency=account.currency,
                      status=status, identifier=identifier, activated_at=utcnow() - timedelta(days=30))
    db.session.add(service)
    db.session.commit()
    return service


def status_shop():
    """web_shop with Carla's web hosting (carla.example) and Bora's domain, both active; Carla reads German in
    Berlin, Bora Turkish in Istanbul with a phone number."""
    shop = web_shop()
    shop.carla.locale, shop.carla.timezone = "de", "Europe/Berlin"
    shop.bora.locale, shop.bora.timezone, shop.bora.phone = "tr", "Europe/Istanbul", "+905321234567"
    db.session.commit()
    shop.carla_web = give_service(shop.carla_account, shop.web, identifier="carla.example")
    shop.bora_domain = give_service(shop.bora_account, shop.domain, identifier="bora-secret-domain.example")
    return shop


def publish(actor, *, kind="incident", products=(), services=(), texts=None, starts_at=None, ends_at=None,
            severity="major", status=None):
    """A notice published through the service (started an hour ago unless told)."""
    starts_at = starts_at or datetime.now(UTC) - timedelta(hours=1)
    return notices.publish_notice(actor, kind=kind, severity=severity, texts=texts or TEXTS, starts_at=starts_at,
                                  ends_at=ends_at, products=[p.id for p in products],
                                  services=[s.id for s in services], status=status)
