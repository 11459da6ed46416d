"""Signatures as Standard Webhooks (https://www.standardwebhooks.com/) writes them: the headers webhook-id,
webhook-timestamp and webhook-signature "v1,<base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">", keyed with the
base64-decoded part of the "whsec_..." secret. Receivers check them with any Standard Webhooks library."""
import base64
import hashlib
import hmac

PREFIX = "whsec_"  # every secret starts so


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The value of the webhook-signature header for ``body`` sent as ``message_id`` at ``timestamp``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict:
    """Every header of a delivery."""
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body),
            "Content-Type": "application/json", "User-Agent": "helpdesk-webhooks"}
