"""Paid training videos: the ``VideoLicenceProvider`` interface an adapter implements (SpotPlayer first, in
helpdesk.providers), VIDEO_LICENCE_PROVIDER choosing it, which provider courses a VIDEO_LICENCE product unlocks
(set by staff beside the catalogue), and the licences a customer account holds (its key and player link, shown to
the account's members with the services permission; another account's licence is not found).

Licences are issued after the payment commits (``video_tasks``); the key is kept sealed with the credential vault's
keys (AES-GCM, tied to its row) and opened only to be shown."""
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts.memberships import require_permission
from helpdesk.accounts.models import PERM_SERVICES
from helpdesk.audit.sentences import register
from helpdesk.billing.access import require_manager
from helpdesk.billing.catalogue import product_name
from helpdesk.billing.catalogue_models import VIDEO_LICENCE, Product
from helpdesk.db import commit_service_call, utcnow
from helpdesk.devices.video_models import FAILED, ISSUED, ISSUING, PENDING, VideoCourse, VideoLicence
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit
from helpdesk.vault.crypto import CannotOpen, UnknownKey
from helpdesk.vault.errors import VaultUnavailable
from helpdesk.vault.keys import keyring

STUCK_AFTER = timedelta(minutes=10)  # an "issuing" row older than this was left by a crash


class VideoLicenceError(Exception):
    """The provider refused or could not be reached; ``retry`` for a temporary failure. No secret in the message."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.message, self.retry = message, retry


@dataclass(frozen=True)
class LicenceRequest:
    course_ids: tuple
    name: str  # the holder's name, shown in the provider's panel
    watermark: str  # what the player draws over the video (the holder's phone, or name)
    test: bool = False


@dataclass(frozen=True)
class IssuedLicence:
    licence_id: str
    key: str
    url: str


@runtime_checkable
class VideoLicenceProvider(Protocol):
    name: str

    def issue(self, request: LicenceRequest) -> IssuedLicence:
        """Issue one licence; VideoLicenceError when refused or unreachable."""


_PROVIDERS: dict[str, VideoLicenceProvider] = {}


def register_provider(provider: VideoLicenceProvider) -> None:
    _PROVIDERS[provider.name] = provider


def current_provider() -> VideoLicenceProvider | None:
    return _PROVIDERS.get(current_app.config.get("VIDEO_LICENCE_PROVIDER") or "")


# --------------------------------------------------------------------------- the key, sealed

def _place(licence: VideoLicence) -> bytes:
    return f"video_licences|{licence.id}|{licence.account_id}|key".encode()


def seal_key(licence: VideoLicence, key: str) -> None:
    licence.key_sealed = keyring().seal(key, _place(licence))


def licence_key(licence: VideoLicence) -> str | None:
    """The licence's key in clear (None when not issued, or when the vault cannot open it)."""
    if not licence.key_sealed:
        return None
    try:
        return keyring().open(licence.key_sealed, _place(licence))
    except (UnknownKey, CannotOpen, VaultUnavailable):
        return None


# --------------------------------------------------------------------------- staff: courses of a product

def courses_of(product_id: int) -> list[str]:
    row = db.session.scalar(sa.select(VideoCourse).where(VideoCourse.product_id == product_id))
    return list(row.course_ids) if row else []


def video_products(actor) -> list[tuple[Product, str, list[str]]]:
    """The VIDEO_LICENCE products with their names and course ids, for staff (agents and admins)."""
    _require_staff(actor)
    products = db.session.scalars(sa.select(Product).where(Product.kind == VIDEO_LICENCE)
                                  .order_by(Product.position, Product.id)).all()
    return [(product, _product_name(product), courses_of(product.id)) for product in products]


def set_courses(actor, product_id: int, course_ids) -> VideoCourse:
    """The provider's course ids a VIDEO_LICENCE product unlocks (billing managers); audited."""
    require_manager(actor)
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    cleaned = list(dict.fromkeys(str(c).strip() for c in course_ids if str(c).strip()))
    errors = {}
    if product.kind != VIDEO_LICENCE:
        errors["product"] = _l("Only a training-video product has courses.")
    if not cleaned:
        errors["course_ids"] = _l("Enter at least one course id.")
    elif any(len(c) > 64 or not c.isalnum() for c in cleaned):
        errors["course_ids"] = _l("A course id is letters and digits only, as the video provider's panel shows it.")
    if errors:
        raise ValidationFailed(errors)
    row = db.session.scalar(sa.select(VideoCourse).where(VideoCourse.product_id == product_id))
    if row is None:
        row = VideoCourse(product_id=product_id)
        db.session.add(row)
    row.course_ids, row.updated_at = cleaned, utcnow()
    audit.record(actor, "billing-product", product_id, "video-courses-set", {"courses": cleaned})
    commit_service_call(db.session)
    return row


# --------------------------------------------------------------------------- customers: their licences

@dataclass(frozen=True)
class LicenceView:
    id: int
    product_name: str
    status: str
    status_label: str
    key: str | None
    url: str | None
    issued_at: object


def _product_name(product: Product) -> str:
    from flask_babel import get_locale

    return product_name(product, str(get_locale() or "en")) or product.code


def _view(licence: VideoLicence) -> LicenceView:
    issued = licence.status == ISSUED
    return LicenceView(id=licence.id, product_name=_product_name(licence.product), status=licence.status,
                       status_label=str(licence.status_label), key=licence_key(licence) if issued else None,
                       url=licence.url if issued else None, issued_at=licence.issued_at)


def licences_of(actor, account_id) -> list[LicenceView]:
    """The account's licences, newest first: members with the services permission (NotFound for others)."""
    require_permission(actor, account_id, PERM_SERVICES)
    rows = db.session.scalars(sa.select(VideoLicence).where(VideoLicence.account_id == account_id)
                              .order_by(VideoLicence.id.desc())).all()
    return [_view(row) for row in rows]


def get_licence(actor, account_id, licence_id) -> LicenceView:
    """One licence of the account; NotFound when it is another account's."""
    require_permission(actor, account_id, PERM_SERVICES)
    licence = db.session.get(VideoLicence, licence_id) if isinstance(licence_id, int) else None
    if licence is None or licence.account_id != account_id:
        raise NotFound()
    return _view(licence)


# --------------------------------------------------------------------------- staff: licences not issued

def _require_staff(actor):
    if not (getattr(actor, "is_system", False) or getattr(actor, "is_agent", False)):
        raise NotAllowed()


def unissued_licences(actor, limit: int = 100) -> list[VideoLicence]:
    """Licences paid for and not issued (failed, waiting or stuck), oldest first, for the console."""
    _require_staff(actor)
    return db.session.scalars(sa.select(VideoLicence).where(VideoLicence.status.in_((PENDING, ISSUING, FAILED)))
                              .order_by(VideoLicence.id).limit(limit)).all()


def retry_licence(actor, licence_id: int) -> VideoLicence:
    """Ask the provider again for a licence that failed, waits (paid before a provider was configured) or is stuck
    after a crash (staff checked the provider's panel first); billing managers; audited. An issued licence is left
    alone (never a second one), and the job claims the row, so two retries at once make one request."""
    require_manager(actor)
    licence = db.session.get(VideoLicence, licence_id)
    if licence is None:
        raise NotFound()
    stuck = licence.status == ISSUING and (licence.claimed_at is None or licence.claimed_at < utcnow() - STUCK_AFTER)
    if licence.status in (FAILED, PENDING) or stuck:  # pending: e.g. paid before a provider was configured
        licence.status, licence.attempts = PENDING, 0
        audit.record(actor, "video-licence", licence.id, "retried", {"service": licence.service_id})
        from helpdesk.devices.video_tasks import issue_licence

        enqueue_after_commit(issue_licence, licence.id)
    commit_service_call(db.session)
    return licence


register("video-licence", "retried", _l("Asked the video provider again for the licence of service #%(service)s."))
register("video-licence", "requested", _l("Queued a training-video licence for service #%(service)s."))
register("video-licence", "issued", _l("The video provider issued licence %(licence)s."))
register("video-licence", "failed", _l("The video provider did not issue the licence: %(error)s"))
register("billing-product", "video-courses-set", _l("Set the video courses of the product to %(courses)s."))
