"""Training videos: which SpotPlayer course(s) a billing product of kind VIDEO_LICENCE unlocks, and the licences
issued for paid services of such products (one per service: the unique key makes a retried job a no-op)."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

# pending: waiting for the job; issuing: the provider is being asked (a row left so by a crash is not asked again
# automatically: staff check the provider's panel and retry); issued; failed (staff see why and can retry).
PENDING, ISSUING, ISSUED, FAILED = "pending", "issuing", "issued", "failed"
STATUS_LABELS = {PENDING: _l("Being issued"), ISSUING: _l("Being issued"), ISSUED: _l("Issued"),
                 FAILED: _l("Not issued yet")}


class VideoCourse(db.Model):
    """The provider's course ids a VIDEO_LICENCE product gives access to."""

    __tablename__ = "video_courses"

    id = sa.Column(sa.Integer, primary_key=True)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id", ondelete="CASCADE"), nullable=False,
                           unique=True)
    course_ids = sa.Column(sa.JSON, nullable=False, default=list)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    product = relationship("Product")


class VideoLicence(db.Model):
    """A licence for one paid service: the provider's licence id, the key (sealed with the vault's keys) and the
    player link once issued."""

    __tablename__ = "video_licences"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id"), nullable=False, index=True)
    product_id = sa.Column(sa.Integer, sa.ForeignKey("billing_products.id"), nullable=False)
    service_id = sa.Column(sa.Integer, sa.ForeignKey("billing_services.id"), nullable=False, unique=True)
    holder_name = sa.Column(sa.String(200), nullable=False, default="")  # the name the player's watermark shows
    holder_phone = sa.Column(sa.String(30), nullable=False, default="")
    licence_id = sa.Column(sa.String(100))  # the provider's id (SpotPlayer's _id)
    key_sealed = sa.Column(sa.Text)  # the licence key, sealed (helpdesk.vault.crypto); never stored in clear
    url = sa.Column(sa.String(500))  # the player link
    status = sa.Column(sa.String(10), nullable=False, default=PENDING)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    claimed_at = sa.Column(UTCDateTime)
    last_error = sa.Column(sa.Text)  # what the provider said, without the API key
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    issued_at = sa.Column(UTCDateTime)

    product = relationship("Product")
    account = relationship("CustomerAccount")

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)
