"""Sealing vault values with AES-GCM. A sealed value names the key it was sealed with and carries its nonce:
``v1:<key id>:<nonce>:<ciphertext and tag>`` (base64url). The caller passes the value's place (table, row,
account, field) as associated data, so a sealed value copied to another row or field does not open.
Nothing here reads configuration or the database; errors never carry a value, only key ids."""
import base64
import binascii
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "v1"
NONCE_BYTES = 12  # 96 bits, fresh for every seal
KEY_BYTES = 32  # AES-256
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
DEVELOPMENT_KEY_ID = "dev"
_DEVELOPMENT_INFO = b"helpdesk credential vault development key"


class VaultKeyError(Exception):
    """The configured keys cannot be used (the message names the key id, never a key)."""


class UnknownKey(VaultKeyError):
    """A sealed value names a key id that is not configured (removed from VAULT_KEYS too early)."""

    def __init__(self, key_id):
        self.key_id = key_id
        super().__init__(f"the vault key {key_id!r} is not configured (VAULT_KEYS)")


class CannotOpen(Exception):
    """A sealed value did not open: altered, copied from another place, or sealed with another key of that id."""

    def __init__(self, key_id=None):
        self.key_id = key_id
        super().__init__("the sealed value does not open with its key in this place")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_key(key_id: str, text) -> bytes:
    """A configured key: base64 (standard or url-safe) of 32 bytes."""
    if not isinstance(key_id, str) or not KEY_ID.match(key_id):
        raise VaultKeyError(f"vault key id {key_id!r}: use 1-40 letters, digits, '.', '_' or '-'")
    try:
        raw = base64.b64decode(str(text).replace("-", "+").replace("_", "/") + "=" * (-len(str(text)) % 4),
                               validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise VaultKeyError(f"vault key {key_id!r} is not the base64 of {KEY_BYTES} bytes")
    return raw


def development_key(secret_key: str) -> bytes:
    """The key used when VAULT_KEYS is empty outside production: derived from SECRET_KEY (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=_DEVELOPMENT_INFO).derive(secret_key.encode("utf-8"))


class Keyring:
    """The configured keys in order, the first the current one (new values are sealed with it); any of them
    opens the values that name it."""

    def __init__(self, keys: Mapping[str, bytes]):
        if not keys:
            raise VaultKeyError("no vault key is configured (VAULT_KEYS)")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_id = next(iter(keys))
        self.key_ids = tuple(keys)

    @classmethod
    def from_setting(cls, setting: Mapping[str, str]) -> "Keyring":
        """From VAULT_KEYS: key id → base64 of a 32-byte key, the current key first."""
        if not isinstance(setting, Mapping):
            raise VaultKeyError("VAULT_KEYS must map key ids to keys, e.g. {\"2026-12\": \"<base64>\"}")
        return cls({key_id: decode_key(key_id, text) for key_id, text in setting.items()})

    def seal(self, plaintext: str, associated_data: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current_id].encrypt(nonce, plaintext.encode("utf-8"), associated_data)
        return f"{FORMAT}:{self.current_id}:{_b64encode(nonce)}:{_b64encode(sealed)}"

    def open(self, token: str, associated_data: bytes) -> str:
        key_id, nonce, sealed = _parts(token)
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise UnknownKey(key_id)
        try:
            return cipher.decrypt(nonce, sealed, associated_data).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise CannotOpen(key_id) from None

    def is_current(self, token: str) -> bool:
        return key_id_of(token) == self.current_id


def _parts(token: str):
    try:
        form, key_id, nonce, sealed = token.split(":")
        if form != FORMAT:
            raise ValueError(form)
        nonce, sealed = _b64decode(nonce), _b64decode(sealed)
    except (AttributeError, ValueError, binascii.Error):
        raise CannotOpen() from None
    if len(nonce) != NONCE_BYTES:
        raise CannotOpen(key_id)
    return key_id, nonce, sealed


def key_id_of(token: str) -> str | None:
    """The id of the key ``token`` was sealed with (None for something that is no sealed value)."""
    parts = token.split(":") if isinstance(token, str) else []
    return parts[1] if len(parts) == 4 and parts[0] == FORMAT else None
