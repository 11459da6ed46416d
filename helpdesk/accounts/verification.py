"""Identity verification of individual accounts (issue 18). Staff, or an account's first order (policy
"before_first_order"), ask an individual account to verify its identity; its owner or a member with the billing
permission uploads an ID document (a JPEG or PNG image or a PDF, recognised by its content), which opens a ticket in
the verification queue; staff with the verification permission download it through an audited view and approve or
reject it with a reason, and the customer is told by mail. Orders of an account that must verify wait on billing's
manual hold (billing/orders.py asks ``order_waits``) until the approval releases them. Documents live in a folder of
their own and are deleted IDENTITY_DOCUMENT_RETENTION_DAYS after the decision; their rows stay.

The verification ticket and the held orders belong to packages above this one (tickets, billing), which this package
never imports: they follow submissions and decisions through ``follow``, in the same transaction (a Batch)."""
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from helpdesk import audit, storage, uploads
from helpdesk.accounts import memberships
from helpdesk.accounts.models import ACCOUNT_INDIVIDUAL, PERM_BILLING, CustomerAccount, Membership, User
from helpdesk.accounts.notifications import _send as send_mail
from helpdesk.accounts.verification_models import (
    STATUS_NONE,
    STATUS_PENDING,
    STATUS_REJECTED,
    STATUS_REQUESTED,
    STATUS_VERIFIED,
    HeldOrder,
    IdentityDocument,
    VerificationStaff,
)
from helpdesk.actors import SYSTEM
from helpdesk.audit.sentences import register
from helpdesk.db import Batch, begin_write, commit_service_call, parse_id, utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control

log = logging.getLogger(__name__)

POLICY_OFF, POLICY_STAFF, POLICY_BEFORE_FIRST_ORDER = "off", "staff", "before_first_order"
POLICIES = (POLICY_OFF, POLICY_STAFF, POLICY_BEFORE_FIRST_ORDER)
STATUS_LABELS = {STATUS_NONE: _l("Not verified"), STATUS_REQUESTED: _l("Verification requested"),
                 STATUS_PENDING: _l("Awaiting review"), STATUS_VERIFIED: _l("Verified"),
                 STATUS_REJECTED: _l("Rejected")}
REASON_MAX = 1000
PORTAL_PATH = "/account/identity"
# What an ID document may be, told by its first bytes (the name and the browser's type are not trusted).
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))

register("customer-account", "identity-requested", _l("Asked %(name)s to verify its identity."))
register("customer-account", "identity-document-uploaded", _l("Uploaded an ID document for %(name)s."))
register("customer-account", "identity-document-downloaded", _l("Downloaded an ID document of %(name)s."))
register("customer-account", "identity-document-deleted", _l("Deleted an ID document of %(name)s after its retention."))
register("customer-account", "identity-verified", _l("Verified the identity of %(name)s."))
register("customer-account", "identity-rejected", _l("Rejected the ID document of %(name)s: %(reason)s"))
register("user", "verification-granted", _l("Gave %(name)s the right to verify identities."))
register("user", "verification-revoked", _l("Took the right to verify identities from %(name)s."))


def policy() -> str:
    value = current_app.config.get("IDENTITY_VERIFICATION", POLICY_OFF)
    return value if value in POLICIES else POLICY_OFF


# --------------------------------------------------------------------------- the packages that follow

@dataclass(frozen=True)
class Decision:
    """What followers of a decision get: the document decided on, the outcome, the reason of a rejection and the
    Batch the decision runs in (service calls made in it commit with it)."""

    document: IdentityDocument
    approved: bool
    reason: str
    batch: Batch


_on_submitted: list = []
_on_decided: list = []


def follow(*, submitted=None, decided=None) -> None:
    """Register ``submitted(actor, account, document, batch)`` (a document was uploaded) and/or ``decided(actor,
    account, decision)``; called in the service call's transaction. Packages above this one register at start-up."""
    for hooks, hook in ((_on_submitted, submitted), (_on_decided, decided)):
        if hook is not None and hook not in hooks:
            hooks.append(hook)


# --------------------------------------------------------------------------- the staff permission

def is_verification_staff(actor) -> bool:
    """Admins, and agents given the verification permission."""
    if getattr(actor, "is_admin", False):
        return True
    if not getattr(actor, "is_agent", False) or getattr(actor, "id", None) is None:
        return False
    return db.session.get(VerificationStaff, actor.id) is not None


def require_staff(actor):
    """NotFound for anyone who may not see ID documents (their existence is not revealed)."""
    if not (getattr(actor, "is_system", False) or is_verification_staff(actor)):
        raise NotFound()


def grant_verification(actor, user, granted=True) -> User:
    """Give (or take away) an agent (a User or its id; NotFound for an unknown one) the right to see ID documents
    and decide verifications. Admins only; admins have it anyway, customers never. Returns the user. Commits."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    if not isinstance(user, User):
        user_id = parse_id(user)
        user = db.session.get(User, user_id) if user_id is not None else None
        if user is None:
            raise NotFound()
    if not getattr(user, "is_agent", False) or user.is_admin:
        raise NotAllowed()
    row = db.session.get(VerificationStaff, user.id)
    if granted and row is None:
        db.session.add(VerificationStaff(user_id=user.id, granted_by_id=getattr(actor, "id", None)))
        audit.record(actor, "user", user.id, "verification-granted")
    elif not granted and row is not None:
        db.session.delete(row)
        audit.record(actor, "user", user.id, "verification-revoked")
    commit_service_call(db.session)
    return user


def agents_and_permission(actor) -> list[tuple[User, bool]]:
    """Every active agent who is not an admin, with whether they hold the verification permission (admins)."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    granted = set(db.session.scalars(sa.select(VerificationStaff.user_id)))
    agents = db.session.scalars(sa.select(User).where(User.role == "agent", User.active.is_(True))
                                .order_by(User.full_name, User.email))
    return [(agent, agent.id in granted) for agent in agents]


# --------------------------------------------------------------------------- the customer's side

@dataclass(frozen=True)
class Standing:
    """An account's verification as its members see it."""

    account: CustomerAccount | None
    status: str
    reason: str | None
    may_upload: bool

    @property
    def label(self):
        return STATUS_LABELS.get(self.status, self.status)


def _may_upload(account) -> bool:
    """Individual accounts asked to verify, rejected ones again, and (policy "before_first_order") any individual
    account not verified yet."""
    if policy() == POLICY_OFF or (account is not None and account.kind != ACCOUNT_INDIVIDUAL):
        return False
    status = account.verification_status if account is not None else STATUS_NONE
    return status in (STATUS_REQUESTED, STATUS_REJECTED) or (
        status == STATUS_NONE and policy() == POLICY_BEFORE_FIRST_ORDER)


def standing(actor, account_id) -> Standing:
    """The verification of ``account_id`` for its owner or a member with the billing permission (NotFound for
    others, NotAllowed for members without it). ``account_id`` None: a customer who has no account yet."""
    if account_id is None:
        if not getattr(actor, "is_customer", False):
            raise NotFound()
        return Standing(None, STATUS_NONE, None, _may_upload(None))
    account = memberships.require_permission(actor, account_id, PERM_BILLING).account
    status = account.verification_status
    return Standing(account, status, account.verification_reason if status == STATUS_REJECTED else None,
                    _may_upload(account))


def _check_document(filename, data) -> tuple[str, str]:
    """The cleaned name and the content type of an upload; ValidationFailed("document") otherwise."""
    name = uploads.clean_filename(filename, default="document")
    limit = current_app.config["IDENTITY_DOCUMENT_MAX_BYTES"]
    content_type = next((kind for magic, kind in _SIGNATURES if (data or b"").startswith(magic)), None)
    if not data:
        raise ValidationFailed({"document": _l("Choose the file of your ID document.")})
    if len(data) > limit:
        raise ValidationFailed({"document": _l("The file is larger than the limit of %(size)s MB.",
                                               size=format_decimal(round(limit / (1024 * 1024), 1)))})
    if content_type is None:
        raise ValidationFailed({"document": _l("Upload a photo (JPEG or PNG) or a PDF of your ID document.")})
    return name, content_type


def _store(data: bytes) -> str:
    """Write ``data`` under a random key (not its hash: two accounts' copies of one file stay apart and a deletion
    removes one of them) among the identity documents (never the attachment store) and return the key; durable
    before the row naming it commits."""
    key = secrets.token_hex(32)
    storage.put_as(key, data, storage.DOCUMENTS)
    return key


def _locked_account(account_id) -> CustomerAccount:
    """The account locked for a state change, read again (not the copy an earlier read left in the session)."""
    begin_write(db.session)
    account = db.session.scalar(sa.select(CustomerAccount).where(CustomerAccount.id == account_id)
                                .with_for_update().execution_options(populate_existing=True))
    if account is None:
        raise NotFound()
    return account


def _uploading_account(actor, account_id) -> CustomerAccount:
    if account_id is None and getattr(actor, "is_customer", False):
        account = memberships.ensure_personal_account(actor)
        db.session.flush()
        return _locked_account(account.id)
    memberships.require_permission(actor, account_id, PERM_BILLING)
    return _locked_account(parse_id(account_id))


def submit_document(actor, account_id, *, filename, data: bytes) -> IdentityDocument:
    """Upload an ID document for ``account_id`` (None: the customer's own account, made if they have none): the
    owner or a member with the billing permission, while the account may upload (``Standing.may_upload``). The
    account awaits review and a ticket opens in the verification queue (the followers). Commits."""
    if account_id is not None:
        memberships.require_permission(actor, account_id, PERM_BILLING)  # before anything is written
    elif not getattr(actor, "is_customer", False):
        raise NotFound()
    name, content_type = _check_document(filename, data)
    key = _store(data)
    try:
        with Batch(db.session) as batch:
            account = _uploading_account(actor, account_id)
            if not _may_upload(account):
                raise Conflict(_l("No ID document is needed for this account now."))
            now = utcnow()
            document = IdentityDocument(account=account, uploaded_by_id=actor.id, storage_key=key,
                                        content_type=content_type, size=len(data), original_name=name,
                                        uploaded_at=now)
            db.session.add(document)
            account.verification_status, account.verification_reason = STATUS_PENDING, None
            account.verification_requested_at = account.verification_requested_at or now
            audit.record(actor, "customer-account", account.id, "identity-document-uploaded",
                         {"document": document, "content_type": content_type, "size": len(data)})
            for hook in _on_submitted:
                hook(actor, account, document, batch)
    except BaseException:
        storage.delete(key, storage.DOCUMENTS)
        raise
    return document


# --------------------------------------------------------------------------- the staff's side

def request_verification(actor, account_id) -> CustomerAccount:
    """Staff with the verification permission ask an individual account to verify its identity; its owners are
    told by mail and its orders wait from now on. Nothing when it was asked already. Commits."""
    require_staff(actor)
    if policy() == POLICY_OFF:
        raise Conflict(_l("Identity verification is switched off."))
    account = _locked_account(parse_id(account_id))
    if account.kind != ACCOUNT_INDIVIDUAL:
        raise ValidationFailed({"account": _l("Only individual accounts verify their identity.")})
    if account.verification_status not in (STATUS_REQUESTED, STATUS_PENDING):
        _ask(actor, account, "staff")
    commit_service_call(db.session)
    return account


def _ask(actor, account, by: str):
    account.verification_status, account.verification_requested_at = STATUS_REQUESTED, utcnow()
    account.verification_reason = None
    audit.record(actor, "customer-account", account.id, "identity-requested", {"by": by})
    for owner in _owners(account):
        send_mail(owner, "identity_request",
                  lambda: _("Please verify your identity with %(brand)s", brand=current_app.config["BRAND_NAME"]),
                  link=_portal_link(), account_name=account.name)


def _owners(account) -> list[User]:
    return list(db.session.scalars(sa.select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.account_id == account.id, Membership.is_owner.is_(True))))


def _portal_link() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + PORTAL_PATH


def find_account(actor, email) -> CustomerAccount:
    """The individual account owned by the customer with ``email`` (staff with the permission); NotFound else."""
    require_staff(actor)
    email = (email or "").strip().lower()
    account = db.session.scalar(
        sa.select(CustomerAccount).join(Membership).join(User, User.id == Membership.user_id)
        .where(User.email == email, Membership.is_owner.is_(True), CustomerAccount.kind == ACCOUNT_INDIVIDUAL)
        .order_by(CustomerAccount.id).limit(1))
    if account is None:
        raise NotFound()
    return account


def pending_reviews(actor) -> list[IdentityDocument]:
    """The documents awaiting a decision, oldest first (staff with the permission)."""
    require_staff(actor)
    return db.session.scalars(
        sa.select(IdentityDocument).join(CustomerAccount)
        .where(IdentityDocument.decided_at.is_(None), IdentityDocument.deleted_at.is_(None),
               CustomerAccount.verification_status == STATUS_PENDING)
        .order_by(IdentityDocument.uploaded_at, IdentityDocument.id)).all()


def awaiting_upload(actor, limit=100) -> list[CustomerAccount]:
    """Accounts asked (or rejected) that have not uploaded a document since, longest waiting first."""
    require_staff(actor)
    return db.session.scalars(
        sa.select(CustomerAccount)
        .where(CustomerAccount.verification_status.in_((STATUS_REQUESTED, STATUS_REJECTED)))
        .order_by(CustomerAccount.verification_requested_at, CustomerAccount.id).limit(limit)).all()


def account_for_review(actor, account_id) -> tuple[CustomerAccount, list[IdentityDocument]]:
    """An account with its documents, newest first (staff with the permission); NotFound for an unknown id."""
    require_staff(actor)
    account_id = parse_id(account_id)
    account = db.session.get(CustomerAccount, account_id) if account_id is not None else None
    if account is None:
        raise NotFound()
    documents = db.session.scalars(sa.select(IdentityDocument).where(IdentityDocument.account_id == account.id)
                                   .order_by(IdentityDocument.id.desc())).all()
    return account, documents


def open_document(actor, document_id) -> tuple[IdentityDocument, bytes]:
    """An ID document's file for staff with the permission, each download recorded in the audit trail (commits).
    NotFound for anyone else, for an unknown id, and once the file was deleted after its retention."""
    require_staff(actor)
    document_id = parse_id(document_id)
    document = db.session.get(IdentityDocument, document_id) if document_id is not None else None
    if document is None or document.deleted_at is not None:
        raise NotFound()
    try:
        data = storage.get(document.storage_key, storage.DOCUMENTS)
    except FileNotFoundError:
        log.error("identity document %s: its file is missing", document.id)
        raise NotFound() from None
    begin_write(db.session)
    audit.record(actor, "customer-account", document.account_id, "identity-document-downloaded",
                 {"document": document.id})
    commit_service_call(db.session)
    return document, data


def approve(actor, account_id) -> CustomerAccount:
    """Staff verify the identity of an account whose document awaits review: the customer is told by mail, the
    verification ticket is closed and the orders held for it are released (the followers). Commits."""
    return _decide(actor, account_id, approved=True, reason="")


def reject(actor, account_id, reason) -> CustomerAccount:
    """Staff reject the document awaiting review with a reason the customer reads (by mail and in the portal);
    the customer may upload another, the held orders stay held. Commits."""
    reason = strip_control(reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _l("Tell the customer why the document was not accepted.")})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": _l("At most %(num)d characters.", num=REASON_MAX)})
    return _decide(actor, account_id, approved=False, reason=reason)


def _decide(actor, account_id, *, approved, reason) -> CustomerAccount:
    require_staff(actor)
    with Batch(db.session) as batch:
        account = _locked_account(parse_id(account_id))
        document = db.session.scalar(
            sa.select(IdentityDocument).where(IdentityDocument.account_id == account.id,
                                              IdentityDocument.decided_at.is_(None))
            .order_by(IdentityDocument.id.desc()).limit(1))
        if account.verification_status != STATUS_PENDING or document is None:
            raise Conflict(_l("No document of this account awaits a decision."))
        now = utcnow()
        document.decided_at = now
        account.verification_status = STATUS_VERIFIED if approved else STATUS_REJECTED
        account.verification_reason = reason or None
        account.verification_decided_at, account.verification_decided_by_id = now, getattr(actor, "id", None)
        audit.record(actor, "customer-account", account.id, "identity-verified" if approved else "identity-rejected",
                     {"document": document.id, "reason": reason} if reason else {"document": document.id})
        _tell_decision(account, document, approved, reason)
        for hook in _on_decided:
            hook(actor, account, Decision(document=document, approved=approved, reason=reason, batch=batch))
    return account


def _tell_decision(account, document, approved, reason):
    """Mail the decision to whoever uploaded the document (else the account's owners), in their language."""
    recipients = [document.uploaded_by] if document.uploaded_by is not None else _owners(account)
    brand = current_app.config["BRAND_NAME"]
    for user in recipients:
        subject = ((lambda: _("Your identity is verified: %(brand)s", brand=brand)) if approved
                   else (lambda: _("Your ID document was not accepted: %(brand)s", brand=brand)))
        send_mail(user, "identity_decision", subject, approved=approved, reason=reason, link=_portal_link(),
                  account_name=account.name)


# --------------------------------------------------------------------------- orders

def order_waits(customer_account_id, *, first_order) -> bool:
    """Whether an order of ``customer_account_id`` must wait for its identity (billing holds it): the account was
    asked and is not verified; with policy "before_first_order", an individual account's first order asks it
    (its owners are told by mail). ``first_order()`` says whether this is its first, asked only when it matters.
    Never commits."""
    if policy() == POLICY_OFF or customer_account_id is None:
        return False
    account = db.session.get(CustomerAccount, customer_account_id)
    if account is None or account.verification_status == STATUS_VERIFIED:
        return False
    if account.verification_status in (STATUS_REQUESTED, STATUS_PENDING, STATUS_REJECTED):
        return True
    if policy() == POLICY_BEFORE_FIRST_ORDER and account.kind == ACCOUNT_INDIVIDUAL and first_order():
        _ask(SYSTEM, account, "first-order")
        return True
    return False


def remember_held_order(customer_account_id, order) -> None:
    """Note that ``order`` waits for its account's identity (billing put it on hold). Never commits."""
    db.session.add(HeldOrder(order_id=order.id, account_id=customer_account_id, held_at=utcnow()))


def orders_to_release(customer_account_id) -> list[int]:
    """The ids of the orders held for the account's identity, marked released now (billing accepts them in the
    same transaction). Never commits."""
    held = db.session.scalars(sa.select(HeldOrder).where(HeldOrder.account_id == customer_account_id,
                                                         HeldOrder.released_at.is_(None))
                              .order_by(HeldOrder.order_id)).all()
    now = utcnow()
    for row in held:
        row.released_at = now
    return [row.order_id for row in held]


# --------------------------------------------------------------------------- retention

def delete_expired_documents(now=None) -> int:
    """Delete the files of documents decided more than IDENTITY_DOCUMENT_RETENTION_DAYS ago; their rows stay,
    marked deleted, with an audit row each. Returns how many. Idempotent. Commits."""
    now = now or utcnow()
    cutoff = now - timedelta(days=int(current_app.config["IDENTITY_DOCUMENT_RETENTION_DAYS"]))
    begin_write(db.session)
    expired = db.session.scalars(sa.select(IdentityDocument).where(IdentityDocument.decided_at <= cutoff,
                                                                   IdentityDocument.deleted_at.is_(None))
                                 .with_for_update()).all()
    for document in expired:
        storage.delete(document.storage_key, storage.DOCUMENTS)
        document.deleted_at = now
        audit.record(SYSTEM, "customer-account", document.account_id, "identity-document-deleted",
                     {"document": document.id})
    commit_service_call(db.session)
    return len(expired)


def delete_expired_documents_task(period: str | None = None) -> int:
    """The scheduler's daily job (helpdesk/scheduler.py IDENTITY_RETENTION_TASK); ``period`` is the day it runs
    for, unused: what is expired is decided by the clock."""
    count = delete_expired_documents()
    log.info("identity documents: %d deleted after their retention", count)
    return count
