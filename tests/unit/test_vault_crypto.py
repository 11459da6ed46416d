"""Sealing vault values: a sealed value opens only with its key, in its place; altered, moved or under a key that
is not configured, it does not open, and no error message carries the value."""
import base64
import os

import pytest

from helpdesk.vault.crypto import (
    NONCE_BYTES,
    CannotOpen,
    Keyring,
    UnknownKey,
    VaultKeyError,
    development_key,
    key_id_of,
)

PLACE = b"vault_entries|7|3|password"
SECRET = "hunter2 ünïcode ☃"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def ring(*ids):
    return Keyring({key_id: os.urandom(32) for key_id in ids})


def test_a_sealed_value_opens_in_its_place_and_names_its_key():
    keys = ring("2026-12")
    token = keys.seal(SECRET, PLACE)
    assert keys.open(token, PLACE) == SECRET
    assert key_id_of(token) == "2026-12"
    assert token.startswith("v1:2026-12:")
    assert SECRET not in token


def test_every_seal_has_a_fresh_96_bit_nonce():
    keys = ring("a")
    tokens = [keys.seal(SECRET, PLACE) for _ in range(50)]
    nonces = {token.split(":")[2] for token in tokens}
    assert len(nonces) == 50
    padded = next(iter(nonces)) + "=" * (-len(next(iter(nonces))) % 4)
    assert len(base64.urlsafe_b64decode(padded)) == NONCE_BYTES == 12


@pytest.mark.parametrize("part", [2, 3])
def test_an_altered_value_does_not_open(part):
    keys = ring("a")
    pieces = keys.seal(SECRET, PLACE).split(":")
    raw = bytearray(base64.urlsafe_b64decode(pieces[part] + "=" * (-len(pieces[part]) % 4)))
    raw[0] ^= 1
    pieces[part] = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(CannotOpen) as caught:
        keys.open(":".join(pieces), PLACE)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("other_place", [b"vault_entries|8|3|password", b"vault_entries|7|4|password",
                                         b"vault_entries|7|3|notes", b"other_table|7|3|password"])
def test_a_value_copied_to_another_row_account_or_field_does_not_open(other_place):
    keys = ring("a")
    with pytest.raises(CannotOpen):
        keys.open(keys.seal(SECRET, PLACE), other_place)


def test_a_value_under_a_key_that_is_not_configured_names_the_key_only():
    old = ring("old").seal(SECRET, PLACE)
    with pytest.raises(UnknownKey) as caught:
        ring("new").open(old, PLACE)
    assert caught.value.key_id == "old"
    assert "old" in str(caught.value) and SECRET not in str(caught.value)


def test_another_key_under_the_same_id_does_not_open_the_value():
    with pytest.raises(CannotOpen):
        ring("a").open(ring("a").seal(SECRET, PLACE), PLACE)


@pytest.mark.parametrize("garbage", ["", "plain text", "v2:a:AAAA:AAAA", "v1:a:not base64!:x", "v1:a:AAAA:AAAA"])
def test_something_that_is_no_sealed_value_does_not_open(garbage):
    with pytest.raises(CannotOpen):
        ring("a").open(garbage, PLACE)


def test_rotation_reads_old_values_and_seals_new_ones_with_the_first_key():
    old_key, new_key = os.urandom(32), os.urandom(32)
    before = Keyring({"2026-01": old_key})
    token = before.seal(SECRET, PLACE)

    during = Keyring({"2026-12": new_key, "2026-01": old_key})
    assert during.current_id == "2026-12" and not during.is_current(token)
    assert during.open(token, PLACE) == SECRET  # readers keep working while values are sealed again
    resealed = during.seal(during.open(token, PLACE), PLACE)
    assert during.is_current(resealed) and key_id_of(resealed) == "2026-12"

    after = Keyring({"2026-12": new_key})  # the old key removed
    assert after.open(resealed, PLACE) == SECRET
    with pytest.raises(UnknownKey):
        after.open(token, PLACE)


def test_keys_come_from_the_setting_in_order_in_either_base64_alphabet():
    raw = bytes(range(256))[-32:]  # has bytes that differ between the alphabets
    keys = Keyring.from_setting({"new": base64.urlsafe_b64encode(raw).decode(), "old": b64(os.urandom(32))})
    assert keys.current_id == "new" and keys.key_ids == ("new", "old")
    assert Keyring({"new": raw}).open(keys.seal(SECRET, PLACE), PLACE) == SECRET


@pytest.mark.parametrize("setting, named", [
    ({"short": b64(os.urandom(16))}, "short"),
    ({"junk": "not base64 at all"}, "junk"),
    ({"bad id": b64(os.urandom(32))}, "bad id"),
    ({"with:colon": b64(os.urandom(32))}, "with:colon"),
    ({}, "VAULT_KEYS"),
    (["not", "a", "mapping"], "VAULT_KEYS"),
])
def test_unusable_settings_are_refused_naming_the_key_id_never_the_key(setting, named):
    with pytest.raises(VaultKeyError) as caught:
        Keyring.from_setting(setting)
    assert named in str(caught.value)
    for value in (setting.values() if isinstance(setting, dict) else ()):
        assert value not in str(caught.value)


def test_the_development_key_follows_the_secret_key():
    assert development_key("one secret") == development_key("one secret")
    assert development_key("one secret") != development_key("another secret")
    assert len(development_key("x")) == 32


def test_a_malformed_vault_key_stops_the_start_naming_the_key_id(tmp_path):
    from helpdesk import create_app
    from helpdesk.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="VAULT_KEYS: vault key '2026-12' is not the base64") as caught:
        create_app("testing", {"INSTANCE_PATH": str(tmp_path), "VAULT_KEYS": {"2026-12": "c2hvcnQ="}})
    assert "c2hvcnQ" not in str(caught.value)


def test_production_without_vault_keys_starts_and_says_the_vault_is_unavailable(tmp_path, caplog):
    from helpdesk import create_app

    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "SECRET_KEY": "k" * 40})
    assert app.config["VAULT_KEYS"] == {}
    assert "the credential vault is unavailable: VAULT_KEYS is not set" in caplog.text
