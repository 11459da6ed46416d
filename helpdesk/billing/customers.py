"""The billed party: each billing record hangs off a BillingAccount, found here for a user and nowhere else, so
issue 18 (customer accounts with members) re-points billing by changing this module. Also the details an invoice
freezes (name, address, country, customer type, tax number) and their checks."""
import re

import sqlalchemy as sa
from babel import Locale
from flask import current_app

from helpdesk import audit
from helpdesk.billing.access import require_manager
from helpdesk.billing.catalogue_models import CUSTOMER_TYPES
from helpdesk.billing.models import BillingAccount
from helpdesk.billing.money import CURRENCIES
from helpdesk.db import begin_write, commit_service_call, utcnow
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.sanitize import clean_name, strip_control

NAME_MAX, ADDRESS_MAX, TAX_NUMBER_MAX, TAX_OFFICE_MAX = 200, 1000, 40, 100
_TAX_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9 .\-/]*")


def account_of(user) -> BillingAccount | None:
    """The billing account ``user`` acts for (a customer's own), None when they have none yet."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(sa.select(BillingAccount).where(BillingAccount.user_id == user.id))


def account_id_of(user) -> int | None:
    """The id of the billing account ``user`` acts for; what access checks compare rows' ``account_id`` with."""
    if user is None or getattr(user, "id", None) is None or not getattr(user, "is_customer", False):
        return None
    return db.session.scalar(sa.select(BillingAccount.id).where(BillingAccount.user_id == user.id))


def ensure_account(user) -> BillingAccount:
    """``user``'s billing account, made on first use from what is known of them (their name, their organisation's
    name for a business, the desk's default currency and country). Never commits."""
    account = account_of(user)
    if account is not None:
        return account
    organisation = getattr(user, "organisation", None)
    account = BillingAccount(
        user_id=user.id, name=(organisation.name if organisation else None) or user.full_name or user.email,
        country=current_app.config["BILLING_DEFAULT_COUNTRY"] or "",
        currency=current_app.config["BILLING_DEFAULT_CURRENCY"], customer_type="business" if organisation else
        "individual")
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
    if actor.is_customer and account.user_id != actor.id:
        raise NotFound()
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
