"""The credential vault's audit actions as sentences, and how the trail names a vault (by its account).
Registered on import. The rows hold the entry's id and service name and the field, never a value."""
import sqlalchemy as sa

from helpdesk.accounts.models import CustomerAccount
from helpdesk.audit.sentences import Ref, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

FIELD_NAMES = {"service": _l("the service"), "url": _l("the address"), "username": _l("the user name"),
               "password": _l("the password"), "notes": _l("the notes")}


def _vaults(ids):
    rows = db.session.execute(sa.select(CustomerAccount.id, CustomerAccount.name)
                              .where(CustomerAccount.id.in_(ids)))
    return {i: Ref("vault", i, name or f"#{i}") for i, name in rows}


register_kind("vault", name=_l("Credential vault"), describe=_vaults)


def _changed(reading):
    fields = [FIELD_NAMES.get(name, name) for name in reading.changes.get("fields") or []]
    return reading.sentence(_l("Changed %(fields)s of “%(service)s” in the credential vault of %(name)s."),
                            fields=[str(f) for f in fields])


def _revealed(reading):
    if reading.changes.get("field") == "notes":
        return reading.sentence(_l("Revealed the notes of “%(service)s” in the credential vault of %(name)s."))
    return reading.sentence(_l("Revealed the password of “%(service)s” in the credential vault of %(name)s."))


register("vault", "entry-added", _l("Added “%(service)s” to the credential vault of %(name)s."))
register("vault", "entry-changed", _changed)
register("vault", "entry-removed", _l("Removed “%(service)s” from the credential vault of %(name)s."))
register("vault", "secret-revealed", _revealed)
