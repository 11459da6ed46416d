"""User and organisation tables."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.extensions import db

ROLE_ADMIN = "admin"
ROLE_AGENT = "agent"
ROLE_CUSTOMER = "customer"
ROLES = (ROLE_ADMIN, ROLE_AGENT, ROLE_CUSTOMER)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    customer_number = sa.Column(sa.String(50), unique=True)
    # Members see each other's tickets when set.
    share_tickets = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    members = relationship("User", back_populates="organisation")


class User(db.Model):
    """A person who may log in: an admin, an agent or a customer. A customer created from an
    email or guest form has no password until they register and activate."""

    __tablename__ = "users"

    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)  # stored lower-cased
    username = sa.Column(sa.String(80), unique=True)
    full_name = sa.Column(sa.String(200), nullable=False, default="")
    role = sa.Column(sa.String(20), nullable=False, default=ROLE_CUSTOMER, index=True)
    password_hash = sa.Column(sa.String(255))
    active = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    organisation_id = sa.Column(sa.Integer, sa.ForeignKey("organisations.id"), index=True)
    phone = sa.Column(sa.String(50))
    locale = sa.Column(sa.String(10))
    timezone = sa.Column(sa.String(64))
    # Bumped to end every session of this user at once (deactivation); sessions also end one by one
    # (logout) or all together (password change or reset, "log out everywhere") through their rows.
    session_version = sa.Column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    activated_at = sa.Column(UTCDateTime)
    last_login_at = sa.Column(UTCDateTime)
    # The company a self-registered customer typed in, until an agent links them to an organisation.
    company_name = sa.Column(sa.String(200))
    # When the customer agreed to the privacy policy, and to which version of it.
    consent_at = sa.Column(UTCDateTime)
    consent_policy_version = sa.Column(sa.String(40))
    kb_editor = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())  # may edit the KB
    # When the welcome mail was queued (customers get one, once: at activation or when staff create them).
    welcomed_at = sa.Column(UTCDateTime)

    organisation = relationship(Organisation, back_populates="members")

    # -- actor protocol
    @property
    def is_admin(self):
        return self.role == ROLE_ADMIN

    @property
    def is_agent(self):
        """Staff: admins are agents too."""
        return self.role in (ROLE_ADMIN, ROLE_AGENT)

    @property
    def is_customer(self):
        return self.role == ROLE_CUSTOMER

    is_system = False

    @property
    def label(self):
        return f"user:{self.id}:{self.email}"

    @property
    def display_name(self):
        return self.full_name or self.email

    # -- the interface Flask-Login expects (written out so this module need not import it)
    @property
    def is_active(self):
        return bool(self.active and self.password_hash)

    @property
    def is_authenticated(self):
        return True

    @property
    def is_anonymous(self):
        return False

    # The login session this object was loaded for or started with (see accounts.sessions); not a column.
    session_token = None
    # The customer account this request acts for, set by a door after checking the membership (see
    # accounts.memberships.acting_account_id); not a column.
    acting_account_id = None

    def get_id(self):
        """'<id>:<session_version>:<session token>': what the session and remember-me cookies carry.
        Without a session started (accounts.sessions.start_session) it names no session that could load."""
        return f"{self.id}:{self.session_version}:{self.session_token or ''}"

    def __repr__(self):
        return f"<User {self.id} {self.email} {self.role}>"


PURPOSE_ACTIVATION = "activation"
PURPOSE_RESET = "reset"
TOKEN_PURPOSES = (PURPOSE_ACTIVATION, PURPOSE_RESET)


class AccountToken(db.Model):
    """A single-use link sent by email (activate an account, reset a password). Only the SHA-256 of the
    token is kept, so a copy of the database does not hand out working links."""

    __tablename__ = "account_tokens"

    id = sa.Column(sa.Integer, primary_key=True)
    purpose = sa.Column(sa.String(20), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)
    used_at = sa.Column(UTCDateTime)

    user = relationship(User)


class LoginSession(db.Model):
    """One logged-in browser. Its cookies carry a random token of which only the SHA-256 is kept here;
    deleting the row ends that session (logout), deleting all of a user's rows ends them all."""

    __tablename__ = "login_sessions"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # A remembered browser logs in again by itself until then; the session cannot outlive it either.
    expires_at = sa.Column(UTCDateTime, nullable=False)


class LoginThrottle(db.Model):
    """Failed logins from one address (IP) on one login (an account, or a login name no account has):
    after LOGIN_THROTTLE_AFTER_FAILURES of them that address waits before it may try that login again."""

    __tablename__ = "login_throttles"
    __table_args__ = (sa.UniqueConstraint("login_key", "ip"),)

    id = sa.Column(sa.Integer, primary_key=True)
    # "user:<id>" for an account (email and username count together), else "login:<sha256 of the name>".
    login_key = sa.Column(sa.String(80), nullable=False)
    ip = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    failures = sa.Column(sa.Integer, nullable=False, default=0)
    last_failed_at = sa.Column(UTCDateTime, nullable=False, index=True)
    blocked_until = sa.Column(UTCDateTime)
    # When the owner was told that this episode of throttling began.
    notified_at = sa.Column(UTCDateTime)


class ContactAddress(db.Model):
    """An address a customer names for one purpose of mail (invoices and orders, support, abuse; see
    accounts.contacts). Used only once confirmed through a link mailed to it."""

    __tablename__ = "contact_addresses"
    __table_args__ = (sa.UniqueConstraint("user_id", "purpose", "email"),)

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    purpose = sa.Column(sa.String(20), nullable=False)
    email = sa.Column(sa.String(254), nullable=False)  # normalised as users.email is
    name = sa.Column(sa.String(200), nullable=False, default="")
    confirmed_at = sa.Column(UTCDateTime)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    user = relationship(User)


# Customer accounts (issue 18): a login is a member of one or more accounts; what it may do in each is its
# membership's permissions. An owner may do everything.
ACCOUNT_INDIVIDUAL, ACCOUNT_BUSINESS = "individual", "business"
ACCOUNT_KINDS = (ACCOUNT_INDIVIDUAL, ACCOUNT_BUSINESS)
PERM_TICKETS = "tickets"  # open, read and answer the account's tickets
PERM_BILLING = "billing"  # see and pay invoices, order
PERM_SERVICES = "services"  # see and manage the account's services (and devices)
PERM_VAULT_VIEW = "vault_view"  # see the credential vault (each reveal audited)
PERM_VAULT_EDIT = "vault_edit"  # add, change and remove vault entries
PERM_MEMBERS = "members"  # invite, change and remove members
PERMISSIONS = (PERM_TICKETS, PERM_BILLING, PERM_SERVICES, PERM_VAULT_VIEW, PERM_VAULT_EDIT, PERM_MEMBERS)


class CustomerAccount(db.Model):
    """A company or an individual that holds tickets, billing details, services and invoices; people reach it
    through their memberships."""

    __tablename__ = "customer_accounts"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False, default="")
    kind = sa.Column(sa.String(20), nullable=False, default=ACCOUNT_INDIVIDUAL)
    # Members with the tickets permission see each other's tickets when set (what organisations had).
    share_tickets = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    memberships = relationship("Membership", back_populates="account", cascade="all, delete-orphan")


class Membership(db.Model):
    """One login's place in one customer account, and what it may do there."""

    __tablename__ = "account_memberships"
    __table_args__ = (sa.UniqueConstraint("account_id", "user_id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    is_owner = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    can_tickets = sa.Column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    can_billing = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    can_services = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    can_vault_view = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    can_vault_edit = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    can_members = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    account = relationship(CustomerAccount, back_populates="memberships")
    user = relationship(User)

    def allows(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return bool(self.is_owner or getattr(self, f"can_{permission}"))


class AccountInvitation(db.Model):
    """An invitation mailed to an address to join a customer account with chosen permissions (see
    accounts.invitations). Its link works once, until ``expires_at``, for a login with that address; only the
    SHA-256 of the link's token is kept."""

    __tablename__ = "account_invitations"

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("customer_accounts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    email = sa.Column(sa.String(254), nullable=False)  # normalised as users.email is
    permissions = sa.Column(sa.JSON, nullable=False, default=list)  # PERM_* names the membership will allow
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    invited_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)
    accepted_at = sa.Column(UTCDateTime)
    accepted_by_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at = sa.Column(UTCDateTime)

    account = relationship(CustomerAccount)
    invited_by = relationship(User, foreign_keys=[invited_by_id])
