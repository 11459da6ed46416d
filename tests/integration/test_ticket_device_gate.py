"""Ticket gating (issue 19): a customer opens a ticket about a device of their account only while its service runs
(active, expiring, renewed) or under pay-per-case; an unconfirmed installation, an expired contract or a cancelled
service is refused with the reason and what to do, in the ticket service (every door) and so on the web form, even
for a forged post; the ticket is linked to the device; staff are not gated; nobody names another account's device."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.actors import GUEST_FORM
from helpdesk.db import utcnow
from helpdesk.devices import registry
from helpdesk.devices.case_models import CASE_OPEN, DeviceCase
from helpdesk.devices.models import PLAN_CANCELLED, PLAN_PAY_PER_CASE, Device, DeviceType
from helpdesk.devices.status import SOURCE_RENEWAL, status_of
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import service
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token, log_in

ALLOWED = ("active", "expiring", "renewed", "pay_per_case")
REFUSED = {"awaiting_confirmation": "Confirm the installation first",
           "expired": "Renew it, or choose pay-per-case service",
           "cancelled": "Renew its contract"}


def make_device(agent, account_id, kind_id, serial, code):
    """A device of ``account_id`` whose derived status is ``code``."""
    today = registry.today()
    made = registry.register_device(agent, account_id, device_type=kind_id, serial_number=serial,
                                    service_ends_on=today + timedelta(days=365))
    device = db.session.get(Device, made.id)
    if code != "awaiting_confirmation":
        device.confirmed_at = utcnow()
    if code == "expiring":
        device.service_ends_on = today + timedelta(days=5)
    elif code == "renewed":
        device.contract_source = SOURCE_RENEWAL
    elif code in ("expired", "pay_per_case", "cancelled"):
        device.service_ends_on = today - timedelta(days=10)
        device.plan = {"pay_per_case": PLAN_PAY_PER_CASE, "cancelled": PLAN_CANCELLED}.get(code, device.plan)
    db.session.commit()
    assert status_of(device).code == code
    return device.id


@pytest.fixture
def world(app, customer, agent, make_user):
    """Carla's account has a device in every status; Dora has her own account and an active device."""
    account_id = memberships.default_account_id(customer)
    kind = DeviceType(code="acme-x200", brand="Acme", model="X200")
    db.session.add(kind)
    db.session.commit()
    devices = {code: make_device(agent, account_id, kind.id, f"SN-{code}", code)
               for code in (*ALLOWED, *REFUSED)}
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora_account = memberships.ensure_personal_account(dora)
    db.session.commit()
    devices["dora"] = make_device(agent, dora_account.id, kind.id, "SN-dora", "active")
    return {"devices": devices, "account": account_id, "dora": dora}


def tickets_count():
    return db.session.scalar(sa.select(sa.func.count(Ticket.id)))


def test_the_service_gates_every_status_and_links_the_ticket(app, customer, agent, world):
    devices = world["devices"]
    for code in ALLOWED:
        ticket = service.open_ticket(customer, subject=f"Help with {code}", body_text="It beeps.",
                                     details={"device": str(devices[code])})
        case = db.session.scalar(sa.select(DeviceCase).where(DeviceCase.ticket_id == ticket.id))
        assert (case.device_id, case.account_id, case.state, case.device_status) == (
            devices[code], world["account"], CASE_OPEN, code)
    before = tickets_count()
    for code, advice in REFUSED.items():
        with pytest.raises(ValidationFailed) as refused:
            service.open_ticket(customer, subject="Help", body_text="It beeps.", details={"device": str(devices[code])})
        assert advice in str(refused.value.errors["device"])
        db.session.rollback()
    # Another account's device, a made-up one, and the guest form: no device is theirs to name.
    for actor, ref in ((customer, devices["dora"]), (customer, "999999"), (GUEST_FORM, devices["active"])):
        with pytest.raises(ValidationFailed) as refused:
            service.open_ticket(actor, subject="Help", body_text="x", requester_email="guest@example.test",
                                details={"device": str(ref)})
        assert "Choose one of your devices" in str(refused.value.errors["device"])
        db.session.rollback()
    assert tickets_count() == before

    # Staff are not gated: an agent opens a ticket about the expired device for Carla, and it is linked.
    ticket = service.open_ticket(agent, subject="Expired but urgent", body_text="On the phone.",
                                 requester_email=customer.email, details={"device": str(devices["expired"])})
    assert db.session.scalar(sa.select(DeviceCase.device_id).where(DeviceCase.ticket_id == ticket.id)) == \
        devices["expired"]


def test_the_web_form_offers_the_devices_and_refuses_a_forged_post(app, client, customer, world):
    devices = world["devices"]
    log_in(client, customer.email)
    page = client.get(f"/tickets/new?device={devices['active']}").text
    assert "SN-active" in page and "SN-expired" in page and "SN-dora" not in page
    assert f'<option selected value="{devices["active"]}">' in page or \
        f'value="{devices["active"]}" selected' in page
    token = csrf_token(page)
    before = tickets_count()

    # The expired device is not offered as usable, and a post naming it anyway is refused with the reason.
    forged = client.post("/tickets/new", data={"csrf_token": token, "subject": "Help", "description": "It beeps.",
                                               "priority": "normal", "department": "",
                                               "device": str(devices["expired"])})
    assert forged.status_code == 400
    assert "Renew it, or choose pay-per-case service" in forged.text
    assert "It beeps." in forged.text  # nothing typed is lost
    db.session.rollback()
    assert tickets_count() == before

    # With another field wrong too, both errors show at once.
    both = client.post("/tickets/new", data={"csrf_token": token, "subject": "", "description": "It beeps.",
                                             "priority": "normal", "department": "",
                                             "device": str(devices["cancelled"])})
    assert both.status_code == 400 and "Enter a subject." in both.text and "Renew its contract" in both.text

    # Dora's device, typed into a forged post by Carla: refused the same way.
    stranger = client.post("/tickets/new", data={"csrf_token": token, "subject": "Help", "description": "x",
                                                 "priority": "normal", "department": "",
                                                 "device": str(devices["dora"])})
    assert stranger.status_code == 400 and "Choose one of your devices" in stranger.text

    done = client.post("/tickets/new", data={"csrf_token": token, "subject": "Help", "description": "It beeps.",
                                             "priority": "high", "department": "", "device": str(devices["active"])},
                       follow_redirects=True)
    assert done.status_code == 200 and "created" in done.text
    db.session.rollback()  # see what the requests committed
    ticket = db.session.scalars(sa.select(Ticket).order_by(Ticket.id.desc())).first()
    assert ticket.priority == "high"
    assert db.session.scalar(sa.select(DeviceCase.device_id).where(DeviceCase.ticket_id == ticket.id)) == \
        devices["active"]

    # The ticket's own page names its device.
    shown = client.get(f"/tickets/{ticket.number}").text
    assert 'class="ticket-device"' in shown and "SN-active" in shown

    # The device's ticket panel lists it with its priority, the panel's status words and its history link.
    panel = client.get(f"/devices/{devices['active']}/tickets").text
    assert f"#{ticket.number}" in panel and "High" in panel and "Open" in panel
    assert f"/tickets/{ticket.number}" in panel and "New ticket about this device" in panel
    refused_panel = client.get(f"/devices/{devices['awaiting_confirmation']}/tickets").text
    assert "Confirm the installation first" in refused_panel and "New ticket about this device" not in refused_panel
