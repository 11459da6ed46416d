"""What members may do, in words, and the audit sentences of a customer account's members and invitations (issue 18).
Registered on import (accounts.members imports it)."""
import sqlalchemy as sa

from helpdesk.accounts.models import (
    PERM_BILLING,
    PERM_MEMBERS,
    PERM_SERVICES,
    PERM_TICKETS,
    PERM_VAULT_EDIT,
    PERM_VAULT_VIEW,
    CustomerAccount,
)
from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l

PERMISSION_LABELS = {
    PERM_TICKETS: _l("Tickets"),
    PERM_BILLING: _l("Invoices and orders"),
    PERM_SERVICES: _l("Services"),
    PERM_VAULT_VIEW: _l("See the access data"),
    PERM_VAULT_EDIT: _l("Change the access data"),
    PERM_MEMBERS: _l("Manage members"),
}


def permission_words(codes) -> list:
    """The permissions ``codes`` name, in words, in the order of the form."""
    return [label for code, label in PERMISSION_LABELS.items() if code in (codes or ())]


def _accounts(ids):
    rows = db.session.execute(sa.select(CustomerAccount.id, CustomerAccount.name).where(CustomerAccount.id.in_(ids)))
    return {i: Ref("customer-account", i, name, key=i) for i, name in rows}


register_kind("customer-account", name=_l("Customer account"), describe=_accounts)


def _allowed(reading):
    """The permissions a row gave, as words ("owner" for an owner)."""
    changes = reading.changes
    if pair(changes.get("owner"))[1]:
        return [_l("owner: everything")]
    return permission_words(pair(changes.get("permissions"))[1]) or [_l("nothing")]


def _with_permissions(template):
    def tell(reading):
        return reading.sentence(template, permissions=_allowed(reading))
    return tell


register("customer-account", "member-invited",
         _with_permissions(_l("Invited %(email)s to %(name)s, allowed: %(permissions)s.")))
register("customer-account", "invitation-cancelled", _l("Cancelled the invitation of %(email)s to %(name)s."))
register("customer-account", "invitation-accepted", _l("Accepted the invitation to %(name)s."))
register("customer-account", "member-added",
         _with_permissions(_l("Added %(member)s to %(name)s, allowed: %(permissions)s.")), refs={"member": "user"})
register("customer-account", "member-permissions-changed",
         _with_permissions(_l("Changed what %(member)s may do in %(name)s: %(permissions)s.")),
         refs={"member": "user"})
register("customer-account", "member-removed", _l("Removed %(member)s from %(name)s."), refs={"member": "user"})
register("customer-account", "member-left", _l("Left %(name)s."))
