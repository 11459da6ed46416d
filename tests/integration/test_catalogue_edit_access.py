"""Who may change or remove a product's options and a package's items in the console, through the test client (on
PostgreSQL): customers never reach these routes (404), plain agents are refused (403), every form needs its CSRF
token, an option or item of another product answers 404, and in none of these cases does anything change."""
import pytest
import sqlalchemy as sa

from helpdesk.audit.models import AuditEvent
from helpdesk.billing import catalogue
from helpdesk.billing.catalogue_models import ConfigOption, OptionChoice, PackageItem
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app
from tests.integration.billing_web import login, post, web_shop

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def world(app):
    """The web shop, and a second option on the service contract (another product's)."""
    shop = web_shop()
    shop.support = catalogue.add_option(shop.admin, shop.contract, code="support", texts={"en": {"name": "Support"}},
                                        choices=[{"code": "basic", "texts": {"en": {"name": "Basic"}}}])
    shop.ids = {"product": shop.web.id, "package": shop.start.id, "contract": shop.contract.id,
                "option": shop.disk.id, "other_option": shop.support.id, "entry": shop.start.items[0].id}
    db.session.commit()
    return shop


def actions(ids):
    """Each route with data that billing staff would get accepted."""
    option, entry = ids["option"], ids["entry"]
    return [
        (f"/agent/billing/catalogue/products/{ids['product']}/options/{option}",
         {f"option-{option}-name_en": "Disk space", f"option-{option}-choices-0-name_en": "10 GB",
          f"option-{option}-choices-1-name_en": "50 GB"}),
        (f"/agent/billing/catalogue/products/{ids['product']}/options/{option}/remove", {}),
        (f"/agent/billing/catalogue/products/{ids['package']}/items/{entry}",
         {f"item-{entry}-cycle": "monthly", f"item-{entry}-free_periods": "0"}),
        (f"/agent/billing/catalogue/products/{ids['package']}/items/{entry}/remove", {}),
    ]


def catalogue_state():
    """Everything these routes could change, as last committed."""
    db.session.rollback()
    return (tuple(db.session.execute(sa.select(ConfigOption.id, ConfigOption.texts).order_by(ConfigOption.id))),
            tuple(db.session.execute(sa.select(OptionChoice.id, OptionChoice.texts).order_by(OptionChoice.id))),
            tuple(db.session.execute(sa.select(PackageItem.id, PackageItem.cycle, PackageItem.free_periods))),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))


def test_customers_never_reach_the_option_and_item_routes(client, world):
    login(client, world.carla)
    before = catalogue_state()
    for path, data in actions(world.ids):
        assert post(client, path, data, page="/billing/orders").status_code == 404, path
        assert client.get(path).status_code in (404, 405), path
    assert catalogue_state() == before


def test_a_plain_agent_is_refused_and_nothing_changes(client, world):
    login(client, world.agent)
    page = client.get(f"/agent/billing/catalogue/products/{world.web.id}").text
    assert "Remove the option" not in page and f'name="option-{world.disk.id}-name_en"' not in page
    before = catalogue_state()
    for path, data in actions(world.ids):
        assert post(client, path, data, page="/agent/billing/orders").status_code == 403, path
    assert catalogue_state() == before


def test_every_option_and_item_form_needs_its_csrf_token(client, world):
    login(client, world.admin)
    before = catalogue_state()
    for path, data in actions(world.ids):
        assert client.post(path, data=data).status_code == 400, path
    assert catalogue_state() == before


def test_another_products_option_or_item_answers_404(client, world):
    login(client, world.admin)
    before = catalogue_state()
    ids = world.ids
    for product, option, entry in ((ids["contract"], ids["option"], ids["entry"]),  # web's option, start's item
                                   (ids["product"], ids["other_option"], ids["entry"]),
                                   (ids["package"], 999_999, 999_999)):
        crossed = actions({**ids, "product": product, "package": product, "option": option, "entry": entry})
        for path, data in crossed:
            assert post(client, path, data, page="/agent/billing/orders").status_code == 404, path
    assert catalogue_state() == before
