"""The demo (`make run`) shows a newcomer the device buyer's portal too: the demo customer owns a device whose
installation waits for their confirmation, and its contract renewal is not for sale in the catalogue."""
import pytest

from helpdesk.demo import CUSTOMER, load_demo
from tests.conftest import log_in

pytestmark = pytest.mark.backends("postgresql")  # the demo's services are tested on both databases elsewhere


def test_the_demo_customer_has_a_device_to_confirm_and_no_contract_in_the_catalogue(client):
    load_demo()
    log_in(client, CUSTOMER[1], CUSTOMER[2])
    devices = client.get("/devices/")
    assert devices.status_code == 200
    assert "X200-0001" in devices.text and "Awaiting installation confirmation" in devices.text
    catalogue = client.get("/billing/").text
    assert "Web hosting" in catalogue and "Service contract renewal" not in catalogue
