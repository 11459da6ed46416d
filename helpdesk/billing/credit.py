"""The credit balance: an append-only ledger per billing account and currency (CreditEntry rows) and its running
balance (a CreditBalance row per account and currency). Every movement locks the balance row (SELECT ... FOR
UPDATE) before it reads it, so two spends racing are serialised and the second sees what the first left; the
database's CHECK (balance >= 0) backs the rule that the balance never goes below zero. Lock order: an invoice
first (payments), then the balance, then the invoice-number counter."""
import uuid

import sqlalchemy as sa

from helpdesk import audit
from helpdesk.billing.access import require_account, require_manager
from helpdesk.billing.errors import InsufficientCredit
from helpdesk.billing.models import CREDIT_ADJUSTMENT, SOURCE_CREDIT, CreditBalance, CreditEntry
from helpdesk.billing.money import CURRENCIES, MAX_AMOUNT
from helpdesk.db import begin_write, commit_service_call
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import strip_control


def _locked_balance(account_id: int, currency: str) -> CreditBalance:
    """The balance row of (account, currency), locked until commit; made (at 0) on first use."""
    query = (sa.select(CreditBalance).where(CreditBalance.account_id == account_id,
                                            CreditBalance.currency == currency)
             .with_for_update().execution_options(populate_existing=True))
    row = db.session.scalar(query)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            db.session.add(CreditBalance(account_id=account_id, currency=currency, balance=0))
    except sa.exc.IntegrityError:  # another transaction made it first: wait for its lock
        pass
    return db.session.scalar(query)


def _move(actor, account_id, currency, amount, kind, *, payment=None, invoice=None, note="") -> CreditEntry:
    begin_write(db.session)
    row = _locked_balance(account_id, currency)
    if row.balance + amount < 0:
        raise InsufficientCredit()
    row.balance += amount
    entry = CreditEntry(account_id=account_id, currency=currency, amount=amount, balance_after=row.balance, kind=kind,
                        payment_id=getattr(payment, "id", None), invoice_id=getattr(invoice, "id", None),
                        note=(note or "")[:500], actor_label=actor.label)
    db.session.add(entry)
    audit.record(actor, "billing-account", account_id, "credit-added" if amount > 0 else "credit-spent",
                 {"currency": currency, "amount": amount, "balance": row.balance, "kind": kind,
                  "invoice": getattr(invoice, "id", None), "payment": getattr(payment, "id", None)})
    return entry


def add_credit(actor, account_id, currency, amount, kind, *, payment=None, invoice=None, note="") -> CreditEntry:
    """Put ``amount`` (> 0) on the account's credit in ``currency``. Never commits (the caller's transaction)."""
    if amount <= 0:
        raise ValueError("credit added must be positive")
    return _move(actor, account_id, currency, amount, kind, payment=payment, invoice=invoice, note=note)


def spend_credit(actor, account_id, currency, amount, kind, *, payment=None, invoice=None, note="") -> CreditEntry:
    """Take ``amount`` (> 0) off the account's credit; InsufficientCredit when there is less. Never commits."""
    if amount <= 0:
        raise ValueError("credit spent must be positive")
    return _move(actor, account_id, currency, -amount, kind, payment=payment, invoice=invoice, note=note)


def balance(account_id, currency: str) -> int:
    """The account's credit in ``currency`` (minor units), as last committed."""
    return db.session.scalar(sa.select(CreditBalance.balance).where(CreditBalance.account_id == account_id,
                                                                     CreditBalance.currency == currency)) or 0


def balances(actor, account_id) -> dict:
    """{currency: balance} of the account's credit, for ``actor`` who may see it (NotFound otherwise)."""
    require_account(actor, account_id)
    rows = db.session.execute(sa.select(CreditBalance.currency, CreditBalance.balance)
                              .where(CreditBalance.account_id == account_id)).all()
    return {currency: amount for currency, amount in rows if amount}


def ledger(actor, account_id, *, currency=None, before_id=None, limit=50) -> list[CreditEntry]:
    """A page of the account's credit movements, newest first (``actor`` must be allowed to see the account)."""
    require_account(actor, account_id)
    query = sa.select(CreditEntry).where(CreditEntry.account_id == account_id)
    if currency:
        query = query.where(CreditEntry.currency == currency)
    if before_id is not None:
        query = query.where(CreditEntry.id < before_id)
    return db.session.scalars(query.order_by(CreditEntry.id.desc()).limit(limit)).all()


def adjust_credit(actor, account, *, currency, amount: int, note: str) -> CreditEntry:
    """Billing staff put credit on an account (``amount`` > 0, a goodwill credit) or take it off (< 0, never below
    zero); the reason in ``note`` is required. Commits."""
    require_manager(actor)
    errors = {}
    note = strip_control(note or "").strip()
    if currency not in CURRENCIES:
        errors["currency"] = _l("Choose a currency from the list.")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 or abs(amount) > MAX_AMOUNT:
        errors["amount"] = _l("Enter an amount other than zero.")
    if not note:
        errors["note"] = _l("Say why the credit changes.")
    if errors:
        raise ValidationFailed(errors)
    entry = _move(actor, account.id, currency, amount, CREDIT_ADJUSTMENT, note=note)
    commit_service_call(db.session)
    return entry


def pay_from_credit(actor, invoice, *, amount: int | None = None, key: str | None = None):
    """Pay ``invoice`` from the account's credit in the invoice's currency: ``amount`` (all that is due by
    default, at most that). Goes through payments.record_payment (source "credit"), which locks the invoice, then
    the balance, and refuses a spend the balance cannot cover; ``key`` (the form's one-time token) makes a
    resubmitted form pay once. The invoice's customer or billing staff. Commits; returns the Payment."""
    from helpdesk.billing.access import get_invoice
    from helpdesk.billing.payments import record_payment

    invoice = get_invoice(actor, invoice.id if hasattr(invoice, "id") else invoice)
    due = invoice.balance_due
    amount = due if amount is None else amount
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount > due:
        raise ValidationFailed({"amount": _l("Enter an amount up to what is due.")})
    return record_payment(actor, invoice=invoice, amount=amount, currency=invoice.currency, source=SOURCE_CREDIT,
                          external_id=key or f"credit-{uuid.uuid4().hex}")
