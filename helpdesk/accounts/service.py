"""Operations on users and organisations. Every public function is one transaction."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import audit
from helpdesk.accounts import memberships, notifications, sessions, throttle, tokens
from helpdesk.accounts.errors import LinkExpired, LoginThrottled
from helpdesk.accounts.models import (
    PURPOSE_ACTIVATION,
    PURPOSE_RESET,
    ROLE_CUSTOMER,
    ROLES,
    Organisation,
    User,
)
from helpdesk.db import commit_service_call, utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES, valid_timezone
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.jobs import enqueue_after_commit
from helpdesk.notify import addresses
from helpdesk.sanitize import clean_name, strip_control

# Hashes to compare against when the user does not exist, so a failed login takes as long either way
# (one per PASSWORD_HASH_METHOD: the dummy must cost what a real hash costs).
_DUMMY_HASHES = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def normalise_email(value: str) -> str:
    """Validate ``value`` as an address we can mail and return it as stored (lower-cased, ASCII domain);
    raises addresses.InvalidAddress (a ValueError). The one rule for every door: see notify/addresses.py."""
    return addresses.normalise(value)


def check_email(errors: dict, field: str, value: str):
    """Return the normalised address, or record a field error and return None."""
    try:
        return normalise_email(value)
    except addresses.InvalidAddress as exc:
        errors[field] = exc.message
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
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def get_by_email(email: str):
    try:
        email = normalise_email(email)
    except ValueError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == email))


def users_by_email(emails, batch=None) -> dict:
    """{email: User} for those of the (normalised) ``emails`` that belong to a user; one query. In a
    deferred ``batch`` it also finds the users the batch created."""
    emails = [e for e in dict.fromkeys(emails) if e]
    if not emails:
        return {}
    # In a deferred batch, users it created are not written yet: a cache of every address looked
    # up (None: no such user) answers for them, and saves a query for senders who write again.
    cache = batch.index("users_by_email") if batch is not None else None
    if cache is None:
        return {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}
    missing = [e for e in emails if e not in cache]
    if missing:
        cache.update(dict.fromkeys(missing))
        cache.update({u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(missing)))})
    return {e: cache[e] for e in emails if cache[e] is not None}


def find_or_create_customer(email: str, full_name: str = "", known=None, batch=None) -> User:
    """The user with ``email``, created as a customer without a password when unknown. ``known`` is a
    ``users_by_email`` result the caller already has. Does not commit or flush: for use inside
    another service call (``batch``: the one it runs in, if any)."""
    email = normalise_email(email)
    user = (known if known is not None else users_by_email([email], batch)).get(email)
    if user is None:
        user = User(email=email, full_name=clean_name(full_name), role=ROLE_CUSTOMER)
        db.session.add(user)
        memberships.open_personal_account(user)  # new: nothing to look up
        if batch is not None and (cache := batch.index("users_by_email")) is not None:
            cache[email] = user
    elif not user.full_name and clean_name(full_name):
        user.full_name = clean_name(full_name)
    return user


def _check_new_user(*, email, full_name, role, password, username, locale):
    """(email, full name) cleaned; ValidationFailed with every problem of the new user's fields."""
    errors = {}
    email = check_email(errors, "email", email)
    full_name = clean_name(full_name)
    if role not in ROLES:
        errors["role"] = _l("Choose one of: admin, agent, customer.")
    if not full_name:
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
    return email, full_name


def create_user(actor, *, email, full_name, role, password=None, username=None, locale=None,
                organisation=None, welcome=False) -> User:
    """Create a user. Admins (and the system) only; the password must meet the rules.

    ``welcome``: a customer gets the welcome mail (once) in their language, with a link to choose their
    password when none is given, so whoever creates the account never learns it."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    email, full_name = _check_new_user(email=email, full_name=full_name, role=role, password=password,
                                       username=username, locale=locale)
    # A passwordless customer record (from an earlier email or guest ticket) is taken over.
    user = db.session.scalar(sa.select(User).where(User.email == email)) or User(email=email)
    user.full_name = full_name
    user.role = role
    user.username = username or None
    user.locale = locale
    user.organisation = organisation
    if password is not None:
        user.password_hash = hash_password(password)
        user.activated_at = utcnow()
    db.session.add(user)
    db.session.flush()
    if user.is_customer:
        memberships.ensure_personal_account(user)
    audit.record(actor, "user", user.id, "created", {"email": email, "role": role})
    if welcome and user.is_customer and user.welcomed_at is None:
        _welcome(user, set_password=user.password_hash is None)
        audit.record(actor, "user", user.id, "welcomed", {"set_password_link": user.password_hash is None})
    commit_service_call(db.session)
    return user


def _welcome(user, set_password: bool):
    """Queue the welcome mail, with a link to choose a password (valid ACTIVATION_TOKEN_HOURS) if asked."""
    if set_password:
        hours = current_app.config["ACTIVATION_TOKEN_HOURS"]
        notifications.send_welcome(user, set_password_token=tokens.issue(user, PURPOSE_ACTIVATION,
                                                                         timedelta(hours=hours)), hours=hours)
    else:
        notifications.send_welcome(user)
    user.welcomed_at = utcnow()


def _check_profile(*, full_name, phone, locale, timezone) -> dict:
    """The given details cleaned (None: leave as it is); ValidationFailed with every problem."""
    errors = {}
    changes = {}
    if full_name is not None:
        full_name = clean_name(full_name)
        if not full_name:
            errors["full_name"] = _l("Enter a name.")
        changes["full_name"] = full_name
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
    return changes


def update_profile(actor, user: User, *, full_name=None, phone=None, locale=None, timezone=None) -> User:
    """Change a user's own details (not the email address). The user themself or an admin."""
    if not (actor.is_system or actor.is_admin or getattr(actor, "id", None) == user.id):
        raise NotAllowed()
    changes = _check_profile(full_name=full_name, phone=phone, locale=locale, timezone=timezone)
    for name, value in changes.items():
        setattr(user, name, value)
    audit.record(actor, "user", user.id, "profile-changed", changes)
    commit_service_call(db.session)
    return user


def authenticate(login: str, password: str, ip: str = ""):
    """The active user whose email or username and password match, else None (same cost either way).

    Failed passwords are counted per login and address ``ip`` (see accounts.throttle); an address that
    must still wait gets LoginThrottled whether or not the password is right, and whether or not the
    login belongs to an account. The owner trying from elsewhere is not held up."""
    login = (login or "").strip()
    user = None
    if "@" in login:
        user = get_by_email(login)
    elif login:
        user = db.session.scalar(sa.select(User).where(User.username == login))
    key = throttle.login_key(user, login)
    if throttle.is_blocked(key, ip):
        check_password_hash(_dummy_hash(), password or "")  # the same cost as a real attempt
        raise LoginThrottled()
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password or "")
        throttle.record_failure(key, ip)
        commit_service_call(db.session)
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        throttle.record_failure(key, ip, user if user.is_active else None)
        commit_service_call(db.session)
        return None
    throttle.clear(key, ip)
    user.last_login_at = utcnow()
    commit_service_call(db.session)
    return user


def create_organisation(actor, *, name, customer_number=None, share_tickets=False) -> Organisation:
    """Create an organisation (admins and the system)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    errors = {}
    name = clean_name(name)
    if not name:
        errors["name"] = _l("Enter the company name.")
    if customer_number and db.session.scalar(
        sa.select(Organisation.id).where(Organisation.customer_number == customer_number)
    ):
        errors["customer_number"] = _l("This customer number is taken.")
    if errors:
        raise ValidationFailed(errors)
    org = Organisation(name=name, customer_number=customer_number or None, share_tickets=share_tickets)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organisation", org.id, "created", {"name": org.name})
    commit_service_call(db.session)
    return org


# --------------------------------------------------------------------------- self-service accounts

def _activation_lifetime():
    return timedelta(hours=current_app.config["ACTIVATION_TOKEN_HOURS"])


def _reset_lifetime():
    return timedelta(minutes=current_app.config["RESET_TOKEN_MINUTES"])


def _check_registration(*, email, full_name, company, phone, consent, locale):
    """(email, full name, company, phone) cleaned; ValidationFailed with every problem of the form."""
    errors = {}
    email = check_email(errors, "email", email)
    full_name = clean_name(full_name, limit=201)  # 201: longer than the column is an error, not cut
    if not full_name:
        errors["full_name"] = _l("Enter your name.")
    elif len(full_name) > 200:
        errors["full_name"] = _l("Use at most %(num)d characters.", num=200)
    company = clean_name(company, limit=201)
    if len(company) > 200:
        errors["company"] = _l("Use at most %(num)d characters.", num=200)
    phone = strip_control(phone or "").strip()
    if len(phone) > 50:
        errors["phone"] = _l("Use at most %(num)d characters.", num=50)
    if not consent:
        errors["consent"] = _l("Please agree to the privacy policy to register.")
    if locale and locale not in LANGUAGES:
        errors["locale"] = _l("Unsupported language.")
    if errors:
        raise ValidationFailed(errors)
    return email, full_name, company, phone


def _answer_registered_address(actor, user):
    """Someone registers an address that has an account: its owner (when active) gets a reset link."""
    if user.is_active:
        notifications.send_already_registered(user, tokens.issue(user, PURPOSE_RESET, _reset_lifetime()),
                                              current_app.config["RESET_TOKEN_MINUTES"])
    audit.record(actor, "user", user.id, "registration-for-existing-account", {})


def register_customer(actor, *, email, full_name, company=None, phone=None, consent: bool, policy_version,
                      locale) -> None:
    """Register a customer and mail them an activation link; returns nothing, so every door gives the
    same answer whether or not the address was known.

    Consent to the privacy policy is required and stored with its time and ``policy_version``. A
    customer record without a password (from an earlier guest ticket or email) is taken over, so their
    earlier tickets are theirs. An address that already has an account gets a mail saying so, with a
    password reset link, and nothing else changes."""
    if not (actor.is_system or actor.is_admin) or not current_app.config["SELF_REGISTRATION"]:
        raise NotAllowed()  # a deployment may leave creating customer accounts to staff (issue 19)
    email, full_name, company, phone = _check_registration(email=email, full_name=full_name, company=company,
                                                           phone=phone, consent=consent, locale=locale)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and (user.password_hash or not user.is_customer):
        _answer_registered_address(actor, user)
        commit_service_call(db.session)
        return None
    taken_over = user is not None
    if user is None:
        user = User(email=email, role=ROLE_CUSTOMER)
        db.session.add(user)
    user.full_name = full_name
    user.company_name = company or None
    user.phone = phone or None
    user.locale = locale or None
    user.consent_at = utcnow()
    user.consent_policy_version = str(policy_version)[:40]
    db.session.flush()
    memberships.ensure_personal_account(user)
    notifications.send_activation(user, tokens.issue(user, PURPOSE_ACTIVATION, _activation_lifetime()),
                                  current_app.config["ACTIVATION_TOKEN_HOURS"])
    audit.record(actor, "user", user.id, "registered",
                 {"email": email, "policy_version": user.consent_policy_version, "taken_over": taken_over})
    commit_service_call(db.session)
    return None


def link_is_valid(purpose: str, token: str) -> bool:
    """Whether an emailed activation or reset link can still be used (to show the form or say it expired)."""
    return tokens.find_valid(purpose, token) is not None


def activate(token: str, password: str) -> User:
    """Set the first password through an activation link and return the now active user. The link
    works once and until ACTIVATION_TOKEN_HOURS after it was sent; raises LinkExpired otherwise. A customer
    not welcomed yet (one who registered) gets the welcome mail."""
    if problem := password_problem(password):
        if not link_is_valid(PURPOSE_ACTIVATION, token):
            raise LinkExpired()
        raise ValidationFailed({"password": problem})
    row = tokens.spend(PURPOSE_ACTIVATION, token)
    user = row.user
    if not user.active:  # deactivated by an agent since the link was sent
        raise LinkExpired()
    user.password_hash = hash_password(password)
    user.activated_at = user.activated_at or utcnow()
    user.last_login_at = utcnow()
    if user.is_customer and user.welcomed_at is None:  # a customer who registered: welcome, now that it works
        _welcome(user, set_password=False)
    audit.record(user, "user", user.id, "activated", {})
    commit_service_call(db.session)
    return user


def request_password_reset(email: str) -> None:
    """Mail a password reset link if ``email`` belongs to an active account; returns nothing either way,
    so no door can tell whether the address is registered. The link expires after RESET_TOKEN_MINUTES.

    The look-up and the mail are a job after the commit, so the request itself does the same work for
    every address: it answers as fast for a registered one as for an unknown one."""
    enqueue_after_commit(send_password_reset, (email or "").strip()[:320])
    commit_service_call(db.session)
    return None


def send_password_reset(email: str) -> None:
    """The job behind ``request_password_reset``: issue the link and mail it, or nothing for an address
    without an active account."""
    user = get_by_email(email or "")
    if user is None or not user.is_active:
        return None
    notifications.send_password_reset(user, tokens.issue(user, PURPOSE_RESET, _reset_lifetime()),
                                      current_app.config["RESET_TOKEN_MINUTES"])
    audit.record(user, "user", user.id, "password-reset-requested", {})
    commit_service_call(db.session)
    return None


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link and return the user. The link works once; the password
    must meet the rules; every session of the user ends (the door starts a new one); the login throttle
    of the account is cleared."""
    user = set_password_through_link(PURPOSE_RESET, token, new_password)
    audit.record(user, "user", user.id, "password-reset", {})
    commit_service_call(db.session)
    return user


def set_password_through_link(purpose: str, token: str, new_password: str) -> User:
    """The common part of every mailed password link (a reset, a buyer's set-your-password link): spend the
    link (LinkExpired when used, expired or its login deactivated; a password breaking the rules is refused
    first, without spending it), set the password, end the login's other sessions and clear its throttle.
    Returns the user; the caller audits and commits."""
    if problem := password_problem(new_password):
        if not link_is_valid(purpose, token):
            raise LinkExpired()
        raise ValidationFailed({"password": problem})
    user = tokens.spend(purpose, token).user
    if not user.active:
        raise LinkExpired()
    user.password_hash = hash_password(new_password)
    user.last_login_at = utcnow()
    sessions.end_other_sessions(user)
    throttle.clear_account(user)
    return user


def change_password(actor, user: User, current_password: str, new_password: str) -> User:
    """Change ``user``'s password (the user themself, who must give the current one). The new password
    must meet the rules; every other session of the user ends, the one ``user`` was loaded for goes on."""
    if getattr(actor, "id", None) != user.id:
        raise NotAllowed()
    errors = {}
    if not user.password_hash or not check_password_hash(user.password_hash, current_password or ""):
        errors["current_password"] = _l("That is not your current password.")
    if problem := password_problem(new_password):
        errors["password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new_password)
    sessions.end_other_sessions(user, keep=user.session_token)
    audit.record(actor, "user", user.id, "password-changed", {})
    commit_service_call(db.session)
    return user


def admin_create_customer(actor, username, email, full_name, password=None) -> User:
    """Create a customer account with a username (for customers whose accounts the company makes); they log in
    with the username or the email. They get the welcome mail, with a link to choose their password unless
    ``password`` is given. Admins only."""
    username = (username or "").strip()
    if actor.is_admin or actor.is_system:
        if not username:
            raise ValidationFailed({"username": _l("Enter a username.")})
        if "@" in username or len(username) > 80 or any(c.isspace() for c in username):
            raise ValidationFailed({"username": _l("Use up to 80 characters without spaces or @.")})
    return create_user(actor, email=email, full_name=full_name, role=ROLE_CUSTOMER, password=password,
                       username=username, welcome=True)

