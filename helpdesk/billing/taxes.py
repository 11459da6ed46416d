"""Which tax a buyer pays: the tax rules per country and customer type (VAT, KDV, ÁFA...), and reverse charge for
EU businesses with a VAT number buying from an EU seller in another country. The decision is made once per invoice
and snapshotted onto its lines (name and rate) and the invoice (reverse charge, the note it prints)."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from helpdesk.billing.catalogue_models import BUSINESS, TaxRule
from helpdesk.extensions import db

# The European Union's member states (ISO 3166; Greece's VAT numbers start with EL).
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})


@dataclass(frozen=True)
class TaxDecision:
    """The tax on an invoice: ``rate_bp`` and ``name`` on every taxable line; ``reverse_charge`` when the buyer
    accounts for it (rate 0); ``home_rate_bp``, the seller's own rate, takes the tax out of gross prices sold
    without it."""

    rate_bp: int
    name: str
    reverse_charge: bool
    home_rate_bp: int


def rule_for(country: str, customer_type: str) -> TaxRule | None:
    """The most specific rule: this country and type, this country, this type anywhere, then the catch-all."""
    rules = db.session.scalars(sa.select(TaxRule).where(TaxRule.country.in_({country or "", ""}),
                                                         TaxRule.customer_type.in_({customer_type or "", ""}))).all()
    ranked = sorted(rules, key=lambda r: (r.country == "", r.customer_type == ""))
    return ranked[0] if ranked else None


def reverse_charge_applies(buyer_country, customer_type, tax_number, seller_country) -> bool:
    """EU reverse charge: an EU seller, a business buyer in another EU member state with a VAT number."""
    return bool(seller_country in EU_COUNTRIES and buyer_country in EU_COUNTRIES and buyer_country != seller_country
                and customer_type == BUSINESS and tax_number)


def decide(account, seller: dict) -> TaxDecision:
    """The tax ``account`` pays on what ``seller`` (BILLING_SELLER) sells it."""
    seller_country = (seller.get("country") or "").upper()
    home = rule_for(seller_country, account.customer_type)
    home_rate = home.rate_bp if home else 0
    if reverse_charge_applies(account.country, account.customer_type, account.tax_number, seller_country):
        return TaxDecision(rate_bp=0, name="", reverse_charge=True, home_rate_bp=home_rate)
    rule = rule_for(account.country, account.customer_type)
    return TaxDecision(rate_bp=rule.rate_bp if rule else 0, name=rule.name if rule else "", reverse_charge=False,
                       home_rate_bp=home_rate)


def tax_note(decision: TaxDecision, language: str) -> str:
    """The sentence the invoice prints about its tax, in the invoice's language (frozen with it)."""
    if not decision.reverse_charge:
        return ""
    with force_locale(language):
        return _("Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive "
                 "2006/112/EC).")
