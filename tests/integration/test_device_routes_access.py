"""Every route of issue 19's blueprints refuses whoever may not use it, with the ids of another account's objects:
a visitor is sent to log in (the public link and code pages give nothing away), a customer of another account gets
404 for each of Carla's devices, transfers, cases, licences and announcements, a member of Carla's account without
the services permission gets 403, customers get 404 on every console page, and staff without the billing right get
403 where it is needed. Nothing the refused requests asked for happens. The table of checks must name every
(endpoint, method) of those blueprints: a route added without a check fails the test."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import members, memberships
from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.accounts.models import PERM_SERVICES, PERM_TICKETS, CustomerAccount
from helpdesk.billing import catalogue, customers, payments
from helpdesk.billing.models import Service
from helpdesk.devices import announcements, cases, registry, transfers, videos
from helpdesk.devices.announcement_models import AnnouncementDismissal
from helpdesk.devices.case_models import CaseCharge, DeviceCase
from helpdesk.devices.crm_models import FAILED, CrmOutboxEntry
from helpdesk.devices.installation_models import InstallationConfirmation
from helpdesk.devices.models import PLAN_PAY_PER_CASE, Device, DeviceType
from helpdesk.devices.transfer_models import DeviceTransfer
from helpdesk.devices.video_models import VideoLicence
from helpdesk.extensions import db
from helpdesk.tickets import service as tickets
from tests.conftest import csrf_token, log_in
from tests.integration.billing_shop import billing_app, order
from tests.integration.test_ticket_device_gate import make_device

BLUEPRINTS = ("devices", "desk_devices", "device_cases", "desk_device_cases", "device_installation",
              "device_transfers", "desk_device_transfers", "desk_announcements", "videos", "desk_buyers",
              "account_identity", "desk_crm")
PHONE = "+989121234567"


def national_id(nine: str) -> str:
    remainder = sum(int(nine[i]) * (10 - i) for i in range(9)) % 11
    return nine + str(remainder if remainder < 2 else 11 - remainder)


# Who is refused how. PORTAL: a route about one of Carla's objects: visitors log in, Dora (another account) 404,
# Tom (Carla's account, tickets only) 403. OWN: a route about the customer's own account (no id to change): visitors
# log in, Tom 403/404, Dora sees only her own (Carla's serial number never on it). DESK: the console: visitors log
# in, every customer 404 (Carla's own ids). PUBLIC: no login; a made-up token or code is refused and shows no device.
PORTAL, OWN, DESK, PUBLIC = "portal", "own", "desk", "public"
# Console actions that need more than being staff (billing staff, admins): a plain agent gets 403.
MANAGERS_ONLY = {("desk_device_cases.charge", "POST"), ("desk_device_cases.prices", "POST"),
                 ("desk_device_cases.decide", "POST"), ("desk_crm.retry", "POST"), ("desk_crm.retry_licence", "POST"),
                 ("desk_crm.courses", "POST"), ("desk_announcements.new", "GET"), ("desk_announcements.new", "POST"),
                 ("desk_announcements.withdraw", "POST")}

DEVICE_FORM = {"device_type": "{kind}", "serial_number": "SN-FORGED", "installed_on": "2025-01-10"}
INSTALLATION = {"device_installed": "y", "connections_checked": "y", "training_received": "y",
                "everything_done": "y", "installed_on": "2025-01-10", "remarks": "forged"}
TRANSFER = {"name": "Mallory", "national_id": national_id("004455667"), "phone": "+989127654321",
            "ends_ownership": "y"}
# What the public pages answer a made-up token or a wrong code: the code form again (with its error), not found, or
# the set-password page's "this link has expired" (410); never a device.
PUBLIC_ANSWERS = {("device_transfers.accept_by_code", "GET"): 200, ("device_transfers.accept_by_code", "POST"): 200,
                  ("device_transfers.accept_by_link", "GET"): 404, ("device_transfers.accept_by_link", "POST"): 404,
                  ("account_identity.set_password", "GET"): 410, ("account_identity.set_password", "POST"): 410}
# (endpoint, method): (kind, path, form data)
CHECKS = {
    ("devices.index", "GET"): (OWN, "/devices/", None),
    ("devices.device_page", "GET"): (PORTAL, "/devices/{device}", None),
    ("devices.renew", "POST"): (PORTAL, "/devices/{device}/renew", {"years": "1", "payment_method": "bank_transfer"}),
    ("devices.choose_plan", "POST"): (PORTAL, "/devices/{device}/plan", {"plan": "cancelled", "confirm": "y"}),
    ("device_cases.device_tickets", "GET"): (PORTAL, "/devices/{device}/tickets", None),
    ("device_installation.confirm", "GET"): (PORTAL, "/devices/{device}/installation", None),
    ("device_installation.confirm", "POST"): (PORTAL, "/devices/{device}/installation", INSTALLATION),
    ("device_transfers.request_transfer", "GET"): (PORTAL, "/devices/{device}/transfer", None),
    ("device_transfers.request_transfer", "POST"): (PORTAL, "/devices/{device}/transfer", TRANSFER),
    ("device_transfers.resend", "POST"): (PORTAL, "/devices/{device}/transfer/{transfer}/resend", {}),
    ("device_transfers.cancel", "POST"): (PORTAL, "/devices/{device}/transfer/{transfer}/cancel", {}),
    ("device_transfers.accept_by_code", "GET"): (PUBLIC, "/device-transfers/accept", None),
    ("device_transfers.accept_by_code", "POST"): (PUBLIC, "/device-transfers/accept",
                                                  {"national_id": TRANSFER["national_id"], "code": "123456"}),
    ("device_transfers.accept_by_link", "GET"): (PUBLIC, "/device-transfers/accept/made-up-token", None),
    ("device_transfers.accept_by_link", "POST"): (PUBLIC, "/device-transfers/accept/made-up-token", {}),
    ("videos.licences", "GET"): (OWN, "/videos/", None),
    ("videos.licence", "GET"): (PORTAL, "/videos/{licence}", None),
    ("desk_announcements.dismiss", "POST"): (PORTAL, "/announcements/{announcement}/dismiss", {}),
    ("account_identity.identity", "GET"): (OWN, "/account/identity-data", None),
    ("account_identity.ask_for_correction", "POST"): (OWN, "/account/identity-data/correction",
                                                      {"subject": "Fix it", "text": "My name"}),
    ("account_identity.set_password", "GET"): (PUBLIC, "/set-password/made-up-token", None),
    ("account_identity.set_password", "POST"): (PUBLIC, "/set-password/made-up-token",
                                                {"password": "a new secret 42", "confirm": "a new secret 42"}),
    # The console.
    ("desk_devices.index", "GET"): (DESK, "/agent/devices/?account={account}", None),
    ("desk_devices.types", "GET"): (DESK, "/agent/devices/types", None),
    ("desk_devices.types", "POST"): (DESK, "/agent/devices/types", {"code": "forged", "brand": "F", "model": "1"}),
    ("desk_devices.device_type", "GET"): (DESK, "/agent/devices/types/{kind}", None),
    ("desk_devices.device_type", "POST"): (DESK, "/agent/devices/types/{kind}",
                                           {"code": "forged", "brand": "F", "model": "1"}),
    ("desk_devices.register", "GET"): (DESK, "/agent/devices/accounts/{account}/new", None),
    ("desk_devices.register", "POST"): (DESK, "/agent/devices/accounts/{account}/new", DEVICE_FORM),
    ("desk_devices.device_page", "GET"): (DESK, "/agent/devices/{device}", None),
    ("desk_devices.device_page", "POST"): (DESK, "/agent/devices/{device}", DEVICE_FORM),
    ("desk_devices.add_contract", "POST"): (DESK, "/agent/devices/{device}/contracts", {"years": "3"}),
    ("desk_devices.choose_plan", "POST"): (DESK, "/agent/devices/{device}/plan", {"plan": "cancelled"}),
    ("desk_device_cases.awaiting", "GET"): (DESK, "/agent/devices/cases/", None),
    ("desk_device_cases.charge", "GET"): (DESK, "/agent/devices/cases/{case}/charge", None),
    ("desk_device_cases.charge", "POST"): (DESK, "/agent/devices/cases/{case}/charge",
                                           {"difficulty": "simple", "volume": "small"}),
    ("desk_device_cases.decide", "POST"): (DESK, "/agent/devices/cases/{case}/decide", {"decision": "approve"}),
    ("desk_device_cases.prices", "GET"): (DESK, "/agent/devices/cases/prices", None),
    ("desk_device_cases.prices", "POST"): (DESK, "/agent/devices/cases/prices", {"simple_small": "1"}),
    ("desk_device_transfers.index", "GET"): (DESK, "/agent/device-transfers", None),
    ("desk_device_transfers.transfer", "GET"): (DESK, "/agent/device-transfers/{transfer}", None),
    ("desk_device_transfers.approve", "POST"): (DESK, "/agent/device-transfers/{transfer}/approve", {}),
    ("desk_device_transfers.refuse", "POST"): (DESK, "/agent/device-transfers/{transfer}/refuse", {"reason": "x"}),
    ("desk_device_transfers.installation_record", "GET"): (DESK, "/agent/devices/{device}/installation", None),
    ("desk_device_transfers.add_note", "POST"): (DESK, "/agent/devices/{device}/installation/notes", {"text": "x"}),
    ("desk_announcements.index", "GET"): (DESK, "/agent/announcements/", None),
    ("desk_announcements.new", "GET"): (DESK, "/agent/announcements/new", None),
    ("desk_announcements.new", "POST"): (DESK, "/agent/announcements/new",
                                         {"kind": "software_update", "audience": "all", "channels": "banner",
                                          "title_en": "Forged", "text_en": "Forged"}),
    ("desk_announcements.show", "GET"): (DESK, "/agent/announcements/{announcement}", None),
    ("desk_announcements.withdraw", "POST"): (DESK, "/agent/announcements/{announcement}/withdraw", {}),
    ("desk_announcements.sms_outbox", "GET"): (DESK, "/agent/sms", None),
    ("desk_buyers.new", "GET"): (DESK, "/agent/buyers/new", None),
    ("desk_buyers.new", "POST"): (DESK, "/agent/buyers/new",
                                  {"email": "forged@example.test", "full_name": "Forged", "locale": "en",
                                   "national_id": national_id("001234567"), "phone": "+989121111111"}),
    ("desk_buyers.buyer", "GET"): (DESK, "/agent/buyers/{account}", None),
    ("desk_buyers.update_identity", "POST"): (DESK, "/agent/buyers/{account}/identity",
                                              {"full_name": "Forged", "national_id": national_id("001234567"),
                                               "phone": PHONE}),
    ("desk_buyers.send_link", "POST"): (DESK, "/agent/buyers/{account}/set-password-link", {}),
    ("desk_crm.index", "GET"): (DESK, "/agent/crm/", None),
    ("desk_crm.retry", "POST"): (DESK, "/agent/crm/{entry}/retry", {}),
    ("desk_crm.retry_licence", "POST"): (DESK, "/agent/crm/licences/{licence}/retry", {}),
    ("desk_crm.courses", "POST"): (DESK, "/agent/crm/videos/{product}/courses", {"p{product}-course_ids": "forged"}),
}


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, BILLING_DEFAULT_CURRENCY="IRR")


def test_the_checks_name_every_route_of_the_issue_19_blueprints(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) > 50
    assert sorted(routes - set(CHECKS)) == [], "routes without an access check"
    assert sorted(set(CHECKS) - routes) == [], "checks of routes that are gone"


@pytest.fixture
def world(app, customer, agent, make_user):
    """Carla's account (A): a pay-per-case device of type X200 with a ticket (its case), a transfer under way, a
    training-video licence, a CRM row and an announcement to X200 owners; Dora's account (B) owns a Y100; Tom is in
    Carla's account for tickets only, Vic for services without billing; Ada is an admin."""
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    account_id = memberships.default_account_id(customer)
    db.session.add(AccountIdentity(account_id=account_id, full_name="Carla Customer", phone=PHONE,
                                   national_id=national_id("123456700")))
    x200, y100 = DeviceType(code="acme-x200", brand="Acme", model="X200"), DeviceType(code="acme-y100",
                                                                                      brand="Acme", model="Y100")
    db.session.add_all([x200, y100])
    db.session.commit()
    device_id = make_device(agent, account_id, x200.id, "SN-CARLA", "pay_per_case")
    ticket = tickets.open_ticket(customer, subject="It beeps", body_text="Since Monday.",
                                 details={"device": str(device_id)})
    case = db.session.scalar(sa.select(DeviceCase).where(DeviceCase.ticket_id == ticket.id))
    transfer = transfers.request_transfer(customer, device_id, name="Nima New", national_id=national_id("001234567"),
                                          phone="+989127654321", ends_ownership=True)
    group = catalogue.create_group(admin, code="training", texts={"en": {"name": "Training"}})
    course = catalogue.create_product(admin, group=group, code="x200-course", kind="video_licence",
                                      texts={"en": {"name": "X200 operator course"}})
    catalogue.set_price(admin, course, cycle="one_off", currency="IRR", amount=25_000_000)
    videos.set_courses(admin, course.id, ["5f3a1c"])
    billing_account = customers.open_account(customer, customer)
    customers.update_details(customer, billing_account, name="Carla Customer", country="IR", currency="IRR")
    _placed, invoice = order(customer, billing_account, course, cycle="one_off", currency="IRR")
    payments.record_payment(admin, invoice=invoice, amount=invoice.total, currency="IRR", source="manual",
                            external_id="bank-ref-1")
    licence = db.session.scalar(sa.select(VideoLicence).where(VideoLicence.account_id == account_id))
    entry = CrmOutboxEntry(device_id=device_id, kind="device.registered", status=FAILED, last_error="down")
    db.session.add(entry)
    db.session.commit()
    announcement = announcements.publish(admin, kind="software_update", audience="device_type", device_type_id=x200.id,
                                         channels=("banner",), texts={"en": {"title": "Service visit",
                                                                             "text": "X200 owners: a visit."}})
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora_account = memberships.ensure_personal_account(dora)
    db.session.commit()
    doras = registry.register_device(agent, dora_account.id, device_type=y100.id, serial_number="SN-DORA",
                                     service_ends_on=registry.today() + timedelta(days=300))
    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    members.join(db.session.get(CustomerAccount, account_id), tom, [PERM_TICKETS])
    vic = make_user("customer", email="vic@example.test", full_name="Vic Services")
    members.join(db.session.get(CustomerAccount, account_id), vic, [PERM_SERVICES])
    db.session.commit()
    return {"device": device_id, "account": account_id, "case": case.id, "transfer": transfer.id,
            "licence": licence.id, "entry": entry.id, "announcement": announcement.id, "kind": x200.id,
            "product": course.id, "doras_device": doras.id}


def _as(app, login=None):
    client = app.test_client()
    if login:
        log_in(client, login)
    return client, csrf_token(client.get("/login" if login is None else "/").get_data(as_text=True))


def _call(client, token, method, path, data, ids):
    path = path.format(**ids)
    if method == "GET":
        return client.get(path)
    form = {key.format(**ids): value.format(**ids) for key, value in (data or {}).items()}
    return client.post(path, data={"csrf_token": token, **form})


def _state(world):
    db.session.rollback()
    device = db.session.get(Device, world["device"])
    return {"device": (device.account_id, device.plan, device.service_ends_on, device.serial_number),
            "transfers": db.session.scalars(sa.select(DeviceTransfer.status).order_by(DeviceTransfer.id)).all(),
            "types": db.session.scalars(sa.select(DeviceType.code).order_by(DeviceType.id)).all(),
            "devices": db.session.scalar(sa.select(sa.func.count(Device.id))),
            "services": db.session.scalar(sa.select(sa.func.count(Service.id))),
            "installations": db.session.scalar(sa.select(sa.func.count(InstallationConfirmation.id))),
            "dismissed": db.session.scalar(sa.select(sa.func.count(AnnouncementDismissal.id))),
            "charges": db.session.scalar(sa.select(sa.func.count(CaseCharge.id))),
            "cases": db.session.scalars(sa.select(DeviceCase.state)).all(),
            "crm": db.session.get(CrmOutboxEntry, world["entry"]).status,
            "licence": db.session.get(VideoLicence, world["licence"]).status,
            "prices": cases.price_list("IRR"),
            "identity": db.session.scalar(sa.select(AccountIdentity.full_name).where(
                AccountIdentity.account_id == world["account"]))}


def test_every_route_refuses_visitors_other_accounts_members_without_the_right_and_customers_in_the_console(
        app, client, world):
    before = _state(world)
    assert before["device"][1] == PLAN_PAY_PER_CASE and before["transfers"] == ["awaiting_confirmation"]
    wrong = []

    def expect(who, key, response, allowed, *, not_shown=None):
        ok = response.status_code in allowed if isinstance(allowed, tuple) else allowed(response)
        if ok and not_shown and not_shown in response.get_data(as_text=True):
            ok = False
        if not ok:
            wrong.append(f"{who} {key[1]} {key[0]}: {response.status_code} {response.headers.get('Location', '')}")

    def to_login(response):
        return response.status_code == 302 and "/login" in response.headers["Location"]

    visitor, visitor_token = _as(app)
    dora, dora_token = _as(app, "dora@example.test")
    tom, tom_token = _as(app, "tom@example.test")
    switched = tom.post("/account/switch", data={"csrf_token": tom_token, "account_id": world["account"]})
    assert switched.status_code == 302  # Tom acts for Carla's account (his own is his default)
    agent, agent_token = _as(app, "agent@example.test")
    carla, carla_token = _as(app, "carla@example.test")
    for key, (kind, path, data) in CHECKS.items():
        method = key[1]
        call = (method, path, data, world)
        if kind == PUBLIC:
            for who, (browser, token) in (("visitor", (visitor, visitor_token)), ("dora", (dora, dora_token))):
                expect(who, key, _call(browser, token, *call), (PUBLIC_ANSWERS[key],), not_shown="SN-CARLA")
            continue
        expect("visitor", key, _call(visitor, visitor_token, *call), to_login)
        if kind == PORTAL:
            expect("dora", key, _call(dora, dora_token, *call), (404,))
            if key != ("desk_announcements.dismiss", "POST"):  # shown to every member of an X200 owner
                expect("tom", key, _call(tom, tom_token, *call), (403,))
        elif kind == OWN:
            expect("dora", key, _call(dora, dora_token, *call), (200, 302), not_shown="SN-CARLA")
            expect("tom", key, _call(tom, tom_token, *call), (403, 404))
        else:
            for who, (browser, token) in (("dora", (dora, dora_token)), ("tom", (tom, tom_token)),
                                          ("carla", (carla, carla_token))):
                expect(who, key, _call(browser, token, *call), (404,))
            if key in MANAGERS_ONLY:
                expect("agent", key, _call(agent, agent_token, *call), (403,))
    # Carla's transfer through Dora's own device's address: still not hers to touch.
    for action in ("resend", "cancel"):
        key = (f"device_transfers.{action}", "POST")
        expect("dora", key, _call(dora, dora_token, "POST", "/devices/{doras_device}/transfer/{transfer}/" + action,
                                  {}, world), (404,))
    # Vic may look after Carla's devices but not spend her money: a renewal (a billing order) is refused (the page
    # says why; no order is placed: see the state below).
    vic, vic_token = _as(app, "vic@example.test")
    vic.post("/account/switch", data={"csrf_token": vic_token, "account_id": world["account"]})
    assert vic.get("/devices/{device}".format(**world)).status_code == 200
    expect("vic", ("devices.renew", "POST"), _call(vic, vic_token, "POST", *CHECKS[("devices.renew", "POST")][1:],
                                                    world), (302, 403))
    assert wrong == [], "\n".join(wrong)
    assert _state(world) == before
