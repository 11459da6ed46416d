"""Billing staff change and remove a product's options and a package's items on the product's console page, through
the test client (on PostgreSQL): names per language that customers then read in theirs, errors beside their fields,
and a cart still holding a removed option answered with an error at checkout."""
import re

import pytest
import sqlalchemy as sa

from helpdesk.billing.catalogue_models import ConfigOption, PackageItem
from helpdesk.billing.models import Order
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from tests.integration.billing_shop import billing_app
from tests.integration.billing_web import field_error, fresh, login, post, text_of, web_shop

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    return web_shop()


def option_names(option_id, **names):
    """The option edit form's data: every name field, as the browser sends them (empty unless given)."""
    option = fresh(ConfigOption, option_id)
    fields = [f"name_{code}" for code in LANGUAGES]
    fields += [f"choices-{i}-name_{code}" for i in range(len(option.choices)) for code in LANGUAGES]
    current = {"name_en": option.texts["en"]["name"],
               **{f"choices-{i}-name_en": c.texts["en"]["name"] for i, c in enumerate(option.choices)}}
    return {f"option-{option_id}-{key}": {**current, **names}.get(key, "") for key in fields}


def test_billing_staff_rename_an_option_in_every_language_and_customers_read_theirs(client, shop):
    login(client, shop.bilge)
    page = f"/agent/billing/catalogue/products/{shop.web.id}"
    assert f'name="option-{shop.disk.id}-choices-1-name_fa"' in client.get(page).text
    saved = post(client, f"{page}/options/{shop.disk.id}",
                 option_names(shop.disk.id, name_de="Speicher", name_fa="فضای دیسک",
                              **{"choices-1-name_de": "50 GB SSD", "choices-1-name_fa": "۵۰ گیگابایت"}),
                 page=page, follow_redirects=True)
    assert "Option saved." in text_of(saved.text)
    login(client, shop.carla)
    client.set_cookie("lang", "de")
    german = text_of(client.get(f"/billing/products/{shop.web.id}").text)
    assert "Speicher" in german and "50 GB SSD" in german
    client.set_cookie("lang", "fa")
    assert "۵۰ گیگابایت" in text_of(client.get(f"/billing/products/{shop.web.id}").text)


def test_an_option_without_a_name_in_the_default_language_is_answered_beside_the_field(client, shop):
    login(client, shop.bilge)
    page = f"/agent/billing/catalogue/products/{shop.web.id}"
    response = post(client, f"{page}/options/{shop.disk.id}",
                    option_names(shop.disk.id, name_en="", **{"choices-0-name_en": ""}), page=page)
    assert response.status_code == 400
    assert field_error(response.text, f"option-{shop.disk.id}-name_en") == "Enter a name in English."
    assert field_error(response.text, f"option-{shop.disk.id}-choices-0-name_en") == "Enter a name in English."
    assert fresh(ConfigOption, shop.disk.id).texts == {"en": {"name": "Disk"}}


def test_a_new_option_takes_its_name_in_every_language(client, shop):
    login(client, shop.bilge)
    page = f"/agent/billing/catalogue/products/{shop.contract.id}"
    added = post(client, f"{page}/options", {"code": "support", "name_en": "Support level", "name_hu": "Támogatás",
                                              "choices": "basic = Basic\nplus = Plus"}, page=page)
    assert added.status_code == 302
    login(client, shop.carla)
    client.set_cookie("lang", "hu")
    assert "Támogatás" in text_of(client.get(f"/billing/products/{shop.contract.id}").text)


def test_a_cart_holding_a_removed_option_gets_an_error_at_checkout(client, shop):
    login(client, shop.carla)
    post(client, f"/billing/products/{shop.web.id}", {"cycle": "monthly", "quantity": "1", "option-disk": "50gb"})
    version = re.search(r'name="cart" type="hidden" value="([^"]*)"', client.get("/billing/cart").text).group(1)
    login(client, shop.bilge)
    page = f"/agent/billing/catalogue/products/{shop.web.id}"
    removed = post(client, f"{page}/options/{shop.disk.id}/remove", page=page, follow_redirects=True)
    assert "Option removed." in text_of(removed.text) and "Remove the option" not in removed.text
    login(client, shop.carla)
    with client.session_transaction() as session:
        session["billing_cart"] = [{"product_id": shop.web.id, "cycle": "monthly", "options": {"disk": "50gb"}}]
        session["billing_cart_version"] = version  # logging in again started a new session; the cart is as it was
    assert "This product has no such option." in text_of(client.get("/billing/cart").text)
    placed = post(client, "/billing/checkout", {"payment_method": "bank_transfer", "cart": version},
                  page="/billing/cart", follow_redirects=True)
    assert placed.status_code == 200
    assert "This product has no such option." in text_of(placed.text)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_billing_staff_change_and_remove_a_package_item(client, shop):
    login(client, shop.carla)
    assert "Included Domain (Yearly): free for the first period" in text_of(
        client.get(f"/billing/products/{shop.start.id}").text)
    login(client, shop.admin)
    page = f"/agent/billing/catalogue/products/{shop.start.id}"
    entry_id = shop.start.items[0].id
    wrong = post(client, f"{page}/items/{entry_id}", {f"item-{entry_id}-cycle": "yearly",
                                                      f"item-{entry_id}-free_periods": "101"}, page=page)
    assert wrong.status_code == 400 and field_error(wrong.text, f"item-{entry_id}-free_periods")
    saved = post(client, f"{page}/items/{entry_id}", {f"item-{entry_id}-cycle": "yearly",
                                                      f"item-{entry_id}-free_periods": "2"}, page=page,
                 follow_redirects=True)
    assert "free for the first 2 periods" in text_of(saved.text)
    assert fresh(PackageItem, entry_id).free_periods == 2
    removed = post(client, f"{page}/items/{entry_id}/remove", page=page, follow_redirects=True)
    assert "Nothing in it yet." in text_of(removed.text)
    assert fresh(PackageItem, entry_id) is None
    login(client, shop.carla)
    assert "Included" not in text_of(client.get(f"/billing/products/{shop.start.id}").text)
