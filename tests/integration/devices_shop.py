"""Shared by the devices tests (B1): a seller with a device type whose renewals are priced in rials, a buyer (the
owner of a customer account, with a password) and a device registered to them whose contract is expiring."""
from datetime import date, timedelta
from types import SimpleNamespace

from helpdesk.accounts.memberships import default_account
from helpdesk.billing import catalogue
from helpdesk.billing.catalogue_models import BIENNIAL, DEVICE_CONTRACT, TRIENNIAL, YEARLY
from helpdesk.db import utcnow
from helpdesk.devices import catalogue as device_catalogue
from helpdesk.devices import registry
from helpdesk.extensions import db

PRICES = {YEARLY: 50_000_000, BIENNIAL: 90_000_000, TRIENNIAL: 120_000_000}  # rials


def build(make_user, *, days_left=20, confirmed=True):
    """Staff (an admin), a device type priced for renewals, Sara (a buyer who owns her account) and her device,
    whose contract ends ``days_left`` days from the business day."""
    admin = make_user("admin", email="ada@example.test")
    group = catalogue.create_group(admin, code="contracts", texts={"en": {"name": "Service contracts"}},
                                   visible=False)
    product = catalogue.create_product(admin, group=group, code="x200-contract", kind=DEVICE_CONTRACT,
                                       texts={"en": {"name": "X200 service contract"},
                                              "fa": {"name": "قرارداد خدمات X200"}})
    for cycle, amount in PRICES.items():
        catalogue.set_price(admin, product, cycle=cycle, currency="IRR", amount=amount)
    device_type = device_catalogue.create_device_type(admin, code="acme-x200", brand="Acme", model="X200",
                                                      warranty_months=12, service_months=12,
                                                      contract_product_id=product.id)
    sara = make_user("customer", email="sara@example.test", full_name="Sara Buyer")
    account = default_account(sara)
    today = registry.today()
    device = registry.register_device(admin, account.id, device_type=device_type.id, serial_number="SN-4711",
                                      installed_on=today - timedelta(days=400),
                                      service_ends_on=today + timedelta(days=days_left))
    if confirmed:  # part C's installation confirmation sets this; here the device is past it
        device.confirmed_at = utcnow()
        db.session.commit()
    return SimpleNamespace(admin=admin, product=product, device_type=device_type, sara=sara, account=account,
                           device=device, today=today)


def shifted(day: date, days: int) -> date:
    return day + timedelta(days=days)
