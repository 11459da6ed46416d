"""The domains' audit actions as sentences, and how the trail names a domain request (its domain). Registered on
import (helpdesk.domains.init_app)."""
import sqlalchemy as sa

from helpdesk.audit.sentences import Ref, register, register_kind
from helpdesk.domains.models import DomainRequest
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l


def _requests(ids):
    rows = db.session.execute(sa.select(DomainRequest.id, DomainRequest.display_name)
                              .where(DomainRequest.id.in_(ids)))
    return {i: Ref("domain-request", i, name or f"#{i}", key=i) for i, name in rows}


register_kind("domain-request", name=_l("Domain request"), describe=_requests)
register("domain-request", "filed", _l("Filed the domain request for %(name)s."))
register("domain-request", "done", _l("Marked the domain request for %(name)s done."))
register("domain-request", "rejected", _l("Rejected the domain request for %(name)s: %(reason)s"))
register("domain-request", "sent", _l("Sent the domain request for %(name)s to the registrar (%(reference)s)."))
register("domain-request", "registrar-failed", _l("The registrar refused the domain request for %(name)s: "
                                                  "%(error)s"))
register("billing-product", "domain-price-set", _l("Set the prices of .%(tld)s (%(currency)s) on the domain product "
                                                   "“%(name)s”."))
