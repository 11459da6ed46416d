"""Issuing training-video licences: billing's fulfilment calls ``fulfil`` for paid VIDEO_LICENCE services (inside
the paying transaction), which writes one licence row per service (unique: a second activation is a no-op) and
queues ``issue_licence`` for after the commit. The job claims the row, asks the provider, and stores the licence
id, the sealed key and the player link. A temporary failure raises, so the job stays pending and the job sweep runs
it again (up to VIDEO_LICENCE_MAX_ATTEMPTS, then failed); a row left "issuing" by a crash is never asked again on
its own (the provider may have issued it): staff check the provider's panel and retry (videos.retry_licence)."""
import logging

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.actors import SYSTEM
from helpdesk.billing.models import BillingAccount
from helpdesk.db import utcnow
from helpdesk.devices import crm
from helpdesk.devices.video_models import FAILED, ISSUED, ISSUING, PENDING, VideoLicence
from helpdesk.devices.videos import LicenceRequest, VideoLicenceError, courses_of, current_provider, seal_key
from helpdesk.extensions import db
from helpdesk.jobs import enqueue_after_commit

log = logging.getLogger(__name__)


def fulfil(actor, services, invoice, now) -> None:
    """billing.fulfilment's hook for VIDEO_LICENCE: a licence row per activated service, issued after the commit."""
    for service in services:
        exists = db.session.scalar(sa.select(VideoLicence.id).where(VideoLicence.service_id == service.id))
        if exists is not None:
            continue
        billing_account = db.session.get(BillingAccount, service.account_id)
        identity = db.session.get(AccountIdentity, billing_account.customer_account_id)
        name = (identity.full_name if identity and identity.full_name else billing_account.name) or ""
        licence = VideoLicence(account_id=billing_account.customer_account_id, product_id=service.product_id,
                               service_id=service.id, holder_name=name[:200],
                               holder_phone=(identity.phone if identity and identity.phone else "")[:30],
                               status=PENDING, attempts=0)
        db.session.add(licence)
        db.session.flush()
        audit.record(actor, "video-licence", licence.id, "requested", {"service": service.id},
                     account_id=licence.account_id)
        enqueue_after_commit(issue_licence, licence.id)


def _secrets():
    return (current_app.config.get("SPOTPLAYER_API_KEY") or "",)


def issue_licence(licence_id: int) -> str:
    """Ask the provider for the licence of row ``licence_id``: "issued", "failed", "skipped" (issued already,
    being issued, or no provider configured); raises on a temporary failure so the job is run again."""
    provider = current_provider()
    if provider is None:
        return "skipped"
    taken = db.session.execute(
        sa.update(VideoLicence).where(VideoLicence.id == licence_id, VideoLicence.status == PENDING)
        .values(status=ISSUING, claimed_at=utcnow(), attempts=VideoLicence.attempts + 1)
        .returning(VideoLicence.attempts).execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    if taken is None:
        return "skipped"
    licence = db.session.get(VideoLicence, licence_id)
    request = LicenceRequest(course_ids=tuple(courses_of(licence.product_id)), name=licence.holder_name or
                             f"#{licence.account_id}", watermark=licence.holder_phone or licence.holder_name,
                             test=bool(current_app.config.get("SPOTPLAYER_TEST_LICENCES")))
    try:
        if not request.course_ids:
            raise VideoLicenceError("The product has no video course ids.", retry=False)
        issued = provider.issue(request)
    except Exception as exc:  # a refusal or an outage: recorded without the key, retried when temporary
        return _failed(licence_id, taken, exc)
    licence.licence_id, licence.url = issued.licence_id[:100], issued.url[:500]
    seal_key(licence, issued.key)
    licence.status, licence.issued_at, licence.last_error = ISSUED, utcnow(), None
    audit.record(SYSTEM, "video-licence", licence.id, "issued", {"licence": licence.licence_id},
                 account_id=licence.account_id)
    db.session.commit()
    log.info("video licence %s issued (%s)", licence_id, licence.licence_id)
    return "issued"


def _failed(licence_id, attempts, exc) -> str:
    db.session.rollback()
    error = crm.redact(getattr(exc, "message", None) or type(exc).__name__, _secrets())[:2000]
    final = not getattr(exc, "retry", True) or attempts >= current_app.config["VIDEO_LICENCE_MAX_ATTEMPTS"]
    licence = db.session.get(VideoLicence, licence_id)
    licence.status, licence.last_error = (FAILED if final else PENDING), error
    if final:
        audit.record(SYSTEM, "video-licence", licence.id, "failed", {"error": error[:300]},
                     account_id=licence.account_id)
    db.session.commit()
    log.warning("video licence %s not issued (attempt %s): %s", licence_id, attempts, error)
    if not final:
        raise VideoLicenceError(f"video licence {licence_id}: temporary failure, retried later")
    return "failed"


def register_hooks(app) -> None:
    """Billing activates a paid VIDEO_LICENCE service: a licence is issued after the commit."""
    from helpdesk.billing import fulfilment
    from helpdesk.billing.catalogue_models import VIDEO_LICENCE

    fulfilment.register(VIDEO_LICENCE, fulfil)
