"""Staff accounts, managed by admins: invite an agent or admin (they choose their password through an emailed
link), change their role and departments, deactivate and reactivate them. Every public function is one
transaction; the admins themselves are protected (no one demotes or deactivates themself or the last admin)."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from helpdesk import audit
from helpdesk.accounts import notifications, tokens
from helpdesk.accounts.models import PURPOSE_ACTIVATION, ROLE_ADMIN, ROLE_AGENT, User
from helpdesk.accounts.service import check_email
from helpdesk.db import commit_service_call
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name

STAFF_ROLES = {ROLE_AGENT: _l("Agent"), ROLE_ADMIN: _l("Admin")}


def require_admin(actor):
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def list_staff(actor) -> list[User]:
    """Every agent and admin, active ones first, by name (admins only)."""
    require_admin(actor)
    return db.session.scalars(
        sa.select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.active.desc(), User.full_name, User.email)
    ).all()


def get_staff(actor, user_id) -> User:
    """The agent or admin with ``user_id`` (admins only); NotFound for anyone else."""
    require_admin(actor)
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        user = None
    if user is None or not user.is_agent:
        raise NotFound()
    return user


def _active_admins():
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == ROLE_ADMIN, User.active.is_(True)))


def _check_departments(errors, departments):
    departments = list(departments or ())
    # Departments belong to the ticket store (above this package): the caller hands over the rows.
    if not all(hasattr(d, "agents") for d in departments):
        errors["departments"] = _l("Choose departments from the list.")
    return departments


def _invite(user):
    hours = current_app.config["ACTIVATION_TOKEN_HOURS"]
    notifications.send_staff_invitation(user, tokens.issue(user, PURPOSE_ACTIVATION, timedelta(hours=hours)), hours)


def create_staff(actor, *, email, full_name, role, locale=None, departments=()) -> User:
    """Create an agent or admin in ``departments`` and mail them a link to choose their password (admins only).

    The address must not belong to any user yet (customers included); the name is required; the language is
    one the helpdesk speaks. The new account cannot log in until the password is chosen."""
    require_admin(actor)
    errors = {}
    email = check_email(errors, "email", email)
    full_name = clean_name(full_name, limit=201)  # 201: longer than the column is an error, not cut
    if not full_name:
        errors["full_name"] = _l("Enter a name.")
    elif len(full_name) > 200:
        errors["full_name"] = _l("Use at most %(num)d characters.", num=200)
    if role not in STAFF_ROLES:
        errors["role"] = _l("Choose agent or admin.")
    if locale and locale not in LANGUAGES:
        errors["locale"] = _l("Unsupported language.")
    departments = _check_departments(errors, departments)
    if email and db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = _l("A user with this email address already exists.")
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, full_name=full_name, role=role, locale=locale or None, active=True)
    db.session.add(user)
    user.departments = departments
    db.session.flush()
    _invite(user)
    audit.record(actor, "user", user.id, "created",
                 {"email": email, "role": role, "departments": [d.id for d in departments]})
    commit_service_call(db.session)
    return user


def resend_invitation(actor, user) -> None:
    """Mail a new set-password link to an agent who has not chosen a password yet (admins only)."""
    require_admin(actor)
    if user.password_hash or not user.active:
        raise ValidationFailed({"user": _l("%(name)s has already chosen a password or is deactivated.",
                                           name=user.display_name)})
    _invite(user)
    audit.record(actor, "user", user.id, "invitation-sent", {})
    commit_service_call(db.session)


def _protect_admins(actor, user, errors, field, losing_admin: bool):
    """Refuse taking admin rights or access from oneself or from the last active admin."""
    if getattr(actor, "id", None) == user.id and losing_admin:
        errors[field] = _l("You cannot remove your own admin rights or deactivate yourself.")
    elif losing_admin and user.is_admin and user.active and _active_admins() <= 1:
        errors[field] = _l("%(name)s is the last active admin.", name=user.display_name)


def update_staff(actor, user, *, role, departments=()) -> User:
    """Change an agent's role and departments (admins only). No admin demotes themself or the last admin."""
    require_admin(actor)
    if not user.is_agent:
        raise NotFound()
    errors = {}
    if role not in STAFF_ROLES:
        errors["role"] = _l("Choose agent or admin.")
    else:
        _protect_admins(actor, user, errors, "role", losing_admin=user.is_admin and role != ROLE_ADMIN)
    departments = _check_departments(errors, departments)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    if role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    old_ids, new_ids = sorted(d.id for d in user.departments), sorted(d.id for d in departments)
    if old_ids != new_ids:
        changes["departments"] = [old_ids, new_ids]
        user.departments = departments
    if changes:
        audit.record(actor, "user", user.id, "staff-changed", changes)
    commit_service_call(db.session)
    return user


def deactivate(actor, user) -> User:
    """Deactivate an agent or admin: they can no longer log in and every session of theirs ends (admins only;
    not oneself, not the last active admin)."""
    require_admin(actor)
    if not user.is_agent:
        raise NotFound()
    if not user.active:
        return user
    errors = {}
    _protect_admins(actor, user, errors, "user", losing_admin=True)
    if errors:
        raise ValidationFailed(errors)
    user.active = False
    user.session_version = (user.session_version or 1) + 1
    audit.record(actor, "user", user.id, "deactivated", {})
    commit_service_call(db.session)
    return user


def reactivate(actor, user) -> User:
    """Let a deactivated agent or admin log in again with their password (admins only)."""
    require_admin(actor)
    if not user.is_agent:
        raise NotFound()
    if user.active:
        return user
    user.active = True
    audit.record(actor, "user", user.id, "reactivated", {})
    commit_service_call(db.session)
    return user
