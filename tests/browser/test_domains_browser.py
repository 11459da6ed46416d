"""Domains in Chromium: a customer checks a name in the portal (taken under .hu, available under .com and .eu,
answered by the RDAP and WHOIS fakes on loopback) and puts an available one in the cart; with her Start package
active she fills the domain request form for its free domain (registrant data prefilled from her billing details)
and sees "Successful"; staff find the request in the console's queue and mark it done, and she sees it done."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.billing.pricing import CartItem
from tests.browser.conftest import log_in
from tests.integration.billing_web import web_shop
from tests.integration.domain_shop import Fakes, add_domains, domain_app, paid_order


@pytest.fixture
def fakes():
    with Fakes() as running:
        yield running


@pytest.fixture
def app(app_factory, fakes):
    yield from domain_app(app_factory, fakes)


@pytest.fixture
def shop(app):
    shop = add_domains(web_shop())
    paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    return shop




def test_a_domain_check_then_the_request_form_to_successful_and_staff_mark_it_done(window, shop, screenshot):
    carla = window()
    log_in(carla, "carla@example.test")
    carla.get_by_role("link", name="Domains").click()
    carla.get_by_role("link", name="Is the domain free?").click()
    carla.get_by_label("Domain name").fill("Sparrow")
    carla.get_by_role("button", name="Check").click()
    rows = carla.locator("table.domain-checks tbody tr")
    expect(rows.filter(has_text="sparrow.hu").locator(".domain-status")).to_have_text("Taken")
    expect(rows.filter(has_text="sparrow.com").locator(".domain-status")).to_have_text("Available")
    expect(rows.filter(has_text="sparrow.eu").locator(".domain-status")).to_have_text("Available")
    screenshot(carla, "check")
    rows.filter(has_text="sparrow.com").get_by_role("button", name="Order sparrow.com").click()
    expect(carla.locator("body")).to_contain_text("sparrow.com is in your cart.")
    expect(carla.locator("main")).to_contain_text("Domain name (sparrow.com)")
    screenshot(carla, "cart")

    carla.get_by_role("link", name="Domains").click()
    carla.get_by_role("link", name=re.compile("The free domain of your package")).click()
    expect(carla.get_by_role("heading", name="Domain request form")).to_be_visible()
    expect(carla.get_by_label("Address", exact=True)).to_have_value("Hauptstraße 5\n10115 Berlin")
    expect(carla.get_by_label("Registrant's email address")).to_have_value("carla@example.test")
    expect(carla.get_by_label("Registrant's name")).to_have_value("Carla Kunde")
    carla.get_by_label("Domain name").fill("sparrow-web.hu")
    carla.get_by_label("Name server 1").fill("ns1.tarhely.example")
    carla.get_by_role("button", name="Submit the domain request").click()
    expect(carla.locator("#nameserver_1-error")).to_have_text("Enter two to four different name servers.")
    carla.get_by_label("Name server 2").fill("ns2.tarhely.example")
    carla.get_by_role("button", name="Submit the domain request").click()
    expect(carla.locator(".flash")).to_contain_text("Successful")
    expect(carla.locator(".request-status")).to_have_text("Submitted, in progress")
    screenshot(carla, "successful")

    staff = window()
    log_in(staff, "ada@example.test")
    staff.goto("/agent/domains/")
    staff.get_by_role("link", name="sparrow-web.hu").click()
    expect(staff.locator("dl.facts")).to_contain_text("ns1.tarhely.example, ns2.tarhely.example")
    staff.get_by_label("Registrar's reference (optional)").fill("HU-2026-0042")
    staff.get_by_role("button", name="Mark done").click()
    expect(staff.locator(".flash")).to_contain_text("The request is done; the customer sees it.")

    carla.reload()
    expect(carla.locator(".request-status")).to_have_text("Done")
