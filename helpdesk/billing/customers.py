"""The billed party: each billing record hangs off a BillingAccount, one per customer account (issue 18), found here
for the account a login acts for (accounts.memberships.acting_account_id) and nowhere else. Also the details an invoice
freezes (name, address, country, customer type, tax number) and their checks."""
import re

import sqlalchemy as sa
from babel import Locale
from flask import current_app

from helpdesk import audit, events
from helpdesk.accounts import memberships
from helpdesk.accounts.models import PERM_BILLING, CustomerAccount
from helpdesk.billing.access import require_account, require_customer_area, require_manager
from helpdesk.billing.catalogue_models import CUSTOMER_TYPES
from helpdesk.billing.models import BillingAccount
from helpdesk.billing.money import CURRENCIES
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

NAME_MAX, ADDRESS_MAX, TAX_NUMBER_MAX, TAX_OFFICE_MAX = 200, 1000, 40, 100
_TAX_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9 .\-/]*")


def _acting_account_id(user) -> int | None:
    if user is None or getattr(user, "id", None) is None or not getattr(user, "is_customer", False):
        return None
    return memberships.acting_account_id(user)


def account_of(user) -> BillingAccount | None:
    """The billing account of the customer account ``user`` acts for, None when it has none yet."""
    customer_account_id = _acting_account_id(user)
    if customer_account_id is None:
        return None
    return db.session.scalar(sa.select(BillingAccount).where(BillingAccount.customer_account_id == customer_account_id))


def account_id_of(user) -> int | None:
    """The id of the billing account ``user`` acts for; what access checks compare rows' ``account_id`` with."""
    customer_account_id = _acting_account_id(user)
    if customer_account_id is None:
        return None
    return db.session.scalar(sa.select(BillingAccount.id)
                             .where(BillingAccount.customer_account_id == customer_account_id))


def ensure_account(user) -> BillingAccount:
    """The billing account of the customer account ``user`` acts for (their own, opened now if they have none),
    made on first use from what is known of them (their name, their organisation's name for a business, the
    desk's default currency and country); its ``user_id`` is the account's owner, whom invoices are mailed to.
    Never commits."""
    account = account_of(user)
    if account is not None:
        return account
    customer_account_id = _acting_account_id(user)
    customer_account = (db.session.get(CustomerAccount, customer_account_id) if customer_account_id is not None
                        else memberships.ensure_personal_account(user))
    organisation = getattr(user, "organisation", None)
    owner = memberships.owner_id(customer_account.id) if customer_account.id is not None else None
    account = BillingAccount(
        customer_account=customer_account, user_id=owner or user.id,
        name=(organisation.name if organisation else None) or user.full_name or user.email,
        country=current_app.config["BILLING_DEFAULT_COUNTRY"] or "",
        currency=current_app.config["BILLING_DEFAULT_CURRENCY"], customer_type="business" if organisation else
        "individual")
    if owner is not None and owner != user.id:  # opened by a member for someone else's account: the account's name
        account.name = customer_account.name or account.name
        account.customer_type = customer_account.kind
    try:
        with db.session.begin_nested():
            db.session.add(account)
    except sa.exc.IntegrityError:  # made at the same moment by another request of theirs
        account = account_of(user)
    return account


def open_account(actor, user) -> BillingAccount:
    """``user``'s billing account, made if need be: for themselves (a customer) or by billing staff. Commits."""
    if not (actor.is_system or getattr(actor, "id", None) == user.id):
        require_manager(actor)
    if not user.is_customer:
        raise NotAllowed()
    if actor.is_customer:
        require_customer_area(actor, PERM_BILLING)
    begin_write(db.session)
    account = ensure_account(user)
    commit_service_call(db.session)
    return account


def countries(language: str) -> dict:
    """ISO 3166 code → the country's name in ``language`` (Babel), for the form's list and the check."""
    territories = Locale.parse(language or "en").territories
    return {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha()
            and code not in ("ZZ", "XA", "XB", "EU", "EZ", "UN", "QO")}


def _check_preferences(values: dict, clean: dict, errors: dict) -> None:
    if "currency" in values:
        clean["currency"] = values["currency"]
        if clean["currency"] not in CURRENCIES:
            errors["currency"] = _l("Choose a currency from the list.")
    if "auto_pay_from_credit" in values:  # renewal invoices paid from the credit balance when it covers them
        clean["auto_pay_from_credit"] = bool(values["auto_pay_from_credit"])


def _check_details(values: dict) -> dict:
    errors, clean = {}, {}
    if "name" in values:
        clean["name"] = clean_name(strip_control(values["name"] or ""), limit=NAME_MAX)
        if not clean["name"]:
            errors["name"] = _l("Enter the name the invoices are made out to.")
    if "address" in values:
        clean["address"] = strip_control(values["address"] or "").replace("\r\n", "\n").strip()
        if len(clean["address"]) > ADDRESS_MAX:
            errors["address"] = _l("At most %(num)d characters.", num=ADDRESS_MAX)
    if "country" in values:
        clean["country"] = (values["country"] or "").strip().upper()
        if clean["country"] and clean["country"] not in countries("en"):
            errors["country"] = _l("Choose a country from the list.")
    if "customer_type" in values:
        clean["customer_type"] = values["customer_type"]
        if clean["customer_type"] not in CUSTOMER_TYPES:
            errors["customer_type"] = _l("Choose individual or business.")
    if "tax_number" in values:
        clean["tax_number"] = " ".join((values["tax_number"] or "").upper().split())
        if clean["tax_number"] and (len(clean["tax_number"]) > TAX_NUMBER_MAX
                                    or not _TAX_NUMBER.fullmatch(clean["tax_number"])):
            errors["tax_number"] = _l("Enter the tax number as it is written, letters and digits only.")
    if "tax_office" in values:
        clean["tax_office"] = clean_name(strip_control(values["tax_office"] or ""), limit=TAX_OFFICE_MAX)
    _check_preferences(values, clean, errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


DETAILS = ("name", "address", "country", "customer_type", "tax_number", "tax_office", "currency",
           "auto_pay_from_credit")


def update_details(actor, account: BillingAccount, **values) -> BillingAccount:
    """Change the billing details (names in DETAILS) of ``account``: its customer or billing staff. Every field
    is checked and all errors raised at once; invoices already made keep the details they froze. Commits."""
    unknown = set(values) - set(DETAILS)
    if unknown:
        raise TypeError(f"unknown billing details: {', '.join(sorted(unknown))}")
    if actor.is_customer:
        require_account(actor, account.id)
    if not (actor.is_system or actor.is_customer):
        require_manager(actor)
    clean = _check_details(values)
    begin_write(db.session)
    changed = {key: [getattr(account, key), value] for key, value in clean.items() if getattr(account, key) != value}
    for key, (_old, new) in changed.items():
        setattr(account, key, new)
    if changed:
        account.updated_at = utcnow()
        audit.record(actor, "billing-account", account.id, "changed", changed)
    commit_service_call(db.session)
    return account


# --------------------------------------------------------------------------- domain events (webhooks follow them)

def announce(kind: str, billing_account_id, data: dict, key=None) -> None:
    """Tell the domain events' followers that ``kind`` happened to a record of ``billing_account_id`` (its
    customer account's own webhooks hear it too), in the caller's transaction."""
    account = db.session.get(BillingAccount, billing_account_id)
    events.emit(kind, data, account_ids=(getattr(account, "customer_account_id", None),), key=key)


def announce_invoice(invoice) -> None:
    """"invoice.finalised": a proforma became a final invoice with its number."""
    announce("invoice.finalised", invoice.account_id, {"invoice": {
        "id": invoice.id, "number": invoice.number, "reference": invoice.reference, "status": invoice.status,
        "total": {"amount": invoice.total, "currency": invoice.currency}}}, key=f"invoice:{invoice.id}")


def announce_service(service, old_status) -> None:
    """"service.status_changed": activated, suspended, resumed or cancelled."""
    announce("service.status_changed", service.account_id, {"service": {
        "id": service.id, "status": service.status, "previous_status": old_status}}, key=f"service:{service.id}")
