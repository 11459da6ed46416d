"""Ownership transfers: the owner names the new owner and states their ownership ends; the new owner confirms by the
texted link or by the code with their national ID (no login; a wrong code is counted, codes expire, neither works
twice); staff approve, which moves the device with its contracts to the account holding that national ID (refused,
with a link to create it, while none does), or refuse; the debt rule; every step audited; both parties told; no
other account's device or transfer is reachable."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import buyers, members, memberships
from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.accounts.models import PERM_SERVICES, PERM_TICKETS, CustomerAccount
from helpdesk.actors import GUEST_FORM
from helpdesk.audit.models import AuditEvent
from helpdesk.db import utcnow
from helpdesk.devices import cases, registry, transfers
from helpdesk.devices.contract_models import DeviceContract
from helpdesk.devices.models import Device, DeviceType
from helpdesk.devices.transfer_models import (
    APPROVED,
    AWAITING_APPROVAL,
    AWAITING_CONFIRMATION,
    CANCELLED,
    REFUSED,
    DeviceTransfer,
)
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notify.sms_models import SmsMessage
from tests.conftest import csrf_token, log_in
from tests.integration.test_device_cases import open_case
from tests.integration.test_ticket_device_gate import make_device

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
NEW_PHONE = "+989127654321"


def national_id(nine: str) -> str:
    remainder = sum(int(nine[i]) * (10 - i) for i in range(9)) % 11
    return nine + str(remainder if remainder < 2 else 11 - remainder)


NIMA, OTHER = national_id("001234567"), national_id("004455667")



@pytest.fixture
def world(app, client, customer, agent, make_user):
    """Carla owns a device (with its initial contract) in her account; Dora owns another account and device; Tom is
    in Carla's account for tickets only."""
    account_id = memberships.default_account_id(customer)
    kind = DeviceType(code="acme-x200", brand="Acme", model="X200")
    db.session.add(kind)
    db.session.commit()
    device = registry.register_device(agent, account_id, device_type=kind.id, serial_number="SN-4711",
                                      installed_on=registry.today() - timedelta(days=30),
                                      service_ends_on=registry.today() + timedelta(days=335))
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora_account = memberships.ensure_personal_account(dora)
    db.session.commit()
    doras_device = registry.register_device(agent, dora_account.id, device_type=kind.id, serial_number="SN-9")
    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    members.join(db.session.get(CustomerAccount, account_id), tom, [PERM_TICKETS])
    db.session.commit()
    return {"device": device.id, "account": account_id, "dora_device": doras_device.id, "dora": dora,
            "kind": kind.id}


def browser(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def texts(kind):
    db.session.rollback()
    return [(m.phone, m.text) for m in db.session.scalars(sa.select(SmsMessage).where(SmsMessage.kind == kind)
                                                         .order_by(SmsMessage.id))]


def last_code_and_link():
    phone, text = texts("devices.transfer_code")[-1]
    assert phone == NEW_PHONE
    code = re.search(r"code (\d{6})", text).group(1)
    link = re.search(r"https?://[^/\s]+(/device-transfers/accept/[\w-]+)", text).group(1)
    return code, link


def request(device_id, customer, national=NIMA):
    return transfers.request_transfer(customer, device_id, name="Nima New", national_id=national,
                                      phone=NEW_PHONE, ends_ownership=True)


def the_transfer():
    db.session.rollback()
    return db.session.scalar(sa.select(DeviceTransfer).order_by(DeviceTransfer.id.desc()).limit(1))


def test_link_confirmation_and_approval_move_the_device_with_its_contracts(app, client, customer, agent, world,
                                                                          followed, smtp):
    carla, device_id = browser(app, "carla@example.test"), world["device"]
    url = f"/devices/{device_id}/transfer"
    page = carla.get(url)
    assert page.status_code == 200 and "Request the transfer" in page.text

    # Every problem at once, nothing stored, nothing texted.
    refused = carla.post(url, data={"csrf_token": csrf_token(page.text), "name": "", "national_id": "0012345670",
                                    "phone": "12"})
    assert refused.status_code == 200 and refused.text.count('class="error"') == 4
    assert the_transfer() is None and texts("devices.transfer_code") == []

    asked = carla.post(url, data={"csrf_token": csrf_token(page.text), "name": "Nima New",
                                  "national_id": NIMA.translate(PERSIAN), "phone": "+98 912 765 4321",
                                  "ends_ownership": "y"})
    assert asked.status_code == 302
    transfer = the_transfer()
    assert (transfer.status, transfer.new_owner_national_id, transfer.new_owner_phone) == \
        (AWAITING_CONFIRMATION, NIMA, NEW_PHONE)
    code, link = last_code_and_link()
    assert code not in (transfer.code_hash or "") and link.rsplit("/", 1)[1] not in (transfer.token_hash or "")
    assert "Waiting for the new owner" in carla.get(url).text
    # One open transfer per device.
    with pytest.raises(Conflict):
        request(device_id, customer)
    db.session.rollback()

    # The new owner opens the link without logging in, sees what they accept, and accepts.
    stranger = app.test_client()
    shown = stranger.get(link)
    assert shown.status_code == 200 and "SN-4711" in shown.text and "Acme X200" in shown.text
    accepted = stranger.post(link, data={"csrf_token": csrf_token(shown.text)},
                             environ_base={"REMOTE_ADDR": "198.51.100.23"})
    assert accepted.status_code == 200 and "Transfer confirmed" in accepted.text
    transfer = the_transfer()
    assert (transfer.status, transfer.confirmed_by, transfer.confirmed_ip) == \
        (AWAITING_APPROVAL, "link", "198.51.100.23")
    assert transfer.token_hash is None and transfer.code_hash is None
    assert stranger.get(link).status_code == 404  # single use

    # Staff cannot approve while no account holds the new owner's national ID; the page links to creating it.
    desk = browser(app, "agent@example.test")
    assert f"/agent/device-transfers/{transfer.id}" in desk.get("/agent/device-transfers").text
    detail = desk.get(f"/agent/device-transfers/{transfer.id}").text
    assert "None holds this national ID yet" in detail and "/agent/buyers/new" in detail
    blocked = desk.post(f"/agent/device-transfers/{transfer.id}/approve", data={"csrf_token": csrf_token(detail)})
    assert blocked.status_code == 409 and "Create the buyer" in blocked.text
    assert db.session.get(Device, device_id).account_id == world["account"]

    db.session.rollback()
    nima_account = buyers.create_buyer_account(agent, email="nima@example.test", full_name="Nima New",
                                               national_id=NIMA, phone=NEW_PHONE)
    smtp.clear()
    approved = desk.post(f"/agent/device-transfers/{transfer.id}/approve", data={"csrf_token": csrf_token(detail)})
    assert approved.status_code == 302
    db.session.rollback()
    device = db.session.get(Device, device_id)
    assert device.account_id == nima_account.id
    assert db.session.scalar(sa.select(DeviceContract.id).where(DeviceContract.device_id == device_id)) is not None
    transfer = the_transfer()
    assert (transfer.status, transfer.to_account_id, transfer.decided_by_id) == (APPROVED, nima_account.id, agent.id)
    assert ("device.transferred", device_id) in [(kind, i) for kind, i, _ in followed]
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "device-transfer")))
    assert {"requested", "code-sent", "confirmed", "approved"} <= actions

    # The device is the new owner's: listed in their account; the old owner no longer reaches it.
    nima = db.session.get(AccountIdentity, nima_account.id)
    new_login = memberships.owner_id(nima.account_id)
    assert device_id in [d.id for d in registry.devices_of(db.session.get(type(customer), new_login),
                                                           nima_account.id)]
    assert carla.get(url).status_code == 404
    # Both parties hear of it: Carla and Nima by email, Nima by SMS (the phone staff entered).
    mails = smtp.wait_for(2)
    assert {m["To"].addresses[0].addr_spec for m in mails} >= {"carla@example.test", "nima@example.test"}
    assert all("approved" in m["Subject"] for m in mails if "Device transfer" in m["Subject"])
    assert [phone for phone, _ in texts("devices.transfer_approved")] == [NEW_PHONE]


def test_code_confirmation_counts_wrong_codes_expires_and_works_once(app, client, customer, world):
    transfer = request(world["device"], customer)
    code, link = last_code_and_link()
    stranger = app.test_client()
    page = stranger.get("/device-transfers/accept")
    token = csrf_token(page.text)
    # A Persian reader gets the page right to left; so does the owner's page.
    assert 'dir="rtl"' in app.test_client().get("/device-transfers/accept", headers={"Accept-Language": "fa"}).text
    customer.locale = "fa"
    db.session.commit()
    persian = browser(app, "carla@example.test").get(f"/devices/{world['device']}/transfer")
    assert persian.status_code == 200 and 'dir="rtl"' in persian.text and NEW_PHONE in persian.text

    def post(national, typed):
        return stranger.post("/device-transfers/accept", data={"csrf_token": token, "national_id": national,
                                                               "code": typed})

    wrong = "000000" if code != "000000" else "111111"
    answer = post(NIMA, wrong)
    assert answer.status_code == 200 and "This code is wrong or no longer valid" in answer.text
    assert the_transfer().code_attempts == 1
    # The right code with another person's national ID does not open this transfer.
    assert "wrong or no longer valid" in post(OTHER, code).text
    assert the_transfer().status == AWAITING_CONFIRMATION
    # Five wrong codes make it void: the right one no longer works.
    for _ in range(4):
        post(NIMA, wrong)
    assert the_transfer().code_hash is None
    assert "wrong or no longer valid" in post(NIMA, code).text

    # The owner sends a new code; the old link stops working; a code expires.
    carla = browser(app, "carla@example.test")
    resend_page = carla.get(f"/devices/{world['device']}/transfer").text
    assert carla.post(f"/devices/{world['device']}/transfer/{transfer.id}/resend",
                      data={"csrf_token": csrf_token(resend_page)}).status_code == 302
    new_code, new_link = last_code_and_link()
    assert stranger.get(link).status_code == 404
    row = the_transfer()
    row.code_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        transfers.confirm_by_code(GUEST_FORM, NIMA, new_code)
    db.session.rollback()
    assert stranger.get(new_link).status_code == 409  # expired: ask for a new code
    row = the_transfer()
    row.code_expires_at = utcnow() + timedelta(hours=1)
    db.session.commit()

    # The right code, typed in Persian digits, with the national ID: confirmed once.
    done = post(NIMA.translate(PERSIAN), new_code.translate(PERSIAN))
    assert done.status_code == 200 and "Transfer confirmed" in done.text
    assert (the_transfer().status, the_transfer().confirmed_by) == (AWAITING_APPROVAL, "code")
    assert "wrong or no longer valid" in post(NIMA, new_code).text
    # The page is rate limited per client (DEVICES_TRANSFER_CONFIRM_RATE_LIMIT: ten a minute).
    assert [post(NIMA, wrong).status_code for _ in range(2)] == [200, 429]


def test_refusal_cancellation_and_the_debt_rule(app, client, customer, agent, world, make_user, monkeypatch,
                                                 smtp):
    first = request(world["device"], customer)
    _, link = last_code_and_link()
    transfers.confirm_by_link(GUEST_FORM, link.rsplit("/", 1)[1])
    desk = browser(app, "agent@example.test")
    detail = desk.get(f"/agent/device-transfers/{first.id}").text
    empty = desk.post(f"/agent/device-transfers/{first.id}/refuse", data={"csrf_token": csrf_token(detail),
                                                                          "reason": " "})
    assert empty.status_code == 400 and "Say why" in empty.text
    smtp.clear()
    assert desk.post(f"/agent/device-transfers/{first.id}/refuse",
                     data={"csrf_token": csrf_token(detail), "reason": "The buyer's contract is missing."}
                     ).status_code == 302
    assert the_transfer().status == REFUSED
    [(phone, text)] = texts("devices.transfer_refused")
    assert phone == NEW_PHONE and "contract is missing" in text
    assert any("refused" in m["Subject"] for m in smtp.wait_for(1))

    # The owner cancels a transfer before it is decided.
    second = request(world["device"], customer)
    carla = browser(app, "carla@example.test")
    page = carla.get(f"/devices/{world['device']}/transfer").text
    assert carla.post(f"/devices/{world['device']}/transfer/{second.id}/cancel",
                      data={"csrf_token": csrf_token(page)}).status_code == 302
    assert the_transfer().status == CANCELLED
    assert "Request the transfer" in carla.get(f"/devices/{world['device']}/transfer").text

    # With "blocks", an unpaid case charge of the old account (on its pay-per-case device) stops the approval; with
    # "stays" the device moves and the debt stays with the old account.
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_CURRENCY", "IRR")
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    cases.set_prices(admin, "IRR", {("simple", "small"): 100_000})
    case = open_case(customer, make_device(agent, world["account"], world["kind"], "SN-PPC", "pay_per_case"))
    cases.charge_case(admin, case.ticket_id, difficulty="simple", volume="small")
    third = request(world["device"], customer)
    _, link = last_code_and_link()
    transfers.confirm_by_link(GUEST_FORM, link.rsplit("/", 1)[1])
    db.session.rollback()
    account = buyers.create_buyer_account(agent, email="nima@example.test", full_name="Nima New",
                                          national_id=NIMA, phone=NEW_PHONE)
    monkeypatch.setitem(app.config, "DEVICES_TRANSFER_DEBT", "blocks")
    detail = desk.get(f"/agent/device-transfers/{third.id}").text
    assert "they block the transfer until paid" in detail
    blocked = desk.post(f"/agent/device-transfers/{third.id}/approve", data={"csrf_token": csrf_token(detail)})
    assert blocked.status_code == 409 and "unpaid case charges" in blocked.text
    assert db.session.get(Device, world["device"]).account_id == world["account"]
    monkeypatch.setitem(app.config, "DEVICES_TRANSFER_DEBT", "stays")
    assert "they stay with the current owner" in desk.get(f"/agent/device-transfers/{third.id}").text
    transfers.approve_transfer(agent, third.id)
    db.session.rollback()
    assert db.session.get(Device, world["device"]).account_id == account.id
    assert cases.debts_of(world["account"]) == {"IRR": 100_000} and cases.debts_of(account.id) == {}


def test_nobody_else_reaches_a_transfer(app, client, customer, agent, world, make_user):
    # Giving the device away is the owner's decision: a member who manages its services may not.
    vic = make_user("customer", email="vic@example.test", full_name="Vic Services")
    members.join(db.session.get(CustomerAccount, memberships.default_account_id(customer)), vic, [PERM_SERVICES])
    db.session.commit()
    with pytest.raises(NotAllowed):
        request(world["device"], vic)
    db.session.rollback()
    vic_browser = browser(app, "vic@example.test")
    switched = vic_browser.post("/account/switch", data={"csrf_token": csrf_token(vic_browser.get("/").text),
                                                         "account_id": world["account"]})
    assert switched.status_code == 302, switched.text  # he acts for Carla's account
    form = vic_browser.get(f"/devices/{world['device']}/transfer")
    refused = vic_browser.post(f"/devices/{world['device']}/transfer", data={
        "csrf_token": csrf_token(form.text), "name": "X", "national_id": NIMA, "phone": NEW_PHONE,
        "ends_ownership": "y"})
    assert refused.status_code == 403 and the_transfer() is None

    transfer = request(world["device"], customer)
    device_id, other_device = world["device"], world["dora_device"]
    assert client.get(f"/devices/{device_id}/transfer").status_code == 302  # a visitor logs in first
    dora = browser(app, "dora@example.test")
    token = csrf_token(dora.get(f"/devices/{other_device}/transfer").text)
    assert dora.get(f"/devices/{device_id}/transfer").status_code == 404
    data = {"csrf_token": token, "name": "X", "national_id": OTHER, "phone": NEW_PHONE, "ends_ownership": "y"}
    assert dora.post(f"/devices/{device_id}/transfer", data=data).status_code == 404
    for action in ("resend", "cancel"):
        assert dora.post(f"/devices/{device_id}/transfer/{transfer.id}/{action}",
                         data={"csrf_token": token}).status_code == 404
        # Carla's transfer under Dora's own device is not found either.
        assert dora.post(f"/devices/{other_device}/transfer/{transfer.id}/{action}",
                         data={"csrf_token": token}).status_code == 404
    with pytest.raises(NotFound):
        transfers.cancel_transfer(world["dora"], other_device, transfer.id)
    db.session.rollback()
    # A member without the services permission: 403.
    assert browser(app, "tom@example.test").get(f"/devices/{device_id}/transfer").status_code == 403
    # Customers never reach the console's pages.
    carla = browser(app, "carla@example.test")
    carla_token = csrf_token(carla.get(f"/devices/{device_id}/transfer").text)
    assert carla.get("/agent/device-transfers").status_code == 404
    assert carla.get(f"/agent/device-transfers/{transfer.id}").status_code == 404
    assert carla.post(f"/agent/device-transfers/{transfer.id}/approve",
                      data={"csrf_token": carla_token}).status_code == 404
    # A made-up link, or one of no transfer, is not found; staff get 404 for a missing transfer.
    stranger = app.test_client()
    assert stranger.get("/device-transfers/accept/not-a-token").status_code == 404
    assert browser(app, "agent@example.test").get("/agent/device-transfers/999999").status_code == 404
    assert the_transfer().status == AWAITING_CONFIRMATION and the_transfer().id == transfer.id
