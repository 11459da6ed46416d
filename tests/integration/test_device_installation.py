"""The installation confirmation: the buyer signs it once (checklist, a Jalali day for a Persian reader, remarks,
"everything is done"), with their login and address recorded and a SHA-256 over its content; it starts the service
and is never changed (the service refuses a second one, the models refuse an update, a change behind the
application's back shows as a hash mismatch in the console); staff add counter-signed notes; nobody else's device is
reachable."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts import members, memberships
from helpdesk.accounts.models import PERM_TICKETS
from helpdesk.audit.models import AuditEvent
from helpdesk.billing.models import FrozenRecord
from helpdesk.devices import installation, registry
from helpdesk.devices.installation_models import InstallationConfirmation, InstallationNote
from helpdesk.devices.models import Device, DeviceType
from helpdesk.devices.status import AWAITING_CONFIRMATION, status_of
from helpdesk.errors import Conflict, NotAllowed, NotFound
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in

TICKS = {"device_installed": "y", "connections_checked": "y", "training_received": "y", "everything_done": "y"}



@pytest.fixture
def world(app, client, customer, agent, make_user):
    """Carla owns a registered device (not confirmed yet); Dora has an account of her own; Tom is in Carla's
    account for tickets only."""
    account_id = memberships.default_account_id(customer)
    kind = DeviceType(code="acme-x200", brand="Acme", model="X200")
    db.session.add(kind)
    db.session.commit()
    device = registry.register_device(agent, account_id, device_type=kind.id, serial_number="SN-4711",
                                      service_ends_on=registry.today() + timedelta(days=365))
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    memberships.ensure_personal_account(dora)
    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    members.join(db.session.get(type(memberships.default_account(customer)), account_id), tom, [PERM_TICKETS])
    db.session.commit()
    return {"device": device.id, "account": account_id, "dora": dora}


def browser(app, email, locale=None):
    client = app.test_client()
    log_in(client, email)
    if locale:
        client.set_cookie("locale", locale)
    return client


def sign(client, device_id, **fields):
    page = client.get(f"/devices/{device_id}/installation")
    data = {"csrf_token": csrf_token(page.text), **fields}
    return client.post(f"/devices/{device_id}/installation", data=data,
                       environ_base={"REMOTE_ADDR": "203.0.113.9"})


def test_the_buyer_signs_once_in_jalali_and_the_record_is_read_only(app, customer, world, followed):
    customer.locale = "fa"
    db.session.commit()
    carla = browser(app, "carla@example.test")
    device_id = world["device"]
    assert status_of(db.session.get(Device, device_id)).code == AWAITING_CONFIRMATION

    # Every tick is required and nothing is stored without them; what was typed stays.
    refused = sign(carla, device_id, installed_on="۱۴۰۳/۱۲/۳۰", remarks="نصب شد", device_installed="y")
    assert refused.status_code == 200
    assert 'value="۱۴۰۳/۱۲/۳۰"' in refused.text and "نصب شد" in refused.text
    assert refused.text.count('class="error"') == 3  # two checklist items and "everything is done"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InstallationConfirmation)) == 0

    # A day in the future is refused, and so is one long before the device was registered, or no such day (the
    # page is in Persian: the error is found beside the field).
    future = registry.today() + timedelta(days=2)
    for typed in (future.isoformat(), "۱۳۶۰/۰۱/۰۱", "1403/13/40"):
        answer = sign(carla, device_id, installed_on=typed, **TICKS)
        assert answer.status_code == 200 and 'id="installed_on-error"' in answer.text

    # Esfand 30, 1403 (a leap year) is 2025-03-20.
    signed = sign(carla, device_id, installed_on="۱۴۰۳/۱۲/۳۰", remarks="  Everything <b>works</b>\r\nThanks ",
                  **TICKS)
    assert signed.status_code == 302
    db.session.rollback()
    record = db.session.scalar(sa.select(InstallationConfirmation))
    device = db.session.get(Device, device_id)
    content = installation.content_of(record)
    assert content["installed_on"] == "2025-03-20" and content["remarks"] == "Everything <b>works</b>\nThanks"
    assert content["checklist"] == {"device_installed": True, "connections_checked": True, "training_received": True}
    assert (record.ip, record.signed_by_login, record.signed_by_id) == ("203.0.113.9", "carla@example.test",
                                                                        customer.id)
    assert content["ip"] == "203.0.113.9" and content["signed_by"]["login"] == "carla@example.test"
    assert installation.hash_verified(record) and len(record.content_hash) == 64
    assert device.confirmed_at is not None and device.installed_on == date(2025, 3, 20)
    assert status_of(device).code != AWAITING_CONFIRMATION
    assert ("installation.confirmed", device_id) in [(kind, i) for kind, i, _ in followed]
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "installation-confirmed"))
    assert audit.changes["hash"] == record.content_hash and audit.account_id == world["account"]

    # The portal shows the signed record, read-only, in Jalali, the remarks as text.
    page = carla.get(f"/devices/{device_id}/installation").text
    assert "۱۴۰۳/۱۲/۳۰" in page and record.content_hash in page and "203.0.113.9" in page
    assert "&lt;b&gt;works&lt;/b&gt;" in page and "<b>works</b>" not in page
    assert 'name="everything_done"' not in page

    # A second submission is refused (409) and changes nothing; so is a second call of the service.
    again = carla.post(f"/devices/{device_id}/installation",
                       data={"csrf_token": csrf_token(page), "installed_on": "1403/01/01", **TICKS})
    assert again.status_code == 409
    with pytest.raises(Conflict):
        installation.confirm_installation(customer, device_id, checklist=dict.fromkeys(TICKS, True),
                                          installed_on=date(2025, 1, 1), remarks="", everything_done=True, ip="")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InstallationConfirmation)) == 1
    assert installation.content_of(db.session.scalar(sa.select(InstallationConfirmation)))["installed_on"] == \
        "2025-03-20"


def test_the_record_refuses_updates_and_a_change_behind_its_back_shows_in_the_console(app, customer, agent, world):
    record = installation.confirm_installation(
        customer, world["device"], checklist=dict.fromkeys(TICKS, True), installed_on=date(2025, 5, 1),
        remarks="ok", everything_done=True, ip="198.51.100.7")
    desk = browser(app, "agent@example.test")
    page = desk.get(f"/agent/devices/{world['device']}/installation").text
    assert "Hash verified" in page and "198.51.100.7" in page and "carla@example.test" in page

    # The model refuses an update and a deletion.
    record = db.session.get(InstallationConfirmation, record.id)
    record.ip = "10.0.0.1"
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()
    record = db.session.get(InstallationConfirmation, record.id)
    db.session.delete(record)
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()

    # Someone with database access changes the signed day: the hash no longer matches.
    tampered = db.session.get(InstallationConfirmation, record.id).content.replace("2025-05-01", "2025-04-01")
    db.session.execute(sa.update(InstallationConfirmation).values(content=tampered))
    db.session.commit()
    db.session.expire_all()
    assert not installation.hash_verified(db.session.get(InstallationConfirmation, record.id))
    page = desk.get(f"/agent/devices/{world['device']}/installation").text
    assert "Hash mismatch" in page and "Hash verified" not in page
    # So does a change of the columns beside the content (the address).
    db.session.execute(sa.update(InstallationConfirmation).values(
        content=tampered.replace("2025-04-01", "2025-05-01"), ip="10.9.9.9"))
    db.session.commit()
    db.session.expire_all()
    assert not installation.hash_verified(db.session.get(InstallationConfirmation, record.id))


def test_staff_counter_sign_notes_that_never_change_and_cannot_sign_for_the_buyer(app, customer, agent, world):
    desk = browser(app, "agent@example.test")
    url = f"/agent/devices/{world['device']}/installation"
    assert "has not signed" in desk.get(url).text
    with pytest.raises(NotAllowed):
        installation.confirm_installation(agent, world["device"], checklist=dict.fromkeys(TICKS, True),
                                          installed_on=date(2025, 5, 1), remarks="", everything_done=True, ip="")
    db.session.rollback()
    with pytest.raises(Conflict):
        installation.add_note(agent, world["device"], "too early")
    db.session.rollback()
    installation.confirm_installation(customer, world["device"], checklist=dict.fromkeys(TICKS, True),
                                      installed_on=date(2025, 5, 1), remarks="", everything_done=True, ip="")

    empty = desk.post(f"{url}/notes", data={"csrf_token": csrf_token(desk.get(url).text), "text": "  "})
    assert empty.status_code == 400 and 'class="error"' in empty.text
    added = desk.post(f"{url}/notes", data={"csrf_token": csrf_token(desk.get(url).text),
                                            "text": "Checked on site: compressor replaced <script>"})
    assert added.status_code == 302
    page = desk.get(url).text
    assert "Checked on site: compressor replaced &lt;script&gt;" in page and "agent@example.test" in page
    db.session.rollback()
    note = db.session.scalar(sa.select(InstallationNote))
    assert note.author_id == agent.id
    note.text = "rewritten"
    with pytest.raises(FrozenRecord):
        db.session.flush()
    db.session.rollback()
    # The customer reads the record, not the staff's notes.
    assert "compressor replaced" not in browser(app, "carla@example.test").get(
        f"/devices/{world['device']}/installation").text


def test_nobody_else_reaches_a_device_installation(app, client, customer, world):
    url = f"/devices/{world['device']}/installation"
    assert client.get(url).status_code == 302  # a visitor logs in first
    dora = browser(app, "dora@example.test")
    assert dora.get(url).status_code == 404
    token = csrf_token(dora.get("/profile").text)
    assert dora.post(url, data={"csrf_token": token, "installed_on": "2025-01-01", **TICKS}).status_code == 404
    assert dora.get("/devices/999999/installation").status_code == 404
    # A member of Carla's account without the services permission is refused.
    assert browser(app, "tom@example.test").get(url).status_code == 403
    # Customers never reach the console's record.
    carla = browser(app, "carla@example.test")
    assert carla.get(f"/agent/devices/{world['device']}/installation").status_code == 404
    assert carla.post(f"/agent/devices/{world['device']}/installation/notes",
                      data={"csrf_token": csrf_token(carla.get("/profile").text), "text": "x"}).status_code == 404
    with pytest.raises(NotFound):
        installation.confirmation_of(world["dora"], world["device"])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InstallationConfirmation)) == 0


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(app, app_factory, customer, world):
    """TRUSTED_PROXIES=1: the address the TLS proxy forwards is the signer's; without it (above) a forged
    X-Forwarded-For counts for nothing."""
    proxied = app_factory(TRUSTED_PROXIES=1)
    proxied.test_client_class = app.test_client_class
    client = proxied.test_client()
    log_in(client, "carla@example.test")
    page = client.get(f"/devices/{world['device']}/installation").text
    signed = client.post(f"/devices/{world['device']}/installation",
                         data={"csrf_token": csrf_token(page), "installed_on": "2025-05-01", **TICKS},
                         headers={"X-Forwarded-For": "192.0.2.44"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert signed.status_code == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(InstallationConfirmation.ip)) == "192.0.2.44"


def test_without_a_trusted_proxy_a_forged_forwarded_address_is_ignored(app, customer, world):
    carla = browser(app, "carla@example.test")
    page = carla.get(f"/devices/{world['device']}/installation").text
    carla.post(f"/devices/{world['device']}/installation",
               data={"csrf_token": csrf_token(page), "installed_on": "2025-05-01", **TICKS},
               headers={"X-Forwarded-For": "192.0.2.44"}, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    db.session.rollback()
    assert db.session.scalar(sa.select(InstallationConfirmation.ip)) == "203.0.113.5"
