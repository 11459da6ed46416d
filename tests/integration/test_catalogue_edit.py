"""Changing and removing a product's configurable options and a package's items after they were added: names per
language for options and choices (codes never change), the checks and the audit trail, and what removal leaves
alone (services already bought) or refuses (a cart still holding a removed option)."""
import pytest
import sqlalchemy as sa

from helpdesk.audit.models import AuditEvent
from helpdesk.audit.sentences import tell
from helpdesk.billing import catalogue, orders
from helpdesk.billing.catalogue_models import ChoicePrice, ConfigOption, PackageItem
from helpdesk.billing.pricing import CartItem
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, build_shop, order


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    return build_shop()


def audit_rows(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "billing-product",
                                                          AuditEvent.action == action)).all()


def sentence(row):
    return str(tell([row])[0].sentences[0])


def test_billing_staff_rename_an_option_and_its_choices_in_every_language(shop):
    catalogue.update_option(shop.admin, shop.disk, texts={"en": {"name": "Disk space"}, "de": {"name": "Speicher"},
                                                          "fa": {"name": "فضای دیسک"}},
                            choices={"50gb": {"en": {"name": "50 GB SSD"}, "de": {"name": "50 GB SSD-Speicher"}}})
    shop.carla.locale = "de"
    quote = orders.quote(shop.carla, shop.carla_account, [CartItem(shop.web.id, "monthly", {"disk": "50gb"})])
    assert "Speicher: 50 GB SSD-Speicher" in quote.lines[0].description
    assert quote.lines[0].unit_price == 990 + 300  # the choice's price stays with its code
    assert [c.code for c in shop.disk.choices] == ["10gb", "50gb"]
    assert shop.disk.choices[0].texts == {"en": {"name": "10 GB"}}  # a choice left out keeps its names
    [row] = audit_rows("option-updated")
    assert row.changes["choices"] == ["50gb"] and row.changes["languages"] == ["de", "en", "fa"]
    assert sentence(row) == "Renamed the option “disk” of the product “Web hosting”."


def test_an_option_needs_a_name_in_the_default_language_and_its_own_choices(shop):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.update_option(shop.admin, shop.disk, texts={"de": {"name": "Speicher"}},
                                choices={"50gb": {"de": {"name": "50 GB"}}, "1tb": {"en": {"name": "1 TB"}}})
    assert set(refused.value.errors) == {"name_en", "choices-1-name_en", "choices"}
    with pytest.raises(ValidationFailed) as refused:
        catalogue.update_option(shop.admin, shop.disk, texts={"en": {"name": "x" * 201}, "xx": {"name": "X"}})
    assert set(refused.value.errors) == {"name_en", "texts"}
    db.session.rollback()
    assert db.session.get(ConfigOption, shop.disk.id).texts == {"en": {"name": "Disk"}}
    assert audit_rows("option-updated") == []


def test_package_items_take_new_terms_and_are_checked(shop):
    [entry] = shop.start.items
    with pytest.raises(ValidationFailed) as refused:
        catalogue.update_package_item(shop.admin, entry, cycle="weekly", free_periods=101)
    assert set(refused.value.errors) == {"cycle", "free_periods"}
    catalogue.update_package_item(shop.admin, entry, cycle="yearly", free_periods=0)
    _placed, invoice = order(shop.carla, shop.carla_account, shop.start)
    domain_line = next(line for line in invoice.lines if line.product_id == shop.domain.id)
    assert domain_line.unit_price == 1500  # no longer free
    [row] = audit_rows("item-updated")
    assert row.changes["free_periods"] == [1, 0]
    assert sentence(row) == "Changed “Domain” in the package “Start package”."


def test_only_billing_staff_change_or_remove_options_and_items(shop):
    [entry] = shop.start.items
    for who in (shop.agent, shop.carla):
        with pytest.raises(NotAllowed):
            catalogue.update_option(who, shop.disk, texts={"en": {"name": "Mine"}})
        with pytest.raises(NotAllowed):
            catalogue.remove_option(who, shop.disk)
        with pytest.raises(NotAllowed):
            catalogue.update_package_item(who, entry, cycle="monthly", free_periods=0)
        with pytest.raises(NotAllowed):
            catalogue.remove_package_item(who, entry)
    db.session.rollback()
    assert db.session.get(ConfigOption, shop.disk.id).texts == {"en": {"name": "Disk"}}
    assert (entry.cycle, entry.free_periods) == ("yearly", 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.in_(["option-updated", "option-removed", "item-updated",
                                                           "item-removed"]))) == 0


def test_a_removed_option_leaves_services_bought_alone_and_is_refused_in_a_cart(shop):
    placed, _invoice = order(shop.carla, shop.carla_account, shop.web, options={"disk": "50gb"})
    catalogue.remove_option(shop.admin, shop.disk)
    assert shop.web.options == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChoicePrice)) == 0
    db.session.refresh(placed.services[0])
    assert placed.services[0].options[0]["choice_name"] == "50 GB"  # what the customer bought stays
    _later, invoice = order(shop.carla, shop.carla_account, shop.web)
    assert invoice.lines[0].unit_price == 990
    stale = [CartItem(shop.web.id, "monthly", {"disk": "50gb"})]  # put in the cart before the option went
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(shop.carla, shop.carla_account, stale, payment_method="bank_transfer")
    assert str(refused.value.errors["items-0-option-disk"]) == "This product has no such option."
    [row] = audit_rows("option-removed")
    assert row.changes == {"option": "disk", "choices": ["10gb", "50gb"]}
    assert sentence(row) == "Removed the option “disk” from the product “Web hosting”."


def test_a_removed_package_item_is_left_out_of_new_orders_only(shop):
    placed, _invoice = order(shop.carla, shop.carla_account, shop.start)
    [entry] = shop.start.items
    catalogue.remove_package_item(shop.admin, entry)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PackageItem)) == 0
    later, invoice = order(shop.carla, shop.carla_account, shop.start)
    assert [s.product_id for s in later.services] == [shop.start.id]
    assert {line.product_id for line in invoice.lines} == {shop.start.id}
    db.session.refresh(placed)
    assert sorted(s.product_id for s in placed.services) == sorted([shop.start.id, shop.domain.id])
    [row] = audit_rows("item-removed")
    assert sentence(row) == "Removed “Domain” from the package “Start package”."


def test_an_option_or_item_someone_already_removed_is_not_found_and_nothing_else_changes(shop):
    """Two staff remove the same part of a product (the second's page still showed it): the second is told it is
    gone (NotFound, a 404 in the console), not an error, and writes no audit row."""
    from helpdesk.errors import NotFound

    option_id = shop.disk.id
    stale_option = ConfigOption(id=option_id, product_id=shop.disk.product_id, code=shop.disk.code)
    catalogue.remove_option(shop.admin, shop.disk)
    with pytest.raises(NotFound):
        catalogue.remove_option(shop.admin, stale_option)
    db.session.rollback()
    [entry] = shop.start.items
    stale_entry = PackageItem(id=entry.id, package_id=entry.package_id, item_id=entry.item_id, cycle=entry.cycle)
    catalogue.remove_package_item(shop.admin, entry)
    with pytest.raises(NotFound):
        catalogue.remove_package_item(shop.admin, stale_entry)
    db.session.rollback()
    assert len(audit_rows("option-removed")) == len(audit_rows("item-removed")) == 1
