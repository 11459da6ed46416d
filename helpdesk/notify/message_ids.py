"""Message-IDs the helpdesk gives the mail it sends and the messages it stores (replies thread to them)."""
import uuid

from flask import current_app


def new_message_id(hint: str = "") -> str:
    domain = current_app.config["MAIL_MESSAGE_ID_DOMAIN"]
    prefix = f"{hint}." if hint else ""
    return f"<hd.{prefix}{uuid.uuid4().hex}@{domain}>"
