"""The Didar CRM sync against a fake Didar API on loopback: device events become outbox rows in the caller's
transaction and reach Didar after the commit (one deal per device, notes for contracts), failures are retried and
then shown to staff, the API key (in the query string) never reaches a log line or a stored error, the nightly
reconcile queues pushes for differences, and a rolled-back change pushes nothing."""
import logging
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from helpdesk.accounts.memberships import ensure_personal_account
from helpdesk.db import utcnow
from helpdesk.devices import crm_tasks, events, registry
from helpdesk.devices.crm_models import FAILED, PENDING, SENT, CrmDeviceLink, CrmOutboxEntry
from helpdesk.devices.models import DeviceType
from helpdesk.extensions import db
from tests.fakes.didar_api import API_KEY, FakeDidar


@pytest.fixture(scope="module")
def didar():
    fake = FakeDidar().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, smtp, didar):
    didar.deals.clear(), didar.activities.clear(), didar.requests.clear(), didar.failures.clear()
    app = app_factory(CRM_PROVIDER="didar", DIDAR_API_KEY=API_KEY, DIDAR_API_BASE=didar.url, CRM_RETRY_SECONDS=0,
                      CRM_MAX_ATTEMPTS=3)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def shop(app, make_user):
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    buyer = make_user("customer", email="bahar@example.test", full_name="Bahar Buyer")
    account = ensure_personal_account(buyer)
    kind = DeviceType(code="acme-x200", brand="Acme", model="X200")
    db.session.add(kind)
    db.session.commit()
    return admin, account.id, kind


def ours_logged(caplog) -> str:
    """What this process logged, without the fake Didar server's own access log (Didar's side of the wire)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name != "werkzeug")


def register(admin, account_id, kind, serial="SN-1001"):
    return registry.register_device(admin, account_id, device_type=kind.id, serial_number=serial,
                                    installed_on=date(2026, 1, 10))


def test_a_registered_device_reaches_didar_once_as_a_deal_with_its_state(app, shop, didar):
    admin, account_id, kind = shop
    device = register(admin, account_id, kind)
    deal = didar.deal(f"helpdesk-device-{device.id}")
    assert deal is not None and deal["Title"] == "Acme X200 SN-1001"
    assert "serial_number: SN-1001" in deal["Description"] and "device_type: acme-x200" in deal["Description"]
    assert all(request["key"] == API_KEY for request in didar.requests)
    row = db.session.scalar(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.device_id == device.id))
    assert row.kind == "device.registered" and row.status == SENT
    link = db.session.scalar(sa.select(CrmDeviceLink).where(CrmDeviceLink.device_id == device.id))
    assert link.crm_id == deal["Id"]

    # A change updates the same deal (Didar's id remembered), never a second one; a contract leaves a note.
    registry.update_device(admin, device.id, device_type=kind.id, serial_number="SN-1001-B",
                           installed_on=date(2026, 1, 10), warranty_ends_on=date(2027, 1, 10),
                           service_ends_on=date(2027, 1, 10))
    events.emit("contract.added", device, {"ends_on": "2028-01-10"})
    events.emit("case.charged", device, {"ticket": 1042, "amount": 25_000_000, "currency": "IRR",
                                         "invoice": "INV-7"})
    db.session.commit()
    assert len(didar.deals) == 1
    assert "serial_number: SN-1001-B" in didar.deal(f"helpdesk-device-{device.id}")["Description"]
    assert [a["DealId"] for a in didar.activities] == [deal["Id"], deal["Id"]]
    assert "2028-01-10" in didar.activities[0]["Title"]
    assert "1042" in didar.activities[1]["Title"] and "INV-7" in didar.activities[1]["Title"]


def test_a_failed_push_is_retried_then_shown_to_staff_without_the_key(app, shop, didar, caplog):
    caplog.set_level(logging.DEBUG)
    admin, account_id, kind = shop
    didar.failures.extend([503, 503, 503])
    device = register(admin, account_id, kind)
    row = db.session.scalar(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.device_id == device.id))
    assert row.status == PENDING and row.attempts == 1 and "HTTP 503" in row.last_error
    assert didar.deals == {}

    # The sweep hands it over again once due; the third failure is final and staff see it.
    assert crm_tasks.sweep() == 1
    db.session.execute(sa.update(CrmOutboxEntry).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert crm_tasks.send_device(device.id) == "failed"
    overview = crm_tasks.overview(admin)
    [failed] = overview.failed
    assert failed.id == row.id and failed.status == FAILED and "503" in failed.last_error
    ours = ours_logged(caplog)
    assert "ApiKey=[redacted]" in ours  # urllib3's debug line, redacted
    assert API_KEY not in ours and API_KEY not in failed.last_error

    # Staff retry: Didar is back, the device arrives, once.
    crm_tasks.retry(admin, failed.id)
    assert db.session.get(CrmOutboxEntry, row.id).status == SENT
    assert didar.deal(f"helpdesk-device-{device.id}") is not None and len(didar.deals) == 1
    assert API_KEY not in ours_logged(caplog)


def test_a_wrong_key_is_a_final_failure_and_its_error_holds_no_key(app, shop, didar, caplog):
    caplog.set_level(logging.DEBUG)
    admin, account_id, kind = shop
    app.config["DIDAR_API_KEY"] = "wrong-key-55aa"
    try:
        device = register(admin, account_id, kind)
    finally:
        app.config["DIDAR_API_KEY"] = API_KEY
    row = db.session.scalar(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.device_id == device.id))
    assert row.status == FAILED and "HTTP 401" in row.last_error
    assert didar.requests[-1]["key"] == "wrong-key-55aa"
    assert "wrong-key-55aa" not in ours_logged(caplog) and "wrong-key-55aa" not in row.last_error


def test_a_push_whose_answer_was_lost_updates_the_deal_didar_made(app, shop, didar):
    admin, account_id, kind = shop
    device = register(admin, account_id, kind)
    deal_id = didar.deal(f"helpdesk-device-{device.id}")["Id"]
    db.session.execute(sa.delete(CrmDeviceLink))  # as if the worker died before remembering Didar's id
    events.emit("device.updated", device, {})
    db.session.commit()
    assert len(didar.deals) == 1
    assert db.session.scalar(sa.select(CrmDeviceLink.crm_id)) == deal_id


def test_nothing_is_queued_or_pushed_when_the_change_rolls_back(app, shop, didar):
    admin, account_id, kind = shop
    device = register(admin, account_id, kind)
    sent_before = len(didar.requests)
    events.emit("device.updated", device, {"serial_number": ["a", "b"]})
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CrmOutboxEntry)) == 1
    assert len(didar.requests) == sent_before


def test_the_nightly_reconcile_queues_pushes_for_differences(app, shop, didar):
    admin, account_id, kind = shop
    _same, changed, missing = (register(admin, account_id, kind, serial) for serial in ("SN-1", "SN-2", "SN-3"))
    didar.deal(f"helpdesk-device-{changed.id}")["Description"] = "owner: someone else"
    didar.deals.pop(didar.deal(f"helpdesk-device-{missing.id}")["Id"])
    db.session.execute(sa.delete(CrmDeviceLink).where(CrmDeviceLink.device_id == missing.id))
    db.session.commit()
    assert crm_tasks.reconcile() == 2
    rows = db.session.scalars(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.kind == "crm.reconcile")).all()
    assert sorted((r.device_id, r.details["reason"], r.status) for r in rows) == sorted(
        [(changed.id, "different", SENT), (missing.id, "missing", SENT)])
    assert "owner: Bahar Buyer" in didar.deal(f"helpdesk-device-{changed.id}")["Description"]
    assert didar.deal(f"helpdesk-device-{missing.id}") is not None and len(didar.deals) == 3
    assert crm_tasks.reconcile() == 0  # in step now


def test_the_console_lists_the_sync_and_only_admins_retry(app, shop, client, make_user, didar):
    from helpdesk.errors import NotAllowed
    from tests.conftest import csrf_token, log_in

    admin, account_id, kind = shop
    didar.failures.extend([400])
    device = register(admin, account_id, kind)
    row = db.session.scalar(sa.select(CrmOutboxEntry).where(CrmOutboxEntry.device_id == device.id))
    assert row.status == FAILED
    agent = make_user("agent", email="agnes@example.test")
    with pytest.raises(NotAllowed):
        crm_tasks.retry(agent, row.id)
    customer = make_user("customer", email="cyrus@example.test")
    db.session.commit()
    log_in(client, customer.email)
    assert client.get("/agent/crm/").status_code in (403, 404)
    client = app.test_client()
    log_in(client, admin.email)
    page = client.get("/agent/crm/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "HTTP 400" in text and API_KEY not in text
    response = client.post(f"/agent/crm/{row.id}/retry", data={"csrf_token": csrf_token(text)})
    assert response.status_code == 302
    db.session.rollback()  # the retry committed in the request: read it afresh
    assert db.session.get(CrmOutboxEntry, row.id).status == SENT
    assert client.post("/agent/crm/999999/retry", data={"csrf_token": csrf_token(text)}).status_code == 404


def test_redaction_hides_the_key_itself_and_any_api_key_parameter():
    from helpdesk.devices.crm import redact

    text = redact("POST https://app.didar.me/api/deal/save?ApiKey=k3y-1&From=0 failed; key k3y-1", ("k3y-1",))
    assert "k3y-1" not in text and "From=0" in text
    assert redact("GET /x?apikey=other&y=2") == "GET /x?apikey=[redacted]&y=2"
