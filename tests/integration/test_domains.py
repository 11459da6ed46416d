"""Domains against RDAP, WHOIS and registrar fakes on loopback: a name is checked under every offered TLD (RDAP from
configuration or IANA's bootstrap file, WHOIS when RDAP has no server or fails, unknown on timeouts), answers are
cached (unknown briefly), invalid names never reach the network; domain products are priced per TLD with a free
first year for a package's domain; the domain request form is filed on an active service, staff mark it done,
reject it or send it to the registrar (a failure keeps it open with the error), and the customer sees the status."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts.service import hash_password
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import orders
from helpdesk.billing.catalogue_models import DomainPrice, Product
from helpdesk.billing.pricing import CartItem
from helpdesk.db import utcnow
from helpdesk.domains import checks, domain_requests, queue
from helpdesk.domains.models import DomainCheck, DomainRequest
from helpdesk.domains.registrars import RegistrarError
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from tests.conftest import csrf_token
from tests.fakes.registrar_api import AUTH_CODE
from tests.integration.billing_shop import build_shop
from tests.integration.billing_web import PASSWORD, field_error, login, post, text_of
from tests.integration.domain_shop import Fakes, add_domains, domain_app, domain_item, paid_order

REGISTRANT = {"name": "Kovács Anna", "organisation": "", "email": "anna@example.test", "phone": "+36 1 234 5678",
              "address": "Fő utca 1\n1011 Budapest", "country": "HU"}
SERVERS = ["ns1.tarhely.example", "ns2.tarhely.example"]


@pytest.fixture
def fakes():
    with Fakes() as running:
        yield running


@pytest.fixture
def app(app_factory, fakes):
    yield from domain_app(app_factory, fakes)


@pytest.fixture
def shop(app):
    return add_domains(build_shop())


def statuses(answers):
    return {answer.name.unicode: (answer.status, answer.source) for answer in answers}


# --------------------------------------------------------------------------- the availability check

def test_a_label_is_checked_under_every_offered_tld(shop, fakes):
    answers = checks.check_availability("Sparrow")
    assert statuses(answers) == {"sparrow.hu": ("taken", "rdap"), "sparrow.com": ("available", "rdap"),
                                 "sparrow.eu": ("available", "whois")}
    assert fakes.whois.asked == ["sparrow.eu"]  # eu has no RDAP server in the bootstrap file


def test_the_typed_tld_comes_first_and_an_idn_is_asked_in_punycode(shop, fakes):
    answers = checks.check_availability("Árvíztűrő.eu")
    assert answers[0].name.unicode == "árvíztűrő.eu"
    assert "xn--rvztr-wqa0gx3bwi.hu" in fakes.rdap.asked


def test_answers_are_cached_and_unknown_only_briefly(shop, fakes):
    fakes.rdap.failures = [500, 500]  # hu and com fail at RDAP: hu falls back to WHOIS, com knows no one else
    first = statuses(checks.check_availability("robin"))
    assert first == {"robin.hu": ("available", "whois"), "robin.com": ("unknown", ""),
                     "robin.eu": ("available", "whois")}
    asked = len(fakes.rdap.asked) + len(fakes.whois.asked)
    second = statuses(checks.check_availability("robin.com"))
    assert second["robin.hu"] == ("available", "cache") and second["robin.com"] == ("unknown", "cache")
    assert len(fakes.rdap.asked) + len(fakes.whois.asked) == asked
    db.session.rollback()
    row = db.session.scalar(sa.select(DomainCheck).where(DomainCheck.name == "robin.com"))
    assert row.expires_at - row.checked_at == timedelta(seconds=30)
    db.session.execute(sa.update(DomainCheck).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert statuses(checks.check_availability("robin"))["robin.com"] == ("available", "rdap")


def test_timeouts_give_unknown_never_an_error(shop, fakes):
    fakes.rdap.failures = ["slow"]
    fakes.whois.mode = "silent"
    answers = statuses(checks.check_availability("slowpoke.hu"))
    assert answers["slowpoke.hu"] == ("unknown", "")


def test_a_whois_server_that_closes_at_once_gives_unknown(shop, fakes):
    fakes.whois.mode = "close"
    assert statuses(checks.check_availability("quiet.eu"))["quiet.eu"] == ("unknown", "")


@pytest.mark.parametrize("typed", ["", "-bad", "bad_name", "shop.sparrow.hu", "sparrow.xyz", "a" * 64])
def test_invalid_names_never_reach_the_network(shop, fakes, typed):
    with pytest.raises(ValidationFailed) as refused:
        checks.check_availability(typed)
    assert "name" in refused.value.errors
    assert fakes.rdap.asked == [] and fakes.whois.asked == []


# --------------------------------------------------------------------------- domain products

def test_domains_are_priced_per_tld_and_action(shop):
    quote = orders.quote(shop.carla, shop.carla_account, [domain_item(shop, "sparrow.hu"),
                                                          domain_item(shop, "sparrow.com", "transfer")])
    assert [line.unit_price for line in quote.lines] == [1500, 900]
    assert "sparrow.hu" in quote.lines[0].description and "Transfer" in quote.lines[1].description
    with pytest.raises(ValidationFailed) as refused:
        orders.quote(shop.carla, shop.carla_account, [domain_item(shop, "sparrow.xyz"),
                                                      CartItem(shop.names.id, "monthly", identifier="a.hu")])
    assert set(refused.value.errors) == {"items-0-identifier", "items-1-cycle"}


def test_a_package_with_a_free_domain_makes_one_registrations_first_year_free(shop):
    quote = orders.quote(shop.carla, shop.carla_account, [
        domain_item(shop, "sparrow.com"), CartItem(shop.start.id, "monthly"), domain_item(shop, "sparrow.eu")])
    domains = [line for line in quote.lines if line.product_id == shop.names.id]
    assert [line.unit_price for line in domains] == [0, 800]
    assert "Free with the package for the first year" in domains[0].description
    service = next(s for s in quote.services if s.identifier == "sparrow.com")
    assert service.recurring_amount == 1200  # it renews at its price
    transfer = orders.quote(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly"),
                                                             domain_item(shop, "other.hu", "transfer")])
    assert [line.unit_price for line in transfer.lines if line.product_id == shop.names.id] == [1000]


# --------------------------------------------------------------------------- domain requests

def file(shop, service, name, action="register", **changes):
    return domain_requests.file_request(shop.carla, shop.carla_id, service_id=service.id, name=name, action=action,
                                        registrant={**REGISTRANT, **changes.pop("registrant", {})},
                                        nameservers=changes.pop("nameservers", SERVERS), **changes)


def test_a_free_domain_request_is_filed_and_staff_mark_it_done(shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    package = next(s for s in placed.services if s.product_id == shop.start.id)
    assert [e.service.id for e in domain_requests.entitlements(shop.carla, shop.carla_id)] == [package.id]
    defaults = domain_requests.registrant_defaults(shop.carla, shop.carla_id)
    assert defaults["address"] == "Hauptstraße 5\n10115 Berlin" and defaults["email"] == "carla@example.test"
    assert (defaults["name"], defaults["organisation"], defaults["country"]) == ("Carla Kunde", "", "DE")
    filed = file(shop, package, "Sparrow-Web.hu")
    assert (filed.name, filed.status, filed.nameservers) == ("sparrow-web.hu", "open", SERVERS)
    assert domain_requests.entitlements(shop.carla, shop.carla_id) == []  # one request per service
    with pytest.raises(NotFound):
        file(shop, package, "another.hu")
    assert [r.id for r in queue.queue(shop.agent)] == [filed.id]
    with pytest.raises(NotAllowed):
        queue.mark_done(shop.agent, filed)  # a plain agent reads the queue, billing staff decide
    queue.mark_done(shop.admin, filed, reference="HU-123")
    assert domain_requests.get_request(shop.carla, shop.carla_id, filed.id).status == "done"
    with pytest.raises(Conflict):
        queue.reject(shop.admin, filed, reason="too late")
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.entity == "domain-request")
                             .order_by(AuditEvent.id.desc()).limit(1)) == "done"


def test_the_form_checks_every_field_at_once(shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    package = next(s for s in placed.services if s.product_id == shop.start.id)
    with pytest.raises(ValidationFailed) as refused:
        file(shop, package, "bad_name.hu", action="transfer", registrant={"name": "", "email": "nope",
                                                                          "country": "Hungary"},
             nameservers=["ns1.example.com"])
    assert set(refused.value.errors) == {"name", "action", "auth_code", "registrant_name", "registrant_email",
                                         "registrant_country", "nameservers"}
    with pytest.raises(ValidationFailed) as refused:
        file(shop, package, "sparrow.xyz")
    assert set(refused.value.errors) == {"name"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DomainRequest)) == 0


def test_a_domain_bought_is_requested_for_its_own_name_and_action(shop):
    placed = paid_order(shop.carla, shop.carla_account, [domain_item(shop, "moved.hu", "transfer")])
    service = placed.services[0]
    (entitlement,) = domain_requests.entitlements(shop.carla, shop.carla_id)
    assert (entitlement.name, entitlement.action, entitlement.free) == ("moved.hu", "transfer", False)
    with pytest.raises(ValidationFailed) as refused:
        file(shop, service, "other.hu", action="register")
    assert set(refused.value.errors) == {"name", "action"}
    assert str(refused.value.errors["action"]) == "This service is for a domain transfer."
    filed = file(shop, service, "moved.hu", action="transfer", auth_code=AUTH_CODE)
    assert filed.auth_code == AUTH_CODE


def test_a_pending_order_entitles_nothing(shop):
    orders.place_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")],
                       payment_method="bank_transfer")
    assert domain_requests.entitlements(shop.carla, shop.carla_id) == []


def test_send_to_registrar_registers_once_and_marks_done(shop, fakes):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    filed = file(shop, placed.services[0], "fresh.hu")
    done = queue.send_to_registrar(shop.admin, filed)
    assert (done.status, done.registrar_reference) == ("done", "dom_0001")
    ((endpoint, body, key),) = fakes.registrar.requests
    assert (endpoint, body["domain"], body["nameservers"], key) == ("register", "fresh.hu", SERVERS,
                                                                    f"domain-request-{filed.id}")
    assert body["registrant"]["name"] == "Kovács Anna"


def test_a_registrar_failure_leaves_the_request_open_with_the_error(shop, fakes):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    filed = file(shop, placed.services[0], "held.hu")
    with pytest.raises(RegistrarError):
        queue.send_to_registrar(shop.admin, filed)
    db.session.rollback()
    row = db.session.get(DomainRequest, filed.id)
    assert row.status == "open" and "held.hu is not available" in row.registrar_error
    fakes.registrar.failures = ["slow"]
    with pytest.raises(RegistrarError):
        queue.send_to_registrar(shop.admin, row)
    db.session.rollback()
    assert "could not be reached" in db.session.get(DomainRequest, filed.id).registrar_error
    rejected = queue.reject(shop.admin, db.session.get(DomainRequest, filed.id), reason="Held by someone else.")
    assert (rejected.status, rejected.reason) == ("rejected", "Held by someone else.")
    # A rejected request frees its service for another request.
    assert [e.service.id for e in domain_requests.entitlements(shop.carla, shop.carla_id)] == [filed.service_id]


def test_a_transfer_is_sent_with_its_auth_code_and_the_code_is_wiped(shop, fakes):
    placed = paid_order(shop.carla, shop.carla_account, [domain_item(shop, "moved.hu", "transfer")])
    filed = file(shop, placed.services[0], "moved.hu", action="transfer", auth_code=AUTH_CODE)
    done = queue.send_to_registrar(shop.admin, filed)
    assert done.registrar_reference == "trf_0001" and done.auth_code == ""
    assert fakes.registrar.requests[0][1]["auth_code"] == AUTH_CODE


def test_requests_belong_to_the_account(shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    filed = file(shop, placed.services[0], "mine.hu")
    with pytest.raises(NotFound):
        domain_requests.get_request(shop.bora, shop.bora_id, filed.id)
    with pytest.raises(NotFound):
        domain_requests.requests_of(shop.bora, shop.carla_id)
    with pytest.raises(NotFound):
        domain_requests.file_request(shop.bora, shop.bora_id, service_id=placed.services[0].id, name="x.hu",
                                     action="register", registrant=REGISTRANT, nameservers=SERVERS)


# --------------------------------------------------------------------------- through the web door

def test_guests_check_names_in_the_portal_and_the_form_is_rate_limited(client, shop, app):
    limit = app.config["DOMAINS_CHECK_RATE_LIMIT"]
    app.config["DOMAINS_CHECK_RATE_LIMIT"] = "3 per minute"
    try:
        checks_as_a_guest(client)
    finally:
        app.config["DOMAINS_CHECK_RATE_LIMIT"] = limit


def checks_as_a_guest(client):
    page = client.get("/domains/check").text
    answer = client.post("/domains/check", data={"csrf_token": csrf_token(page), "name": "sparrow"})
    text = text_of(answer.text)
    assert "sparrow.hu Taken" in text and "sparrow.com Available" in text
    assert "Order sparrow.com" not in text  # guests log in to order
    wrong = client.post("/domains/check", data={"csrf_token": csrf_token(page), "name": "shop.sparrow.hu"})
    assert "Enter the name without a sub-domain" in wrong.text
    assert client.post("/domains/check", data={"csrf_token": csrf_token(page), "name": "x"}).status_code == 200
    assert client.post("/domains/check", data={"csrf_token": csrf_token(page), "name": "y"}).status_code == 429


def test_the_request_form_answers_successful_and_shows_errors_beside_fields(client, shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    shop.carla.password_hash = hash_password(PASSWORD)
    db.session.commit()
    login(client, shop.carla)
    path = f"/domains/requests/new/{placed.services[0].id}"
    form = {"service": str(placed.services[0].id), "name": "sparrow-web.hu", "action": "register",
            "registrant_name": "Carla Kunde", "registrant_email": "carla@example.test", "registrant_country": "DE",
            "registrant_address": "Berlin", "nameserver_1": "ns1.example.com", "nameserver_2": "bad host"}
    refused = post(client, path, form)
    assert field_error(refused.text, "nameserver_1") == "“bad host” is not a valid name server host name."
    done = post(client, path, {**form, "nameserver_2": "ns2.example.com"}, page=path, follow_redirects=True)
    assert "Successful" in done.text and "Submitted, in progress" in text_of(done.text)
    assert "sparrow-web.hu" in client.get("/domains/requests").text


def test_billing_staff_set_domain_prices_in_the_console(client, shop):
    shop.admin.password_hash = hash_password(PASSWORD)
    db.session.commit()
    login(client, shop.admin)
    response = post(client, "/agent/domains/prices", {"product": str(shop.names.id), "tld": ".Org",
                                                      "currency": "EUR", "registration": "12.50",
                                                      "transfer": "9"}, follow_redirects=True)
    assert "The prices of .org are set." in response.text
    db.session.rollback()
    price = db.session.scalar(sa.select(DomainPrice).where(DomainPrice.tld == "org"))
    assert (price.registration, price.transfer, price.currency) == (1250, 900, "EUR")
    post(client, f"/agent/domains/prices/packages/{shop.start.id}", {}, page="/agent/domains/prices")
    db.session.rollback()
    assert db.session.get(Product, shop.start.id).free_domain is False


def test_a_registrar_failure_is_shown_in_the_console(client, shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    filed = file(shop, placed.services[0], "held.hu")
    shop.admin.password_hash = hash_password(PASSWORD)
    db.session.commit()
    login(client, shop.admin)
    page = post(client, f"/agent/domains/{filed.id}/send", page=f"/agent/domains/{filed.id}", follow_redirects=True)
    assert "The registrar did not accept the request" in page.text
    assert "held.hu is not available" in text_of(page.text) and "Mark done" in page.text


def test_a_free_domain_spent_in_the_cart_is_not_offered_again(shop):
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly"),
                                                         domain_item(shop, "sparrow.com")])
    assert placed.invoice.total == placed.invoice.lines[0].gross  # the domain's year was free
    found = domain_requests.entitlements(shop.carla, shop.carla_id)
    assert [(e.name, e.free) for e in found] == [("sparrow.com", False)]


def test_the_customer_is_mailed_the_decision_in_their_language(shop):
    from helpdesk.notify.models import OutboxEmail
    from helpdesk.notify.service import render

    shop.carla.locale = "de"
    db.session.commit()
    placed = paid_order(shop.carla, shop.carla_account, [CartItem(shop.start.id, "monthly")])
    filed = file(shop, placed.services[0], "held.hu")
    queue.reject(shop.admin, filed, reason="Der Name ist vergeben.")
    mail = db.session.scalar(sa.select(OutboxEmail).where(OutboxEmail.recipient == "carla@example.test")
                             .order_by(OutboxEmail.id.desc()).limit(1))
    render(mail)
    assert "held.hu" in mail.subject and "Der Name ist vergeben." in mail.body_text
    assert f"/domains/requests/{filed.id}" in mail.body_text
