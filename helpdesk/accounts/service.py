"""Operations on users and organisations. Every public function is one transaction."""
import email_validator
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import audit
from helpdesk.accounts.models import ROLE_CUSTOMER, ROLES, Organisation, User
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES, valid_timezone
from helpdesk.sanitize import strip_control

# Intranet helpdesks receive mail from .local addresses and test setups use .test; email-validator
# documents this list as the place to allow such special-use domains.
for _domain in ("local", "test"):
    if _domain in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_domain)

# A hash to compare against when the user does not exist, so a failed login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(value: str) -> str:
    """Validate ``value`` as an email address and return it lower-cased; raises ValueError."""
    try:
        # No DNS look-ups: they would put the network on the hot path of every message.
        result = validate_email((value or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return result.normalized.lower()


def check_email(errors: dict, field: str, value: str):
    """Return the normalised address, or record a field error and return None."""
    try:
        return normalise_email(value)
    except ValueError:
        errors[field] = _l("Enter a valid email address.")
        return None


def password_problem(password: str):
    """The reason ``password`` is not acceptable, or None."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if not password or len(password) < minimum:
        return _l("Use at least %(num)d characters.", num=minimum)
    if len(password) > 1024:
        return _l("That password is too long.")
    if password.strip() == "" or len(set(password)) < 4:
        return _l("That password is too easy to guess.")
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, Werkzeug's default


def get_by_email(email: str):
    try:
        email = normalise_email(email)
    except ValueError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == email))


def users_by_email(emails) -> dict:
    """{email: User} for those of the (normalised) ``emails`` that belong to a user; one query."""
    emails = [e for e in dict.fromkeys(emails) if e]
    if not emails:
        return {}
    return {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}


def find_or_create_customer(email: str, full_name: str = "", known=None) -> User:
    """The user with ``email``, created as a customer without a password when unknown. ``known`` is a
    ``users_by_email`` result the caller already has. Does not commit or flush: for use inside
    another service call."""
    email = normalise_email(email)
    user = known.get(email) if known is not None else db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=strip_control(full_name or "").strip()[:200], role=ROLE_CUSTOMER)
        db.session.add(user)
    elif not user.full_name and full_name:
        user.full_name = full_name.strip()[:200]
    return user


def create_user(actor, *, email, full_name, role, password=None, username=None, locale=None,
                organisation=None) -> User:
    """Create a user. Admins (and the system) only; the password must meet the rules."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    email = check_email(errors, "email", email)
    if role not in ROLES:
        errors["role"] = _l("Choose one of: admin, agent, customer.")
    if not (full_name or "").strip():
        errors["full_name"] = _l("Enter a name.")
    if password is not None and (problem := password_problem(password)):
        errors["password"] = problem
    if locale and locale not in LANGUAGES:
        errors["locale"] = _l("Unsupported language.")
    if email and db.session.scalar(sa.select(User.id).where(User.email == email, User.password_hash.is_not(None))):
        errors["email"] = _l("A user with this email address already exists.")
    if username and db.session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = _l("This username is taken.")
    if errors:
        raise ValidationFailed(errors)
    # A passwordless customer record (from an earlier email or guest ticket) is taken over.
    user = db.session.scalar(sa.select(User).where(User.email == email)) or User(email=email)
    user.full_name = full_name.strip()[:200]  # as everywhere else: the column's length
    user.role = role
    user.username = username or None
    user.locale = locale
    user.organisation = organisation
    if password is not None:
        user.password_hash = hash_password(password)
        user.activated_at = utcnow()
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user", user.id, "created", {"email": email, "role": role})
    commit_service_call(db.session)
    return user


def update_profile(actor, user: User, *, full_name=None, phone=None, locale=None, timezone=None) -> User:
    """Change a user's own details (not the email address). The user themself or an admin."""
    if not (actor.is_system or actor.is_admin or getattr(actor, "id", None) == user.id):
        raise NotAllowed()
    errors = {}
    changes = {}
    if full_name is not None:
        if not full_name.strip():
            errors["full_name"] = _l("Enter a name.")
        changes["full_name"] = full_name.strip()[:200]
    if phone is not None:
        changes["phone"] = phone.strip()[:50] or None
    if locale is not None:
        if locale and locale not in LANGUAGES:
            errors["locale"] = _l("Unsupported language.")
        changes["locale"] = locale or None
    if timezone is not None:
        if timezone and not valid_timezone(timezone):
            errors["timezone"] = _l("Unknown time zone.")
        changes["timezone"] = timezone or None
    if errors:
        raise ValidationFailed(errors)
    for name, value in changes.items():
        setattr(user, name, value)
    audit.record(actor, "user", user.id, "profile-changed", changes)
    commit_service_call(db.session)
    return user


def authenticate(login: str, password: str):
    """The active user whose email or username and password match, else None (same cost either way)."""
    login = (login or "").strip()
    user = None
    if "@" in login:
        user = get_by_email(login)
    elif login:
        user = db.session.scalar(sa.select(User).where(User.username == login))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    user.last_login_at = utcnow()
    commit_service_call(db.session)
    return user


def load_session_user(session_id: str):
    """The user for a session cookie id ('<id>:<session_version>'), or None if it was ended."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def create_organisation(actor, *, name, customer_number=None, share_tickets=False) -> Organisation:
    """Create an organisation (admins and the system)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    if not (name or "").strip():
        errors["name"] = _l("Enter the company name.")
    if customer_number and db.session.scalar(
        sa.select(Organisation.id).where(Organisation.customer_number == customer_number)
    ):
        errors["customer_number"] = _l("This customer number is taken.")
    if errors:
        raise ValidationFailed(errors)
    org = Organisation(name=name.strip()[:200], customer_number=customer_number or None, share_tickets=share_tickets)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organisation", org.id, "created", {"name": org.name})
    commit_service_call(db.session)
    return org
