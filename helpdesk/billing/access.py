"""Who may see and change billing, and permission-checked reads for every door.

Customers see only the orders, invoices, payments, services, proofs and credit of the customer account they act for
(issue 18), and only as far as their membership allows (billing; services for services): a member without the
permission gets NotAllowed; for anything else they get NotFound (its existence is not revealed). Staff: every
agent reads all of billing (they answer billing tickets); changes (catalogue, accepting orders, booking and
approving transfers, credit notes, credit adjustments) are for admins and for agents given the billing permission
(BillingStaff rows, ``grant_billing``). The system actor (gateways, jobs, the CLI) may do everything."""
import sqlalchemy as sa

from helpdesk import audit
from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_BILLING, PERM_SERVICES, CustomerAccount
from helpdesk.billing.models import (
    BillingAccount,
    BillingStaff,
    Invoice,
    Order,
    Payment,
    PaymentAttempt,
    PaymentProof,
    Service,
    TransferBooking,
)
from helpdesk.db import commit_service_call, parse_id
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db


def _customer_account_id(actor):
    # Imported here: customers.py checks managers through this module.
    from helpdesk.billing.customers import account_id_of

    return account_id_of(actor)


def require_customer_area(actor, permission=PERM_BILLING):
    """For a customer: NotAllowed when their membership of the account they act for does not allow
    ``permission`` (billing: invoices, orders, payments, paying, credit, details; services: services and their
    plan changes). Nothing to check for staff, the system, or a customer who belongs to no account yet."""
    if not getattr(actor, "is_customer", False):
        return
    account_id = memberships.acting_account_id(actor)
    if account_id is not None and not memberships.has_permission(actor, account_id, permission):
        raise NotAllowed()


def is_billing_staff(actor) -> bool:
    """Admins, and agents holding the billing permission."""
    if getattr(actor, "is_admin", False):
        return True
    if not getattr(actor, "is_agent", False) or getattr(actor, "id", None) is None:
        return False
    return db.session.get(BillingStaff, actor.id) is not None


def may_manage(actor) -> bool:
    """Whether ``actor`` may change billing records: the system, admins, billing staff."""
    return bool(actor.is_system or is_billing_staff(actor))


def require_manager(actor):
    if not may_manage(actor):
        raise NotAllowed()


def may_read_all(actor) -> bool:
    """Staff (every agent) and the system read every account's billing."""
    return bool(actor.is_system or actor.is_agent)


def require_reader(actor):
    if not may_read_all(actor):
        raise NotAllowed()


def can_view_account(actor, account_id) -> bool:
    """Whether ``actor`` may see the billing of account ``account_id``."""
    if may_read_all(actor):
        return True
    return bool(actor.is_customer and account_id is not None and _customer_account_id(actor) == account_id)


def require_account(actor, account_id, permission=PERM_BILLING):
    """NotFound unless ``actor`` may see account ``account_id``'s billing; NotAllowed for a member of it whose
    membership does not allow ``permission``."""
    if not can_view_account(actor, account_id):
        raise NotFound()
    require_customer_area(actor, permission)


def account_for(actor, customer_account_id, permission=PERM_BILLING) -> BillingAccount | None:
    """The billing account of customer account ``customer_account_id`` (None while it has none) if ``actor`` may see
    that account's billing: staff any account there is; a customer acting for it (a door sets the account a request
    acts for, checked by memberships.acting_account_id). NotFound for anyone else, NotAllowed for a member whose
    membership does not allow ``permission``."""
    customer_account_id = parse_id(customer_account_id)
    if customer_account_id is None or db.session.get(CustomerAccount, customer_account_id) is None:
        raise NotFound()
    if not may_read_all(actor):
        if not (getattr(actor, "is_customer", False)
                and memberships.acting_account_id(actor) == customer_account_id):
            raise NotFound()
        require_customer_area(actor, permission)
    return db.session.scalar(sa.select(BillingAccount)
                             .where(BillingAccount.customer_account_id == customer_account_id))


def customer_account_of(model, row_id) -> int | None:
    """The customer account a billing row (an Invoice, Order, Payment or Service) belongs to, None when there is no
    such row. No access check: a door uses it to act for the right account of a customer who belongs to several
    (memberships.acting_account_id still checks the membership), then reads through ``get_*``."""
    row_id = parse_id(row_id)
    if row_id is None:
        return None
    return db.session.scalar(sa.select(BillingAccount.customer_account_id)
                             .join(model, model.account_id == BillingAccount.id).where(model.id == row_id))


def _get(actor, model, row_id, account_of=lambda row: row.account_id, permission=PERM_BILLING):
    row_id = parse_id(row_id.id if isinstance(row_id, model) else row_id)
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or not can_view_account(actor, account_of(row)):
        raise NotFound()
    require_customer_area(actor, permission)
    return row


def get_account(actor, account_id) -> BillingAccount:
    return _get(actor, BillingAccount, account_id, account_of=lambda row: row.id)


def get_invoice(actor, invoice_id) -> Invoice:
    """The invoice (or credit note) if ``actor`` may see it; NotFound otherwise."""
    return _get(actor, Invoice, invoice_id)


def get_order(actor, order_id) -> Order:
    return _get(actor, Order, order_id)


def get_service(actor, service_id) -> Service:
    return _get(actor, Service, service_id, permission=PERM_SERVICES)


def get_payment(actor, payment_id) -> Payment:
    return _get(actor, Payment, payment_id)


def get_attempt(actor, attempt_id) -> PaymentAttempt:
    return _get(actor, PaymentAttempt, attempt_id)


def get_proof(actor, proof_id) -> PaymentProof:
    """A proof of payment if ``actor`` may see its invoice; NotFound otherwise."""
    return _get(actor, PaymentProof, proof_id, account_of=lambda row: row.invoice.account_id)


def get_booking(actor, booking_id) -> TransferBooking:
    """A staff booking of a transfer: staff only (customers see the payment it made)."""
    if not may_read_all(actor):
        raise NotFound()
    return _get(actor, TransferBooking, booking_id, account_of=lambda row: row.invoice.account_id)


def visible(actor, model, account_column=None, permission=None):
    """A select of ``model`` rows ``actor`` may see (for lists; callers add filters, order and limits). A customer
    sees the rows of the account they act for: NotAllowed when their membership does not allow ``permission``
    (by default billing's, services' for services)."""
    query = sa.select(model)
    if may_read_all(actor):
        return query
    require_customer_area(actor, permission or (PERM_SERVICES if model is Service else PERM_BILLING))
    account_id = _customer_account_id(actor) if actor.is_customer else None
    if account_id is None:
        return query.where(sa.false())
    return query.where((account_column if account_column is not None else model.account_id) == account_id)


# --------------------------------------------------------------------------- the billing permission

def grant_billing(actor, user, granted=True):
    """Give (or take away) an agent the right to change billing. Admins only. Commits."""
    if not (actor.is_system or actor.is_admin):
        raise NotAllowed()
    if not getattr(user, "is_agent", False) or user.is_admin:
        raise NotAllowed()  # customers never; admins have it anyway
    row = db.session.get(BillingStaff, user.id)
    if granted and row is None:
        db.session.add(BillingStaff(user_id=user.id, granted_by_id=getattr(actor, "id", None)))
        audit.record(actor, "user", user.id, "billing-granted")
    elif not granted and row is not None:
        db.session.delete(row)
        audit.record(actor, "user", user.id, "billing-revoked")
    commit_service_call(db.session)
