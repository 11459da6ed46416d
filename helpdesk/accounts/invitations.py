"""Inviting a person by email to a customer account (issue 18): a single-use link, valid for
ACCOUNT_INVITATION_HOURS, mailed through the outbox; whoever holds a login with that address accepts it (a new
person registers first, then opens the link again). Inviting never tells whether the address has a login: the
answer and the mail are the same either way. Only the SHA-256 of a link's token is stored. Every public function
that changes something is one transaction."""
import hashlib
import secrets
from datetime import timedelta
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk import audit
from helpdesk.accounts import members, memberships
from helpdesk.accounts import service as accounts
from helpdesk.accounts.errors import LinkExpired
from helpdesk.accounts.member_sentences import permission_words
from helpdesk.accounts.models import AccountInvitation, Membership, User
from helpdesk.db import commit_service_call, parse_id, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.notify.service import queue_email

INVITATION_PATH = "/account/invitations/"
MAX_PENDING = 50  # open invitations per account


class WrongLogin(NotAllowed):
    """The invitation was sent to another address than the login's."""

    message = _l("This invitation was sent to another address. Log in with that address to accept it.")


def _digest(token: str) -> str:
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).hexdigest()


def _open():
    now = utcnow()
    return sa.and_(AccountInvitation.accepted_at.is_(None), AccountInvitation.cancelled_at.is_(None),
                   AccountInvitation.expires_at > now)


def pending(actor, account_id) -> list[AccountInvitation]:
    """The account's invitations not yet accepted, cancelled or expired, newest first (managers and staff)."""
    members.require_manager(actor, account_id)
    return list(db.session.scalars(sa.select(AccountInvitation).where(
        AccountInvitation.account_id == parse_id(account_id), _open()).order_by(AccountInvitation.id.desc())))


def invite(actor, account_id, *, email, permissions) -> AccountInvitation:
    """Mail ``email`` a link to join ``account_id`` with ``permissions``. Managers (members permission) and
    staff; a manager who is no owner gives only permissions they have. An earlier open invitation of the same
    address to this account stops working. The same answer whether or not the address has a login."""
    manager = members.require_manager(actor, account_id)
    account = members.get_account(actor, account_id)
    errors = {}
    wanted = members.check_grant(errors, manager, permissions)
    email = accounts.check_email(errors, "email", email)
    if email and db.session.scalar(sa.select(Membership.id).join(User, Membership.user_id == User.id).where(
            Membership.account_id == account.id, User.email == email)):
        errors["email"] = _l("%(email)s is a member already.", email=email)
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(AccountInvitation).where(
        AccountInvitation.account_id == account.id, _open()))
    if email and open_count >= MAX_PENDING:
        errors["email"] = _l("Up to %(num)d invitations can wait at once.", num=MAX_PENDING)
    if errors:
        raise ValidationFailed(errors)
    _cancel_open(account.id, email)
    token = secrets.token_urlsafe(32)
    hours = current_app.config["ACCOUNT_INVITATION_HOURS"]
    now = utcnow()
    row = AccountInvitation(account=account, email=email, permissions=wanted, token_hash=_digest(token),
                            invited_by_id=getattr(actor, "id", None), created_at=now,
                            expires_at=now + timedelta(hours=hours))
    db.session.add(row)
    db.session.flush()
    _send(row, token, hours, actor)
    audit.record(actor, "customer-account", account.id, "member-invited", {"email": email, "permissions": wanted},
                 account_id=account.id)
    commit_service_call(db.session)
    return row


def _cancel_open(account_id, email):
    db.session.execute(sa.update(AccountInvitation).where(
        AccountInvitation.account_id == account_id, AccountInvitation.email == email, _open())
        .values(cancelled_at=utcnow()))


def cancel(actor, account_id, invitation_id) -> AccountInvitation:
    """Stop an open invitation of ``account_id`` from working; NotFound for another account's."""
    members.require_manager(actor, account_id)
    invitation_id = parse_id(invitation_id)
    row = db.session.get(AccountInvitation, invitation_id) if invitation_id is not None else None
    if row is None or row.account_id != parse_id(account_id):
        raise NotFound()
    if row.accepted_at is None and row.cancelled_at is None:
        row.cancelled_at = utcnow()
        audit.record(actor, "customer-account", row.account_id, "invitation-cancelled", {"email": row.email},
                     account_id=row.account_id)
    commit_service_call(db.session)
    return row


def find_valid(token: str, lock=False) -> AccountInvitation | None:
    """The open invitation of a link, else None (unknown, used, cancelled and expired links look the same)."""
    if not token or len(token) > 200:
        return None
    query = sa.select(AccountInvitation).where(AccountInvitation.token_hash == _digest(token), _open())
    return db.session.scalar(query.with_for_update() if lock else query)


def accept(actor, token: str) -> Membership:
    """``actor`` (a customer logged in with the invited address) joins the account with the invitation's
    permissions; the link is spent. LinkExpired for a link that no longer works, WrongLogin for another login.
    A member already keeps what they have."""
    row = find_valid(token, lock=True)
    if row is None:
        raise LinkExpired()
    if not getattr(actor, "is_customer", False) or actor.email != row.email:
        raise WrongLogin()
    row.accepted_at, row.accepted_by_id = utcnow(), actor.id
    joined = memberships.membership(actor, row.account_id)
    if joined is None:
        joined = members.join(row.account, actor, row.permissions or [])
    audit.record(actor, "customer-account", row.account_id, "invitation-accepted",
                 {"member": actor.id, "permissions": row.permissions or []}, account_id=row.account_id)
    commit_service_call(db.session)
    return joined


def _send(row, token, hours, inviter):
    """The invitation mail, in the language of the address's login if it has one, else the inviter's. The
    lookup only picks a language: the inviter sees the same answer either way."""
    config = current_app.config
    known = db.session.scalar(sa.select(User.locale).where(User.email == row.email))
    locale = next((code for code in (known, getattr(inviter, "locale", None)) if code in LANGUAGES),
                  config["DEFAULT_LOCALE"])
    link = config["BASE_URL"].rstrip("/") + INVITATION_PATH + token
    context = {"brand": config["BRAND_NAME"], "recipient_name": "", "link": link, "hours": hours,
               "account_name": row.account.name, "inviter": getattr(inviter, "display_name", None) or "",
               "address": row.email}
    with force_locale(locale):
        context["permissions"] = ", ".join(str(w) for w in permission_words(row.permissions)) or _("nothing")
        text = render_template("accounts/mail/account_invitation.txt", **context)
        html = render_template("accounts/mail/account_invitation.html", **context)
        subject = _("Invitation to %(account)s at %(brand)s", account=row.account.name, brand=config["BRAND_NAME"])
    queue_email(sender=formataddr((config["BRAND_NAME"], config["MAIL_DEFAULT_FROM"])), recipient=row.email,
                recipient_name="", subject=subject, body_text=text, body_html=html,
                headers={"Auto-Submitted": "auto-generated"})
