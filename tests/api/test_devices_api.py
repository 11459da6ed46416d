"""Devices through the API: the buyer's account lists its devices and reads one with its status, days remaining,
warranty and service ends and contracts; staff correct a device through the registry, guarded by If-Match."""
from datetime import timedelta

import pytest

from helpdesk.devices import registry
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from tests.api.conftest import pointers, problem_of
from tests.integration.devices_shop import build

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def shop(app, make_user):
    return build(make_user)


def test_the_buyer_lists_and_reads_their_devices_status_and_days_remaining(as_user, shop):
    client = as_user(shop.sara, ["devices:read"])
    listed = client.get(f"/api/v1/accounts/{shop.account.id}/devices").get_json()
    assert [d["id"] for d in listed["items"]] == [shop.device.id] and listed["next_cursor"] is None
    device = client.get(f"/api/v1/devices/{shop.device.id}").get_json()
    assert device["status"]["code"] == "expiring" and device["status"]["days_remaining"] == 20
    assert device["status"]["label"] == "Expiring"
    assert device["service_ends_on"] == (shop.today + timedelta(days=20)).isoformat()
    assert device["warranty_ends_on"] is not None and device["serial_number"] == "SN-4711"
    assert device["device_type"]["code"] == "acme-x200" and device["account_id"] == shop.account.id
    assert [(c["source"], c["ends_on"]) for c in device["contracts"]] == [("initial", device["service_ends_on"])]


def test_a_device_awaiting_confirmation_says_so(as_user, make_user):
    shop = build(make_user, confirmed=False, days_left=200)
    device = as_user(shop.sara, ["devices:read"]).get(f"/api/v1/devices/{shop.device.id}").get_json()
    assert device["status"]["code"] == "awaiting_confirmation" and device["confirmed_at"] is None
    assert device["status"]["days_remaining"] == 200


def test_devices_are_keyset_pages(as_user, shop):
    more = [registry.register_device(shop.admin, shop.account.id, device_type=shop.device_type.id,
                                     serial_number=f"SN-{n}") for n in range(2)]
    client = as_user(shop.admin, ["devices:read"])
    first = client.get(f"/api/v1/accounts/{shop.account.id}/devices?limit=2").get_json()
    assert [d["id"] for d in first["items"]] == [more[1].id, more[0].id]
    rest = client.get(f"/api/v1/accounts/{shop.account.id}/devices?limit=2&after={first['next_cursor']}").get_json()
    assert [d["id"] for d in rest["items"]] == [shop.device.id]


def test_staff_correct_a_device_with_if_match(as_user, shop):
    client = as_user(shop.admin, ["devices:read", "devices:write"])
    read = client.get(f"/api/v1/devices/{shop.device.id}")
    etag = read.headers["ETag"]
    assert client.get(f"/api/v1/devices/{shop.device.id}", headers={"If-None-Match": etag}).status_code == 304
    new_end = (shop.today + timedelta(days=100)).isoformat()
    changed = client.patch(f"/api/v1/devices/{shop.device.id}", json={"serial_number": "SN-4712",
                                                                       "service_ends_on": new_end},
                           headers={"If-Match": etag})
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["serial_number"] == "SN-4712" and body["service_ends_on"] == new_end
    assert body["status"]["code"] == "active" and body["status"]["days_remaining"] == 100
    assert body["dongle_id"] == read.get_json()["dongle_id"]  # what was not sent stays
    assert changed.headers["ETag"] != etag
    assert client.get(f"/api/v1/devices/{shop.device.id}").headers["ETag"] == changed.headers["ETag"]
    stale = client.patch(f"/api/v1/devices/{shop.device.id}", json={"serial_number": "SN-9"},
                         headers={"If-Match": etag})
    assert stale.status_code == 412 and problem_of(stale)["status"] == 412
    db.session.rollback()
    assert registry.get_device(shop.admin, shop.device.id).serial_number == "SN-4712"


def test_a_bad_change_lists_every_field(as_user, shop):
    client = as_user(shop.admin, ["devices:write"])
    answer = client.patch(f"/api/v1/devices/{shop.device.id}",
                          json={"device_type_id": 999_999, "serial_number": "", "dongle_id": "",
                                "warranty_ends_on": (shop.today - timedelta(days=900)).isoformat()})
    assert answer.status_code == 422
    assert pointers(answer) == {"#/device_type_id", "#/serial_number", "#/warranty_ends_on"}


def test_the_buyer_cannot_change_their_device(as_user, shop):
    answer = as_user(shop.sara).patch(f"/api/v1/devices/{shop.device.id}", json={"serial_number": "MINE"})
    assert answer.status_code == 404  # the console's change is staff's; not revealed to customers
    db.session.rollback()
    assert registry.get_device(shop.admin, shop.device.id).serial_number == "SN-4711"


def test_account_devices_checks_like_devices_of(shop, make_user):
    """devices.registry.account_devices, the select the API pages."""
    assert list(db.session.scalars(registry.account_devices(shop.sara, shop.account.id))) == [shop.device]
    assert list(db.session.scalars(registry.account_devices(shop.admin, shop.account.id))) == [shop.device]
    with pytest.raises(NotFound):
        registry.account_devices(make_user("customer"), shop.account.id)
    with pytest.raises(NotFound):
        registry.account_devices(shop.admin, 999_999)
