"""Stripe's webhook signature scheme as the adapter checks it: ``t=<time>,v1=<HMAC-SHA256 of "t.payload">`` on the
raw body, any of several v1 values, within the tolerance, nothing else accepted."""
import hashlib
import hmac

import pytest

from helpdesk.providers.stripe import SignatureInvalid, verify_signature

SECRET, NOW = "whsec_test_secret", 1_780_000_000
PAYLOAD = b'{\n  "id": "evt_1",\n  "type": "payment_intent.succeeded"\n}'


def v1(payload=PAYLOAD, timestamp=NOW, secret=SECRET):
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def check(header, payload=PAYLOAD, now=NOW):
    verify_signature(payload, header, SECRET, tolerance=300, now=now)


def test_a_signature_of_the_raw_body_is_believed():
    check(f"t={NOW},v1={v1()}")
    check(f"t={NOW},v1={'0' * 64},v1={v1()},v0={'1' * 64}")  # several v1: one matching is enough
    check(f"t={NOW - 300},v1={v1(timestamp=NOW - 300)}")  # at the edge of the tolerance


@pytest.mark.parametrize("header, payload, now", [
    (f"t={NOW},v1={v1(secret='whsec_other')}", PAYLOAD, NOW),  # another secret
    (f"t={NOW},v1={v1()}", PAYLOAD.replace(b"\n", b""), NOW),  # re-serialised body
    (f"t={NOW - 301},v1={v1(timestamp=NOW - 301)}", PAYLOAD, NOW),  # stale
    (f"t={NOW + 301},v1={v1(timestamp=NOW + 301)}", PAYLOAD, NOW),  # from the future
    (f"t={NOW + 1},v1={v1()}", PAYLOAD, NOW),  # the time changed after signing
    (f"t={NOW},v0={v1()}", PAYLOAD, NOW),  # only the old scheme
    (f"v1={v1()}", PAYLOAD, NOW),  # no time
    ("", PAYLOAD, NOW),
    ("t=now,v1=xyz", PAYLOAD, NOW),
    (f"t={NOW},v1=ä{v1()[1:]}", PAYLOAD, NOW),  # not ASCII
])
def test_anything_else_is_refused(header, payload, now):
    with pytest.raises(SignatureInvalid):
        check(header, payload, now)


def test_no_secret_configured_refuses_every_delivery():
    with pytest.raises(SignatureInvalid):
        verify_signature(PAYLOAD, f"t={NOW},v1={v1(secret='')}", "", tolerance=300, now=NOW)
