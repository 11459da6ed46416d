"""Status notices' audit actions as sentences, and how the trail names a notice (its title in the reader's
language). Registered on import."""
import sqlalchemy as sa
from flask_babel import get_locale

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.status_notices.display import notice_text
from helpdesk.status_notices.models import STATUS_LABELS, StatusNotice


def _notices(ids):
    rows = db.session.scalars(sa.select(StatusNotice).where(StatusNotice.id.in_(ids))).all()
    return {row.id: Ref("status-notice", row.id, notice_text(row, get_locale())[0] or f"#{row.id}", key=row.id)
            for row in rows}


def _status_change(template):
    def tell(reading):
        old, new = pair(reading.changes.get("status"))
        return reading.sentence(template, old=STATUS_LABELS.get(old, old or ""),
                                new=STATUS_LABELS.get(new, new or ""))
    return tell


register_kind("status-notice", name=_l("Status notice"), describe=_notices)
register("status-notice", "published", _l("Published the status notice “%(name)s”."))
register("status-notice", "changed", _l("Changed the status notice “%(name)s”."))
register("status-notice", "updated", _status_change(_l("Posted an update to the status notice “%(name)s” "
                                                       "(%(old)s → %(new)s).")))
register("status-notice", "resolved", _l("Resolved the status notice “%(name)s”."))
register("user", "maintenance-mail-off", _l("%(name)s turned off mail about planned maintenance."))
register("user", "maintenance-mail-on", _l("%(name)s turned on mail about planned maintenance."))
