"""Social login (issue 18): logging in and registering with Google, Facebook or any OpenID Connect provider.

The seam: ``SocialProvider`` is the interface each adapter implements (helpdesk/providers/openid.py), registered by
kind; OPENID_PROVIDERS names the providers offered and their settings. This module never speaks HTTP.

The rules: an identity (provider, subject) links to at most one login. A linked identity logs its login in. An
unlinked one whose email belongs to a login links at once only when the provider vouches for the email; otherwise a
link mailed to that address completes the linking, and the page says the same whether or not the address has a
login. An unknown email registers a customer (privacy consent asked as the registration form does, their own
customer account), active at once with a vouched-for email, else once the mailed link is opened. Staff never log in
this way. A person may unlink an identity unless it is their last way to log in."""
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from helpdesk import audit
from helpdesk.accounts import memberships, notifications, tokens
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.models import ROLE_CUSTOMER, User
from helpdesk.accounts.service import _welcome, find_or_create_customer, normalise_email
from helpdesk.accounts.social_models import SocialIdentity, SocialLoginAttempt
from helpdesk.audit import sentences
from helpdesk.db import begin_write, commit_service_call, parse_id, utcnow
from helpdesk.errors import HelpdeskError, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name

log = logging.getLogger(__name__)

# What a login made through a provider has instead of a password hash: no password matches it (Werkzeug's hashes
# all hold "$"), and the login counts as active (User.is_active asks for a hash). "Forgot your password?" sets one.
NO_PASSWORD = "!social-login"  # noqa: S105 (a marker, not a password)
CONFIRM_PATH = "/login/social/confirm/{id}/{token}"


# --------------------------------------------------------------------------- errors

class SocialLoginFailed(HelpdeskError):
    """The trip to the provider did not prove anything: state missing, other or spent; the provider refused, could
    not be reached or sent an answer that failed a check. One message for all: the person tries again."""

    message = _l("Logging in with this provider did not work. Please try again.")


class SocialLoginCancelled(SocialLoginFailed):
    message = _l("You cancelled logging in at the provider.")


class EmailMissing(SocialLoginFailed):
    message = _l("The provider did not tell us your email address, so we cannot log you in with it. Please "
                 "register with your email address instead.")


class RegistrationClosed(SocialLoginFailed):
    """SELF_REGISTRATION is off: a provider logs in only a login that has a password already (issue 19)."""

    message = _l("Only our staff create customer accounts. Log in with your password, or ask us for an account.")


def _check_registration_open() -> None:
    if not current_app.config["SELF_REGISTRATION"]:
        raise RegistrationClosed()


class StaffRefused(HelpdeskError):
    message = _l("Staff accounts log in with their password only, not through another provider.")


class LastWayToLogIn(HelpdeskError):
    message = _l("This is your only way to log in. Set a password first (use “Forgot your password?” on the "
                 "login page), then you can unlink it.")


# --------------------------------------------------------------------------- the provider interface

@dataclass(frozen=True)
class AuthorizationRequest:
    """What one trip to a provider carries: ``state`` (ties the callback to this browser), ``nonce`` (ties the ID
    token to this trip), the PKCE ``code_verifier`` and the ``redirect_uri`` the provider sends the person back to."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True)
class VerifiedClaims:
    """Who the provider says the person is, after the adapter checked the answer (signature, issuer, audience,
    expiry, nonce). ``email_verified`` is True only when the provider vouches for the address."""

    subject: str
    email: str
    email_verified: bool
    name: str


class ProviderError(Exception):
    """An adapter could not get verified claims (network, refusal, a failed check). The message is for logs and
    never carries a secret, a code or a token."""


@runtime_checkable
class SocialProvider(Protocol):
    """A provider's adapter, built from its OPENID_PROVIDERS entry. ``name`` is that entry's key, ``label`` what the
    login button says."""

    name: str
    label: str

    def authorization_url(self, request: AuthorizationRequest) -> str:
        """The provider's page to send the person to (authorization-code flow, S256 PKCE, state and nonce)."""

    def exchange(self, code: str, request: AuthorizationRequest) -> VerifiedClaims:
        """Turn the callback's code into verified claims (network calls; raises ProviderError)."""


_KINDS: dict[str, Callable[[str, dict], SocialProvider]] = {}


def register_provider_kind(kind: str, factory: Callable[[str, dict], SocialProvider]) -> None:
    """Make ``factory(name, settings)`` build the adapters of ``kind`` ("openid", "facebook")."""
    _KINDS[kind] = factory


def provider_kind(name: str, settings: dict) -> str:
    """The kind of an OPENID_PROVIDERS entry: its "type", else "facebook" for the key facebook, else "openid"."""
    return settings.get("type") or ("facebook" if name == "facebook" else "openid")


def get_provider(name: str) -> SocialProvider:
    """The adapter of the configured provider ``name``; NotFound for any other name."""
    settings = (current_app.config.get("OPENID_PROVIDERS") or {}).get(name)
    factory = _KINDS.get(provider_kind(name, settings)) if isinstance(settings, dict) else None
    if factory is None:
        raise NotFound()
    return factory(name, settings)


def offered_providers() -> list[SocialProvider]:
    """The providers to show buttons for, in OPENID_PROVIDERS' order."""
    offered = []
    for name in current_app.config.get("OPENID_PROVIDERS") or {}:
        try:
            offered.append(get_provider(name))
        except NotFound:
            continue
    return offered


# --------------------------------------------------------------------------- the trip to the provider

def _digest(value: str) -> str:
    return hashlib.sha256((value or "").encode("utf-8", "surrogatepass")).hexdigest()


def _trip_lifetime():
    return timedelta(minutes=int(current_app.config["OPENID_LOGIN_MINUTES"]))


def start_login(provider_name: str, redirect_uri: str) -> tuple[str, str]:
    """Begin logging in with ``provider_name``: (the provider's URL to send the person to, the state the door keeps
    in this browser's session). The nonce and PKCE verifier stay on our side, for one callback."""
    provider = get_provider(provider_name)
    now = utcnow()
    db.session.execute(sa.delete(SocialLoginAttempt).where(SocialLoginAttempt.expires_at <= now))
    trip = AuthorizationRequest(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                                code_verifier=secrets.token_urlsafe(64), redirect_uri=redirect_uri)
    db.session.add(SocialLoginAttempt(provider=provider.name, state_hash=_digest(trip.state), nonce=trip.nonce,
                                      code_verifier=trip.code_verifier, created_at=now,
                                      expires_at=now + _trip_lifetime()))
    commit_service_call(db.session)
    try:
        return provider.authorization_url(trip), trip.state
    except ProviderError as exc:
        log.warning("social login could not start", extra={"fields": {"provider": provider.name, "error": str(exc)}})
        raise SocialLoginFailed() from None


def _spend_trip(provider_name, state, browser_state, redirect_uri) -> AuthorizationRequest:
    """The trip this callback ends, spent (committed: a replay finds nothing even when the exchange fails)."""
    if not (state and browser_state and len(state) <= 200 and hmac.compare_digest(state, browser_state)):
        raise SocialLoginFailed()
    begin_write(db.session)
    row = db.session.scalar(sa.select(SocialLoginAttempt).where(
        SocialLoginAttempt.state_hash == _digest(state), SocialLoginAttempt.provider == provider_name,
        SocialLoginAttempt.used_at.is_(None), SocialLoginAttempt.expires_at > utcnow()).with_for_update())
    if row is None:
        raise SocialLoginFailed()
    row.used_at = utcnow()
    trip = AuthorizationRequest(state=state, nonce=row.nonce, code_verifier=row.code_verifier,
                                redirect_uri=redirect_uri)
    commit_service_call(db.session)
    return trip


@dataclass(frozen=True)
class Outcome:
    """What a callback comes to: "logged-in" (``user``), "register" (``claims`` of a verified email nobody has: the
    door asks for consent, then calls ``register``), or "check-mail" (a link went to the address, or not: the page
    never says which)."""

    kind: str
    user: User | None = None
    claims: VerifiedClaims | None = None


def finish_login(provider_name: str, *, state: str, browser_state: str, code: str, error: str,
                 redirect_uri: str) -> Outcome:
    """The provider sent the person back. The ``state`` must be the one this browser's session holds
    (``browser_state``) and name an unspent trip of this provider; then the code is exchanged for verified claims
    (outside any transaction) and the rules decide. SocialLoginFailed, SocialLoginCancelled, EmailMissing or
    StaffRefused otherwise."""
    provider = get_provider(provider_name)
    trip = _spend_trip(provider.name, state, browser_state, redirect_uri)
    if error or not code:
        raise SocialLoginCancelled() if error == "access_denied" else SocialLoginFailed()
    try:
        claims = provider.exchange(code[:2000], trip)
    except ProviderError as exc:
        log.warning("social login failed", extra={"fields": {"provider": provider.name, "error": str(exc)}})
        raise SocialLoginFailed() from None
    return sign_in_with(provider.name, claims)


# --------------------------------------------------------------------------- the rules

def has_password(user) -> bool:
    """Whether ``user`` can log in with a password (not only through a provider)."""
    return bool(user.password_hash) and user.password_hash != NO_PASSWORD


def _identity(provider_name, subject, lock=False):
    query = sa.select(SocialIdentity).where(SocialIdentity.provider == provider_name,
                                            SocialIdentity.subject == subject)
    return db.session.scalar(query.with_for_update() if lock else query)


def _checked_claims(claims: VerifiedClaims) -> tuple[str, str]:
    """(subject, normalised email); EmailMissing when the provider gave no address we can mail."""
    subject = str(claims.subject or "")[:255]
    if not subject:
        raise SocialLoginFailed()
    try:
        return subject, normalise_email(claims.email or "")
    except ValueError:
        raise EmailMissing() from None


def sign_in_with(provider_name: str, claims: VerifiedClaims) -> Outcome:
    """Apply the rules to ``claims`` the adapter verified (see the module's docstring). One transaction."""
    subject, email = _checked_claims(claims)
    begin_write(db.session)
    identity = _identity(provider_name, subject, lock=True)
    if identity is not None and identity.linked_at is not None:
        return _log_in(identity, email, claims)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and user.is_agent:
        if claims.email_verified:
            raise StaffRefused()
        audit.record(user, "user", user.id, "social-login-refused", {"provider": provider_name})
        commit_service_call(db.session)
        return Outcome("check-mail")
    if user is not None and user.password_hash:
        if claims.email_verified and user.is_active:
            identity = _pending(identity, provider_name, subject, user, email, True)
            _link(identity)
            return _log_in(identity, email, claims)
        if user.active:
            _send_confirmation(_pending(identity, provider_name, subject, user, email, claims.email_verified))
        commit_service_call(db.session)
        return Outcome("check-mail")
    _check_registration_open()  # from here on, a provider would make or activate a customer account
    if claims.email_verified:
        commit_service_call(db.session)  # nothing written: the door asks for consent first
        return Outcome("register", claims=claims)
    user = find_or_create_customer(email, claims.name)
    db.session.flush()
    if user.active:
        _send_confirmation(_pending(identity, provider_name, subject, user, email, False))
    commit_service_call(db.session)
    return Outcome("check-mail")


def _pending(identity, provider_name, subject, user, email, verified) -> SocialIdentity:
    """The identity row, (re)pointed at ``user`` and not linked yet (a row pending for someone else moves)."""
    if identity is None:
        identity = SocialIdentity(provider=provider_name, subject=subject, created_at=utcnow())
        db.session.add(identity)
    identity.user = user
    identity.email, identity.email_verified = email, bool(verified)
    try:
        db.session.flush()
    except IntegrityError:  # the same identity came back twice at once: the other callback wins
        db.session.rollback()
        raise SocialLoginFailed() from None
    return identity


def _link(identity: SocialIdentity) -> None:
    identity.linked_at = utcnow()
    audit.record(identity.user, "user", identity.user_id, "social-linked", {"provider": identity.provider})


def _log_in(identity: SocialIdentity, email: str, claims: VerifiedClaims) -> Outcome:
    user = identity.user
    if user.is_agent:
        raise StaffRefused()
    if not user.is_active:
        raise SocialLoginFailed()
    identity.email, identity.email_verified = email, bool(claims.email_verified)
    identity.last_used_at = user.last_login_at = utcnow()
    audit.record(user, "user", user.id, "social-login", {"provider": identity.provider})
    commit_service_call(db.session)
    return Outcome("logged-in", user=user)


def _send_confirmation(identity: SocialIdentity) -> None:
    """Mail the identity's address a link that completes the linking (earlier links for it stop working)."""
    hours = current_app.config["ACTIVATION_TOKEN_HOURS"]
    token = tokens.issue(identity.user, _token_purpose(identity.id), timedelta(hours=hours))
    provider = provider_label(identity.provider)
    notifications._send(identity.user, "social_confirmation",
                        lambda: gettext("Confirm logging in to %(brand)s with %(provider)s",
                                        brand=current_app.config["BRAND_NAME"], provider=provider),
                        link=notifications._link(CONFIRM_PATH.format(id=identity.id, token=token)), hours=hours,
                        provider=provider, registering=not identity.user.password_hash)
    audit.record(identity.user, "user", identity.user_id, "social-confirmation-sent",
                 {"provider": identity.provider})


def provider_label(provider_name) -> str:
    """The button's words for ``provider_name`` (its name when it is no longer configured)."""
    try:
        return get_provider(provider_name).label
    except NotFound:
        return provider_name


def _token_purpose(identity_id) -> str:
    return f"social:{identity_id}"


def _consent_problem(errors, consent, locale):
    if not consent:
        errors["consent"] = _l("Please agree to the privacy policy to register.")
    if locale and locale not in LANGUAGES:
        errors["locale"] = _l("Unsupported language.")


def _activate(user, *, consent, policy_version, locale) -> None:
    """A new customer through a provider: consent recorded, active without a password, their own account, welcomed."""
    if user.consent_at is None or consent:
        user.consent_at, user.consent_policy_version = utcnow(), str(policy_version)[:40]
    user.locale = user.locale or locale or None
    user.password_hash = user.password_hash or NO_PASSWORD
    user.activated_at = user.activated_at or utcnow()
    db.session.flush()
    memberships.ensure_personal_account(user)
    if user.welcomed_at is None:
        _welcome(user, set_password=False)
    audit.record(user, "user", user.id, "registered-through-provider",
                 {"policy_version": user.consent_policy_version})


def register(provider_name: str, claims: VerifiedClaims, *, full_name, company=None, consent: bool, policy_version,
             locale) -> Outcome:
    """Register the person whose verified ``claims`` ended in "register" (the door kept them), once they agreed to
    the privacy policy: a customer (a passwordless record of theirs taken over), active at once, with their own
    customer account and the identity linked; "logged-in". Should a login with that address exist by now, the rules
    run again instead."""
    _check_registration_open()
    subject, email = _checked_claims(claims)
    errors = {}
    full_name = clean_name(full_name or claims.name, limit=201)
    if not full_name:
        errors["full_name"] = _l("Enter your name.")
    elif len(full_name) > 200:
        errors["full_name"] = _l("Use at most %(num)d characters.", num=200)
    company = clean_name(company or "", limit=201)
    if len(company) > 200:
        errors["company"] = _l("Use at most %(num)d characters.", num=200)
    _consent_problem(errors, consent, locale)
    if errors:
        raise ValidationFailed(errors)
    identity = _identity(provider_name, subject, lock=True)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if (identity is not None and identity.linked_at is not None) or (user is not None and user.password_hash) \
            or not claims.email_verified:
        return sign_in_with(provider_name, claims)
    user = user or User(email=email, role=ROLE_CUSTOMER)
    db.session.add(user)
    user.full_name, user.company_name = full_name, company or None
    _activate(user, consent=True, policy_version=policy_version, locale=locale)
    identity = _pending(identity, provider_name, subject, user, email, True)
    _link(identity)
    return _log_in(identity, email, claims)


# --------------------------------------------------------------------------- the mailed link

def _identity_of_link(identity_id, token, lock=False):
    identity_id = parse_id(identity_id)
    row = tokens.find_valid(_token_purpose(identity_id), token, lock=lock) if identity_id else None
    identity = db.session.get(SocialIdentity, identity_id) if row is not None else None
    # A link older than its row was sent for an earlier row that had the same id (SQLite reuses them).
    if identity is None or identity.user_id != row.user_id or row.created_at < identity.created_at:
        return None
    return identity


def confirmation_for(identity_id, token: str):
    """(provider label, whether the person registers and must consent) of a valid mailed link, else None."""
    identity = _identity_of_link(identity_id, token)
    if identity is None:
        return None
    return provider_label(identity.provider), not identity.user.password_hash


def confirm_identity(identity_id, token: str, *, consent: bool, policy_version, locale) -> User:
    """Complete the linking through the link mailed to the identity's address (whoever holds it reads that
    mailbox) and return the login to log in. A person registering this way agrees to the privacy policy here and
    becomes an active customer with their own account. Works once, until ACTIVATION_TOKEN_HOURS; LinkExpired
    otherwise (also for a login deactivated since, or staff)."""
    identity = _identity_of_link(identity_id, token, lock=True)
    if identity is None:
        raise LinkExpired()
    user = identity.user
    if not user.password_hash:  # registering: the privacy consent, as the registration form asks
        errors = {}
        _consent_problem(errors, consent, locale)
        if errors:
            raise ValidationFailed(errors)
    tokens.spend(_token_purpose(identity.id), token)
    if not user.active or user.is_agent:
        raise LinkExpired()
    if not user.password_hash:
        _activate(user, consent=consent, policy_version=policy_version, locale=locale)
    _link(identity)
    identity.last_used_at = user.last_login_at = utcnow()
    commit_service_call(db.session)
    return user


# --------------------------------------------------------------------------- the profile's linked logins

def _require_own(actor, user):
    if getattr(actor, "id", None) != user.id and not (actor.is_system or actor.is_admin):
        raise NotAllowed()


def identities_of(actor, user) -> list[SocialIdentity]:
    """``user``'s linked identities, oldest first (the user themself or an admin)."""
    _require_own(actor, user)
    return list(db.session.scalars(sa.select(SocialIdentity).where(
        SocialIdentity.user_id == user.id, SocialIdentity.linked_at.is_not(None)).order_by(SocialIdentity.id)))


def get_identity(actor, user, identity_id) -> SocialIdentity:
    """One of ``user``'s linked identities; NotFound for any other id."""
    _require_own(actor, user)
    identity_id = parse_id(identity_id)
    identity = db.session.get(SocialIdentity, identity_id) if identity_id else None
    if identity is None or identity.user_id != user.id or identity.linked_at is None:
        raise NotFound()
    return identity


def unlink_identity(actor, user, identity_id) -> SocialIdentity:
    """Unlink one of ``user``'s identities: it no longer logs them in (logging in with it later starts over). Not
    the last way to log in of someone without a password: LastWayToLogIn."""
    identity = get_identity(actor, user, identity_id)
    if not has_password(user) and len(identities_of(actor, user)) <= 1:
        raise LastWayToLogIn()
    tokens.revoke(user, _token_purpose(identity.id))
    db.session.delete(identity)
    audit.record(actor, "user", user.id, "social-unlinked", {"provider": identity.provider})
    commit_service_call(db.session)
    return identity


_SENTENCES = {
    "social-login": _l("%(actor)s logged in with %(provider)s."),
    "social-linked": _l("%(actor)s linked their %(provider)s login to this account."),
    "social-unlinked": _l("%(actor)s unlinked the %(provider)s login of this account."),
    "social-confirmation-sent": _l("A link to confirm logging in with %(provider)s was sent to the address of "
                                   "%(name)s."),
    "social-login-refused": _l("Logging in to staff account %(name)s with %(provider)s was refused."),
    "registered-through-provider": _l("%(name)s registered through a login with another provider (privacy policy "
                                      "%(policy_version)s)."),
}
for _action, _sentence in _SENTENCES.items():
    sentences.register("user", _action, _sentence)
