"""Mailboxes behind OAuth 2: the providers (Microsoft, Google, any by settings), the grant an admin's consent
gives a mailbox (tokens encrypted at rest), fresh access tokens for the gateway, and the error state a revoked
grant puts a mailbox in. Flask-free: callers pass the configuration; the web door runs the browser's part.
The token endpoint is spoken to through ``TokenClient``, the interface helpdesk.providers.mailbox_oauth implements
with Authlib and registers at start: this domain speaks no HTTP itself."""
import base64
import fcntl
import hashlib
import json
import logging
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask_babel import force_locale, gettext

from helpdesk.accounts import staff
from helpdesk.accounts.models import ROLE_ADMIN, User
from helpdesk.db import begin_write, utcnow
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.inbound.models import GRANT_ERROR, GRANT_OK, MailboxGrant
from helpdesk.notify.service import queue_email

log = logging.getLogger("helpdesk.mailgateway")

# The page where admins connect mailboxes and the provider sends them back to; the web door serves both.
CONSOLE_PATH = "/agent/admin/mailboxes"
CALLBACK_PATH = "/agent/admin/mailboxes/oauth/callback"

# Errors of the token endpoint (RFC 6749 §5.2) that no retry can cure: an admin must act.
LASTING_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"}


class OAuthMailboxError(Exception):
    """Something about a mailbox's OAuth 2 sign-in went wrong; the message is for logs and admins."""


class ProviderNotConfigured(OAuthMailboxError):
    pass


class AuthorizationFailed(OAuthMailboxError):
    """The provider refused to turn the authorization code into tokens (or the person declined)."""

    def __init__(self, error, description=None):
        self.error, self.description = error, description
        super().__init__(f"{error}: {description}" if description else error)


class TokenEndpointUnavailable(OAuthMailboxError):
    """The provider could not be asked now (network, 5xx, temporarily_unavailable): try again later."""


class GrantUnusable(OAuthMailboxError):
    """The mailbox has no working grant: never connected, or the provider refused it. An admin must connect it."""


class NotConnected(GrantUnusable):
    pass


class GrantRevoked(GrantUnusable):
    pass


# --------------------------------------------------------------------------- providers

_MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
_PRESETS = {
    # "openid email" name the account that consented; offline_access asks for a refresh token.
    "microsoft": {"authorize_url": _MICROSOFT + "/authorize", "token_url": _MICROSOFT + "/token",
                  "scopes": "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All",
                  "authorize_params": {"prompt": "select_account"}},
    # Google gives a refresh token only with access_type=offline, and again only with prompt=consent.
    "google": {"authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
               "token_url": "https://oauth2.googleapis.com/token", "scopes": "openid email https://mail.google.com/",
               "authorize_params": {"access_type": "offline", "prompt": "consent"},
               # A refresh keeps the consented scopes; Google's token endpoint takes no scope then.
               "scope_on_refresh": False},
    "generic": {},
}


@dataclass(frozen=True)
class Provider:
    """An OAuth 2 provider as configured in MAIL_OAUTH_PROVIDERS; the secret stays out of reprs and logs."""

    name: str
    kind: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str
    authorize_params: dict = field(default_factory=dict)
    scope_on_refresh: bool = True

    def session(self, timeout, refreshing=False) -> "TokenSession":
        """What a request to this provider's endpoints is made with (a refresh sends no scope where the provider
        takes none then)."""
        scope = self.scopes if self.scope_on_refresh or not refreshing else None
        return TokenSession(client_id=self.client_id, client_secret=self.client_secret, scope=scope, timeout=timeout)


@dataclass(frozen=True)
class TokenSession:
    """The client's credentials, the scope to ask for and the seconds to wait, for one request to a provider."""

    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None
    timeout: float


class TokenClient(Protocol):
    """Speaks OAuth 2 to a provider (PKCE S256). Its refusals come as AuthorizationFailed when they last
    (LASTING_ERRORS), else TokenEndpointUnavailable; neither message holds a token or the client secret."""

    def authorization_url(self, session: TokenSession, url: str, *, state: str, code_verifier: str,
                          redirect_uri: str, params: dict) -> str:
        """The provider's authorization URL."""

    def fetch_token(self, session: TokenSession, url: str, *, code: str, code_verifier: str,
                    redirect_uri: str) -> dict:
        """Trade an authorization code for tokens."""

    def refresh_token(self, session: TokenSession, url: str, *, refresh_token: str) -> dict:
        """A new access token (and perhaps a new refresh token) for ``refresh_token``."""


_CLIENT: list[TokenClient] = []


def register_token_client(client: TokenClient) -> None:
    """Make ``client`` the one this module speaks to providers through (helpdesk.providers does this at start)."""
    _CLIENT[:] = [client]


def _client() -> TokenClient:
    if not _CLIENT:
        raise TokenEndpointUnavailable("no OAuth 2 client registered (helpdesk.providers registers one at start)")
    return _CLIENT[0]


def provider(config, name) -> Provider:
    """The provider ``name`` of MAIL_OAUTH_PROVIDERS; ProviderNotConfigured names what is missing."""
    settings = (config.get("MAIL_OAUTH_PROVIDERS") or {}).get(name)
    if not isinstance(settings, dict):
        raise ProviderNotConfigured(f"OAuth provider {name!r} is not in MAIL_OAUTH_PROVIDERS")
    kind = settings.get("type", "generic")
    if kind not in _PRESETS:
        raise ProviderNotConfigured(f"OAuth provider {name!r}: unknown type {kind!r} (microsoft, google, generic)")
    values = {**_PRESETS[kind], **{k: v for k, v in settings.items() if v not in (None, "")}}
    secret = values.get("client_secret")
    if not secret and values.get("client_secret_file"):
        secret = Path(values["client_secret_file"]).read_text().strip()
    missing = [key for key in ("authorize_url", "token_url", "client_id", "scopes") if not values.get(key)]
    if missing:
        raise ProviderNotConfigured(f"OAuth provider {name!r}: {', '.join(missing)} missing")
    tenant = values.get("tenant") or "common"
    return Provider(name=name, kind=kind, authorize_url=values["authorize_url"].format(tenant=tenant),
                    token_url=values["token_url"].format(tenant=tenant), client_id=values["client_id"],
                    client_secret=secret or "", scopes=values["scopes"],
                    authorize_params=dict(values.get("authorize_params") or {}),
                    scope_on_refresh=bool(values.get("scope_on_refresh", True)))


def oauth_mailboxes(config) -> list[dict]:
    """The IMAP mailboxes of MAIL_MAILBOXES that sign in with a provider the console connects."""
    return [spec for spec in config["MAIL_MAILBOXES"]
            if spec.get("type", "imap") == "imap" and spec.get("auth") == "oauth2"]


def mailbox_spec(config, name) -> dict:
    for spec in oauth_mailboxes(config):
        if spec["name"] == name:
            return spec
    raise ProviderNotConfigured(f"mailbox {name!r} is no OAuth 2 mailbox of MAIL_MAILBOXES")


# --------------------------------------------------------------------------- tokens at rest

class TokenCipher:
    """Encrypts tokens with Fernet (AES-128-CBC and HMAC-SHA256). The key is SECRET_ENCRYPTION_KEY (a Fernet
    key) when set; otherwise it is derived from SECRET_KEY with HKDF-SHA256, so a leaked database alone
    reveals no token, and changing SECRET_KEY means connecting the mailboxes again."""

    _INFO = b"helpdesk mailbox oauth tokens"

    def __init__(self, config):
        key = config.get("SECRET_ENCRYPTION_KEY")
        if not key:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self._INFO).derive(
                config["SECRET_KEY"].encode())
            key = base64.urlsafe_b64encode(derived)
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise OAuthMailboxError("SECRET_ENCRYPTION_KEY is not a Fernet key (32 bytes in url-safe base64, "
                                    "44 characters)") from None

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode()
        except InvalidToken:
            raise NotConnected("the stored tokens cannot be decrypted (SECRET_ENCRYPTION_KEY or SECRET_KEY "
                               "changed): connect the mailbox again") from None


# --------------------------------------------------------------------------- the admin's consent

@dataclass(frozen=True)
class Authorization:
    """Where to send the admin's browser, and what the callback must see again (kept in their session)."""

    url: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


def begin_authorization(actor, config, mailbox, redirect_uri) -> Authorization:
    """The provider's authorization URL for ``mailbox``, with a fresh state and a PKCE (S256) verifier.
    Admins only."""
    staff.require_admin(actor)
    chosen = provider(config, mailbox_spec(config, mailbox)["oauth_provider"])
    state, verifier = secrets.token_urlsafe(30), secrets.token_urlsafe(48)
    url = _client().authorization_url(chosen.session(config["MAIL_OAUTH_TIMEOUT"]), chosen.authorize_url,
                                      state=state, code_verifier=verifier, redirect_uri=redirect_uri,
                                      params=chosen.authorize_params)
    return Authorization(url=url, state=state, code_verifier=verifier)


def finish_authorization(actor, config, mailbox, *, code, code_verifier, redirect_uri) -> MailboxGrant:
    """Trade the authorization code for tokens and store them as the mailbox's grant, which is usable again
    (error cleared, admins to be told of the next failure). Admins only; the caller has checked the state."""
    staff.require_admin(actor)
    chosen = provider(config, mailbox_spec(config, mailbox)["oauth_provider"])
    db.session.rollback()  # no transaction open while the provider answers
    token = _client().fetch_token(chosen.session(config["MAIL_OAUTH_TIMEOUT"]), chosen.token_url, code=code,
                                  code_verifier=code_verifier, redirect_uri=redirect_uri)
    if not token.get("refresh_token"):
        raise AuthorizationFailed("no_refresh_token", "the provider gave no refresh token (offline access)")
    cipher = TokenCipher(config)
    with _refresh_lock(mailbox, config):  # not while a gateway refreshes the grant this replaces
        begin_write(db.session)
        grant = db.session.get(MailboxGrant, mailbox, with_for_update=True, populate_existing=True) \
            or MailboxGrant(mailbox=mailbox)
        db.session.add(grant)
        grant.provider = chosen.name
        grant.account = _account_of(token)
        grant.connected_at = grant.refreshed_at = utcnow()
        grant.connected_by_id = actor.id
        _store_tokens(grant, token, cipher, refresh_token=token["refresh_token"])
        db.session.commit()
    log.info("mailbox %s connected with OAuth provider %s as %s", mailbox, chosen.name, grant.account or "?")
    return grant


def _account_of(token) -> str | None:
    """Who consented, from the ID token that came with the tokens. It came straight from the token endpoint
    over TLS, which OpenID Connect Core §3.1.3.7 accepts instead of checking its signature."""
    try:
        payload = token["id_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (KeyError, IndexError, ValueError):
        return None
    return claims.get("email") or claims.get("preferred_username") or claims.get("upn")


def _store_tokens(grant, token, cipher, refresh_token):
    lifetime = int(token.get("expires_in") or 3600)
    grant.access_token = cipher.encrypt(token["access_token"])
    grant.access_token_expires_at = utcnow() + timedelta(seconds=lifetime)
    grant.refresh_token = cipher.encrypt(refresh_token)
    grant.state, grant.error, grant.error_since, grant.admins_notified = GRANT_OK, None, None, False


# --------------------------------------------------------------------------- the gateway's tokens

@dataclass(frozen=True)
class AccessToken:
    """A token to sign in with. ``renew_at`` (epoch seconds) is when a new one, and a new session, is due."""

    value: str = field(repr=False)
    account: str | None
    expires_at: float
    renew_at: float


def _usable(grant, now, margin, rejected):
    if grant is None or grant.state != GRANT_OK or grant.access_token_expires_at is None:
        return None
    lifetime = (grant.access_token_expires_at - (grant.refreshed_at or grant.connected_at)).total_seconds()
    renew_at = grant.access_token_expires_at.timestamp() - min(margin, lifetime / 2)
    return renew_at if now < renew_at and grant.access_token != rejected else None


def access_token(config, mailbox, *, rejected=None, recheck=False) -> AccessToken:
    """A valid access token for ``mailbox``: the stored one, or a new one from the provider when it expires
    within MAIL_OAUTH_REFRESH_MARGIN or was ``rejected`` (the token the IMAP server refused). One process
    refreshes at a time; the others then take its token. A refused refresh token puts the mailbox in the
    error state, mails the admins once and raises GrantRevoked; a mailbox already in that state raises it
    without asking the provider, unless ``recheck``. Network trouble raises TokenEndpointUnavailable."""
    cipher = TokenCipher(config)
    rejected_cipher = None
    with _refresh_lock(mailbox, config):
        grant = db.session.get(MailboxGrant, mailbox, with_for_update=True, populate_existing=True)
        if grant is None or grant.refresh_token is None:
            db.session.rollback()
            raise NotConnected(f"mailbox {mailbox} is not connected to its OAuth provider yet")
        if rejected is not None and grant.access_token is not None \
                and cipher.decrypt(grant.access_token) == rejected:
            rejected_cipher = grant.access_token
        renew_at = _usable(grant, time.time(), config["MAIL_OAUTH_REFRESH_MARGIN"], rejected_cipher)
        if renew_at is not None:
            found = AccessToken(cipher.decrypt(grant.access_token), grant.account,
                                grant.access_token_expires_at.timestamp(), renew_at)
            db.session.rollback()
            return found
        if grant.state == GRANT_ERROR and not recheck:
            message = f"mailbox {mailbox}: the OAuth grant was refused ({grant.error}); connect it again"
            db.session.rollback()
            raise GrantRevoked(message)
        return _refresh(config, grant, cipher)


def _refresh(config, grant, cipher) -> AccessToken:
    chosen = provider(config, grant.provider)
    refresh_token = cipher.decrypt(grant.refresh_token)
    try:
        token = _client().refresh_token(chosen.session(config["MAIL_OAUTH_TIMEOUT"], refreshing=True),
                                        chosen.token_url, refresh_token=refresh_token)
    except AuthorizationFailed as exc:
        mailbox = grant.mailbox
        _mark_refused(config, _for_writing(grant), str(exc))
        db.session.commit()
        raise GrantRevoked(f"mailbox {mailbox}: the OAuth provider refused the grant ({exc}); "
                           f"connect it again in the console") from None
    except TokenEndpointUnavailable:
        db.session.rollback()
        raise
    grant = _for_writing(grant)
    # Providers that rotate refresh tokens send a new one (the old one then dies); others send none.
    _store_tokens(grant, token, cipher, refresh_token=token.get("refresh_token") or refresh_token)
    grant.refreshed_at = utcnow()
    expires_at = grant.access_token_expires_at.timestamp()
    found = AccessToken(token["access_token"], grant.account, expires_at,
                        _usable(grant, 0, config["MAIL_OAUTH_REFRESH_MARGIN"], None))
    db.session.commit()
    log.info("mailbox %s: new OAuth access token, valid until %s", grant.mailbox,
             datetime.fromtimestamp(expires_at).astimezone().isoformat(timespec="seconds"))
    return found


def _for_writing(grant):
    """The grant in a transaction that may write. PostgreSQL: the one holding its row lock. SQLite: a new
    one that takes the write lock first (the file lock keeps other refreshers out meanwhile), as a read
    transaction that turns into a write fails when another process wrote in between."""
    if db.engine.dialect.name == "postgresql":
        return grant
    mailbox = grant.mailbox
    db.session.rollback()
    begin_write(db.session)
    return db.session.get(MailboxGrant, mailbox, populate_existing=True)


def _mark_refused(config, grant, message):
    """The error state: shown in the console, and the admins mailed the first time since it was connected."""
    if grant.state != GRANT_ERROR:
        grant.error_since = utcnow()
    grant.state, grant.error = GRANT_ERROR, message[:2000]
    grant.access_token = grant.access_token_expires_at = None
    if not grant.admins_notified:
        _mail_admins(config, grant)
        grant.admins_notified = True
    log.warning("mailbox %s: the OAuth provider refused the grant (%s); waiting for an admin to connect it "
                "again", grant.mailbox, message)


def _mail_admins(config, grant):
    admins = db.session.scalars(sa.select(User).where(User.role == ROLE_ADMIN, User.active.is_(True))
                                .order_by(User.id)).all()
    link = config["BASE_URL"].rstrip("/") + CONSOLE_PATH
    sender = formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"]))
    for admin in admins:
        with force_locale(admin.locale if admin.locale in LANGUAGES else config["DEFAULT_LOCALE"]):
            subject = gettext("The mailbox %(mailbox)s can no longer be read", mailbox=grant.mailbox)
            body = "\n\n".join((
                gettext("Hello %(name)s,", name=admin.full_name),
                gettext("The mail gateway can no longer sign in to the mailbox %(mailbox)s: the provider "
                        "%(provider)s refused the access it was given (%(error)s). This happens when the "
                        "consent is revoked, the account's password changes or the access expires.",
                        mailbox=grant.mailbox, provider=grant.provider, error=grant.error),
                gettext("No mail is read from this mailbox until an admin connects it again:"),
                link,
                gettext("This message is sent once; another follows only if the mailbox fails again after "
                        "it has been connected."),
            )) + "\n"
        queue_email(sender=sender, recipient=admin.email, recipient_name=admin.full_name, subject=subject,
                    body_text=body, headers={"Auto-Submitted": "auto-generated"})


@contextmanager
def _refresh_lock(mailbox, config):
    """Only one process refreshes a mailbox's token at a time. PostgreSQL: the grant's row lock (SELECT …
    FOR UPDATE, taken by the caller's read), held until its commit. SQLite: a file lock beside the mailbox
    locks, so the database's single write lock is not held while the provider answers."""
    if db.engine.dialect.name == "postgresql":
        try:
            yield
        finally:
            db.session.rollback()  # a no-op after the commit; releases the row lock on any error
        return
    folder = Path(config["INSTANCE_PATH"]) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(mailbox.encode()).hexdigest()[:16]
    with open(folder / f"oauth-{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            db.session.rollback()  # read after the lock: another process may just have refreshed
            yield
        finally:
            db.session.rollback()
            fcntl.flock(handle, fcntl.LOCK_UN)


def grant_usable(mailbox) -> bool:
    """Whether the mailbox has a grant not in the error state (a cheap check while waiting for an admin)."""
    try:
        state = db.session.scalar(sa.select(MailboxGrant.state).where(MailboxGrant.mailbox == mailbox))
        return state == GRANT_OK
    finally:
        db.session.rollback()


# --------------------------------------------------------------------------- the console's view

@dataclass(frozen=True)
class MailboxStatus:
    """One configured IMAP mailbox as the console shows it."""

    name: str
    user: str | None
    auth: str  # "oauth2", "token_file" or "password"
    provider: str | None
    provider_configured: bool
    grant: MailboxGrant | None

    @property
    def state(self):
        if self.auth != "oauth2":
            return "not_oauth"
        if self.grant is None:
            return "not_connected"
        return self.grant.state


def mailbox_statuses(actor, config) -> list[MailboxStatus]:
    """Every IMAP mailbox of MAIL_MAILBOXES with how it signs in and, for OAuth ones, its grant. Admins only."""
    staff.require_admin(actor)
    grants = {g.mailbox: g for g in db.session.scalars(sa.select(MailboxGrant))}
    result = []
    for spec in config["MAIL_MAILBOXES"]:
        if spec.get("type", "imap") != "imap":
            continue
        auth = "oauth2" if spec.get("auth") == "oauth2" else \
            "token_file" if spec.get("oauth2_token_file") else "password"
        name = spec.get("oauth_provider")
        configured = auth == "oauth2" and isinstance((config.get("MAIL_OAUTH_PROVIDERS") or {}).get(name), dict)
        result.append(MailboxStatus(name=spec["name"], user=spec.get("user"), auth=auth, provider=name,
                                    provider_configured=configured,
                                    grant=grants.get(spec["name"]) if auth == "oauth2" else None))
    return result
