"""Forms of the billing pages, portal and console (Flask-WTF: each carries its CSRF token). Amounts are typed as the
reader writes them and read by money.parse_amount in the view; what an amount or rule must be is checked by the
billing services, which answer with every problem at once."""
from functools import partial

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from helpdesk.billing.catalogue_models import CUSTOMER_TYPE_LABELS, CYCLE_LABELS
from helpdesk.billing.money import CURRENCIES
from helpdesk.i18n import LANGUAGES
from helpdesk.i18n import lazy_gettext as _l
from helpdesk.web.request_values import BoundedDateField


def as_choices(pairs):
    """(value, label) pairs as WTForms' choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def cycle_choices():
    return as_choices((code, str(label)) for code, label in CYCLE_LABELS.items())


def currency_choices():
    return as_choices((code, code) for code in CURRENCIES)


def customer_type_choices():
    return as_choices((code, str(label)) for code, label in CUSTOMER_TYPE_LABELS.items())


# --------------------------------------------------------------------------- portal

class ProductOrderForm(FlaskForm):
    """A product put in the cart: its cycle, a choice per option (fields ``option-<code>``, added by
    ``order_form``), and what it is for (a domain name, a hostname)."""

    cycle = RadioField(_l("Billing cycle"), validators=[DataRequired(_l("Choose a billing cycle."))])
    identifier = StringField(_l("Domain or host name (optional)"), validators=[Optional(), Length(max=200)])
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[DataRequired(_l("Enter a quantity.")), NumberRange(min=1, max=100)])


def order_form(product, option_choices, **kwargs) -> ProductOrderForm:
    """The order form of ``product`` with one select per configurable option: ``option_choices`` maps an option's
    code to (its label, [(choice code, label)])."""

    class Form(ProductOrderForm):
        pass

    for code, (label, choices) in option_choices.items():
        # A choice left out is the first (the default), as the pricing takes it.
        setattr(Form, f"option-{code}", SelectField(label, choices=as_choices(choices),
                                                    default=choices[0][0] if choices else None))
    return Form(**kwargs)


class CheckoutForm(FlaskForm):
    payment_method = RadioField(_l("Payment method"), validators=[DataRequired(_l("Choose a payment method."))])
    cart = HiddenField()  # the cart's version the customer saw: a changed or re-sent cart is not ordered twice


class ProofForm(FlaskForm):
    proof = FileField(_l("Proof of payment (a bank receipt: PDF or image)"))


class PayFromCreditForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=64)])  # one per rendered form: a re-sent form pays once


class BillingDetailsForm(FlaskForm):
    name = StringField(_l("Name on invoices (person or company)"), validators=[Length(max=200)])
    address = TextAreaField(_l("Address"), render_kw={"rows": 3})
    country = SelectField(_l("Country"), validate_choice=False)
    customer_type = SelectField(_l("Customer type"), choices=customer_type_choices, validate_choice=False)
    tax_number = StringField(_l("Tax number (VAT number for EU businesses)"), validators=[Length(max=40)])
    tax_office = StringField(_l("Tax office (optional)"), validators=[Length(max=100)])
    currency = SelectField(_l("Preferred currency"), choices=currency_choices, validate_choice=False)
    auto_pay_from_credit = BooleanField(_l("Pay renewal invoices from the credit balance when it covers them"),
                                        default=True)


# --------------------------------------------------------------------------- console: orders, invoices, transfers

class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=2000)], render_kw={"rows": 2})


class BookingForm(FlaskForm):
    invoice = StringField(_l("Invoice (payment reference, reference or number)"),
                          validators=[DataRequired(_l("Enter the payment reference from the statement.")),
                                      Length(max=60)])
    amount = StringField(_l("Amount received"), validators=[DataRequired(_l("Enter an amount."))])
    value_date = BoundedDateField(_l("Value date"), validators=[DataRequired(_l("Enter the value date."))])
    bank_reference = StringField(_l("Bank reference of the transfer"), validators=[Length(max=100)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Length(max=500)], render_kw={"rows": 2})


class CreditAdjustmentForm(FlaskForm):
    direction = SelectField(_l("Change"), choices=[SelectChoice("add", _l("Add credit")),
                                                          SelectChoice("remove", _l("Take credit off"))])
    currency = SelectField(_l("Currency"), choices=currency_choices, validate_choice=False)
    amount = StringField(_l("Amount"), validators=[DataRequired(_l("Enter an amount."))])
    note = StringField(_l("Why (the customer sees this in their ledger)"), validators=[Length(max=500)])


# --------------------------------------------------------------------------- console: the catalogue

def _with_texts(form_class, *, description=True):
    """``form_class`` with a name (and a description) field per language: ``name_<code>``, ``description_<code>``."""
    for code, language in LANGUAGES.items():
        setattr(form_class, f"name_{code}", StringField(_l("Name (%(language)s)", language=language),
                                                       validators=[Length(max=200)]))
        if description:
            setattr(form_class, f"description_{code}",
                    TextAreaField(_l("Description (%(language)s)", language=language), render_kw={"rows": 3}))
    return form_class


def texts_from(form, *, description=True) -> dict:
    """The per-language texts typed in ``form``, as the catalogue service takes them."""
    texts = {}
    for code in LANGUAGES:
        text = {"name": form[f"name_{code}"].data or ""}
        if description:
            text["description"] = form[f"description_{code}"].data or ""
        if any(text.values()):
            texts[code] = text
    return texts


def texts_into(form, texts, *, description=True):
    for code in LANGUAGES:
        form[f"name_{code}"].data = (texts.get(code) or {}).get("name", "")
        if description:
            form[f"description_{code}"].data = (texts.get(code) or {}).get("description", "")


@_with_texts
class GroupForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Length(max=60)])
    position = IntegerField(_l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=10_000)])
    visible = BooleanField(_l("Shown in the catalogue"), default=True)


@_with_texts
class ProductForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Length(max=60)])
    group = SelectField(_l("Product group"), validate_choice=False)
    kind = SelectField(_l("Kind"), choices=[SelectChoice("product", _l("Product or service")),
                                            SelectChoice("package", _l("Package (bundles other products)")),
                                            SelectChoice("domain", _l("Domain name (priced per TLD)"))],
                       validate_choice=False)
    position = IntegerField(_l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=10_000)])
    active = BooleanField(_l("On sale"), default=True)
    taxable = BooleanField(_l("Taxed"), default=True)


class PriceForm(FlaskForm):
    cycle = SelectField(_l("Billing cycle"), choices=cycle_choices, validate_choice=False)
    currency = SelectField(_l("Currency"), choices=currency_choices, validate_choice=False)
    amount = StringField(_l("Price per cycle"), validators=[DataRequired(_l("Enter an amount."))])
    setup_fee = StringField(_l("Setup fee (once)"), default="0")
    includes_tax = BooleanField(_l("Price includes tax (gross)"))


class RemovePriceForm(FlaskForm):
    cycle = HiddenField()
    currency = HiddenField()


@partial(_with_texts, description=False)
class OptionForm(FlaskForm):
    code = StringField(_l("Option code"), validators=[Length(max=60)])
    choices = TextAreaField(_l("Choices, one a line: code = name (the first is the default)"),
                            render_kw={"rows": 3, "placeholder": "10gb = 10 GB\n50gb = 50 GB"})


def option_edit_form(option, **kwargs):
    """The form renaming ``option``: its name and each choice's (``choices-<n>-name_<code>``) per language, its
    fields prefixed with the option's id (a product's page holds one per option)."""

    @partial(_with_texts, description=False)
    class Form(FlaskForm):
        pass

    for index in range(len(option.choices)):
        for code, language in LANGUAGES.items():
            setattr(Form, f"choices-{index}-name_{code}", StringField(_l("Name (%(language)s)", language=language),
                                                                     validators=[Length(max=200)]))
    return Form(prefix=f"option-{option.id}", **kwargs)


def choice_texts_from(form, option) -> dict:
    """{choice code: texts} typed in ``option_edit_form``, as catalogue.update_option takes them."""
    return {choice.code: {code: {"name": form[f"choices-{index}-name_{code}"].data}
                          for code in LANGUAGES if form[f"choices-{index}-name_{code}"].data}
            for index, choice in enumerate(option.choices)}


def choice_texts_into(form, option):
    for index, choice in enumerate(option.choices):
        for code in LANGUAGES:
            form[f"choices-{index}-name_{code}"].data = (choice.texts.get(code) or {}).get("name", "")


class ChoicePriceForm(FlaskForm):
    choice = SelectField(_l("Choice"), validate_choice=False)
    cycle = SelectField(_l("Billing cycle"), choices=cycle_choices, validate_choice=False)
    currency = SelectField(_l("Currency"), choices=currency_choices, validate_choice=False)
    amount = StringField(_l("Adds to the price"), validators=[DataRequired(_l("Enter an amount."))])
    setup_fee = StringField(_l("Adds to the setup fee"), default="0")


class PackageItemForm(FlaskForm):
    item = SelectField(_l("Product"), validate_choice=False)
    cycle = SelectField(_l("Billing cycle"), choices=cycle_choices, validate_choice=False)
    free_periods = IntegerField(_l("Free periods (e.g. 1: free for the first year)"), default=0,
                                validators=[Optional(), NumberRange(min=0, max=100)])


class PackageItemEditForm(FlaskForm):
    """A package item's terms; made with ``prefix=f"item-{entry.id}"`` (a package's page holds one per item)."""

    cycle = SelectField(_l("Billing cycle"), choices=cycle_choices, validate_choice=False)
    free_periods = IntegerField(_l("Free periods (e.g. 1: free for the first year)"), default=0,
                                validators=[Optional(), NumberRange(min=0, max=100)])


class TaxRuleForm(FlaskForm):
    country = SelectField(_l("Country"), validate_choice=False)
    customer_type = SelectField(_l("Customer type"), validate_choice=False)
    name = StringField(_l("Tax name as printed (VAT, KDV, ÁFA)"), validators=[Length(max=60)])
    rate = StringField(_l("Rate (%)"), validators=[DataRequired(_l("Enter a rate."))])
