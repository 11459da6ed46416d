"""The vault's keys from configuration (never from the database): VAULT_KEYS, an ordered mapping of key id to
the base64 of a 32-byte key, the first the current one. Empty outside production: one development key derived
from SECRET_KEY; empty in production: the vault is unavailable (and says so) rather than using a guessable key.
Also the associated data that ties a sealed value to its place."""
import logging

from flask import current_app

from helpdesk.settings import ConfigurationError
from helpdesk.vault.crypto import DEVELOPMENT_KEY_ID, Keyring, VaultKeyError, development_key
from helpdesk.vault.errors import VaultUnavailable

log = logging.getLogger(__name__)

TABLE = "vault_entries"


def keyring_for(config) -> Keyring:
    """The keyring ``config`` names; VaultKeyError (naming a key id, never a key) when it cannot be used."""
    setting = config.get("VAULT_KEYS") or {}
    if setting:
        return Keyring.from_setting(setting)
    if config.get("ENV") == "production":
        raise VaultKeyError("VAULT_KEYS is not set: production needs its own vault keys")
    return Keyring({DEVELOPMENT_KEY_ID: development_key(config["SECRET_KEY"])})


def keyring() -> Keyring:
    """The app's keyring; VaultUnavailable when the configuration cannot give one (the log says why)."""
    try:
        return keyring_for(current_app.config)
    except VaultKeyError as exc:
        log.error("credential vault unavailable: %s", exc)
        raise VaultUnavailable() from None


def place(entry_id: int, account_id: int, field: str) -> bytes:
    """The associated data of a sealed value: the table, the entry, its account and the field."""
    return f"{TABLE}|{entry_id}|{account_id}|{field}".encode()


def check_configuration(app) -> None:
    """At start: VAULT_KEYS set but unusable stops the start (ConfigurationError naming the key id); production
    without it starts with the vault unavailable, said in the log."""
    if app.config.get("VAULT_KEYS"):
        try:
            Keyring.from_setting(app.config["VAULT_KEYS"])
        except VaultKeyError as exc:
            raise ConfigurationError(f"VAULT_KEYS: {exc}") from None
    try:
        ring = keyring_for(app.config)
    except VaultKeyError as exc:
        log.warning("the credential vault is unavailable: %s", exc)
        return
    if ring.current_id == DEVELOPMENT_KEY_ID and not app.config.get("VAULT_KEYS") and not app.testing:
        log.info(
            "the credential vault uses a development key derived from SECRET_KEY; set VAULT_KEYS for real use")
