"""Fixtures shared by the integration tests of one area (the suite-wide ones are in tests/conftest.py)."""
import pytest

from helpdesk.devices import events


@pytest.fixture
def followed():
    """The events the devices package tells its followers (the CRM sync follows them): (kind, device id,
    details) in order."""
    seen = []

    def follower(kind, device, details):
        seen.append((kind, device.id, details))

    events.follow(follower)
    yield seen
    events.unfollow(follower)
