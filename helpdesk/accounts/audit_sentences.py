"""The accounts' audit actions as sentences (sign-up, passwords, profiles, staff), and how the trail names users
and organisations. Registered on import."""
import sqlalchemy as sa

from helpdesk.accounts.contacts import PURPOSE_LABELS
from helpdesk.accounts.models import Organisation, User
from helpdesk.accounts.staff import STAFF_ROLES
from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l


def _users(ids):
    """Staff have a page in the console (their ``key``); customers do not."""
    rows = db.session.execute(sa.select(User.id, User.full_name, User.email, User.role).where(User.id.in_(ids)))
    return {i: Ref("user", i, name or email, key=i if role in STAFF_ROLES else None)
            for i, name, email, role in rows}


def _organisations(ids):
    rows = db.session.execute(sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return {i: Ref("organisation", i, name) for i, name in rows}


register_kind("user", name=_l("Account"), describe=_users)
register_kind("organisation", name=_l("Organisation"), describe=_organisations)

PROFILE_FIELDS = {"full_name": _l("name"), "phone": _l("phone"), "locale": _l("language"),
                  "timezone": _l("time zone")}


def _role(code):
    return STAFF_ROLES.get(code, _l("Customer"))


def _staff_changed(reading):
    told = []
    if "role" in reading.changes:
        told.append(reading.sentence(_l("Changed the role of %(name)s to %(role)s."),
                                     role=_role(pair(reading.changes["role"])[1])))
    if "departments" in reading.changes:
        new = pair(reading.changes["departments"])[1] or []
        named = [reading.ref("department", d) for d in new]
        told.append(reading.sentence(_l("Set the departments of %(name)s: %(departments)s."),
                                     departments=named or _l("none")))
    return told or [reading.sentence(_l("Changed the role or departments of %(name)s."))]


def _created(reading):
    if reading.changes.get("role") in STAFF_ROLES:
        return reading.sentence(_l("Created the account of %(name)s (%(role)s)."),
                                role=_role(reading.changes["role"]))
    return reading.sentence(_l("Created the account of %(name)s."))


register("user", "created", _created)
register("user", "registered", _l("%(name)s registered and was sent an activation link."))
register("user", "registration-for-existing-account",
         _l("Someone tried to register with the address of %(name)s, which already has an account."))
register("user", "api-token-created", _l("Created the API token “%(token)s”."))
register("user", "api-token-revoked", _l("Revoked the API token “%(token)s”."))
register("user", "activated", _l("Activated the account of %(name)s."))
register("user", "password-reset-requested", _l("Asked for a password reset link for %(name)s."))
register("user", "password-reset", _l("Reset the password of %(name)s with an emailed link."))
register("user", "password-changed", _l("Changed the password of %(name)s."))
register("user", "profile-changed", lambda reading: reading.sentence(
    _l("Changed the profile of %(name)s: %(fields)s."),
    fields=[PROFILE_FIELDS.get(k, _l("other settings")) for k in reading.changes] or _l("nothing")))
register("user", "logged-out-everywhere", _l("Logged %(name)s out everywhere."))
register("user", "invitation-sent", _l("Sent %(name)s a new link to choose a password."))
register("user", "staff-changed", _staff_changed, refs={"departments": "department"})
register("user", "deactivated", _l("Deactivated %(name)s."))
register("user", "reactivated", _l("Reactivated %(name)s."))


def _contact(template):
    return lambda reading: reading.sentence(template, email=str(reading.changes.get("email", "")),
                                            purpose=PURPOSE_LABELS.get(reading.changes.get("purpose"), _l("other")))


register("user", "contact-address-added", _contact(_l("Named %(email)s for the mail of %(name)s about: %(purpose)s.")))
register("user", "contact-address-confirmed",
         _contact(_l("%(email)s was confirmed for the mail of %(name)s about: %(purpose)s.")))
register("user", "contact-address-removed",
         _contact(_l("Removed %(email)s from the mail of %(name)s about: %(purpose)s.")))
register("user", "welcomed", _l("Sent %(name)s the welcome mail."))
register("organisation", "created", _l("Created the organisation %(name)s."))

# Accounts staff create for device buyers (issue 19: accounts.buyers).
IDENTITY_FIELDS = {"full_name": _l("full name"), "national_id": _l("national ID"), "phone": _l("phone"),
                   "address": _l("address"), "operator": _l("operator")}


def _identity_changed(reading):
    told = []
    for key, label in IDENTITY_FIELDS.items():
        if key in reading.changes:
            old, new = pair(reading.changes[key])
            told.append(reading.sentence(_l("Changed the %(field)s in the identity data of %(name)s from "
                                            "“%(old)s” to “%(new)s”."), field=label, old=old or "", new=new or ""))
    return told or [reading.sentence(_l("Changed the identity data of %(name)s."))]


register("customer-account", "buyer-created",
         _l("Created the buyer account %(name)s for %(email)s (national ID %(national_id)s)."))
register("customer-account", "set-password-link-sent",
         _l("Mailed %(login)s, owner of %(name)s, a link to choose a password."), refs={"login": "user"})
register("customer-account", "identity-changed", _identity_changed)
register("user", "password-set-by-link", _l("%(name)s chose a password with the link staff had mailed."))
