"""The billing shop of billing_shop.py, with passwords so its people log in through the login form, and helpers for
driving the billing pages with the test client."""
import re
from html import unescape

import sqlalchemy as sa

from helpdesk.accounts.service import hash_password
from helpdesk.billing import access, customers
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in
from tests.integration.billing_shop import build_shop, person

PASSWORD = "correct horse battery"
BOOKING_TIME = {"en": "Transfers are booked by hand within 4–8 hours on working days.",
                "hu": "Az átutalásokat munkanapokon 4–8 órán belül könyveljük."}


def web_shop():
    """build_shop's people and catalogue; everyone may log in; Reza (Persian, rials) has a billing account too;
    Bilge is an agent with the billing permission, Alex a plain agent."""
    shop = build_shop()
    shop.reza = person("customer", "reza@example.test", locale="fa")
    shop.bilge = person("agent", "bilge@example.test")
    access.grant_billing(shop.admin, shop.bilge)
    shop.reza_account = customers.open_account(shop.reza, shop.reza)
    customers.update_details(shop.reza, shop.reza_account, name="رضا محمدی", country="IR", currency="IRR")
    hashed = hash_password(PASSWORD)
    for user in (shop.admin, shop.admin2, shop.agent, shop.carla, shop.bora, shop.reza, shop.bilge):
        user.password_hash = hashed
    db.session.commit()
    return shop


def login(client, user):
    """Log ``user`` in through the form (whoever was logged in before is logged out first)."""
    if "/logout" in client.get("/").text:
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})
    log_in(client, user.email, PASSWORD)


def token(client, path):
    return csrf_token(client.get(path).text)


def post(client, path, data=None, page=None, **kwargs):
    """POST ``data`` to ``path`` with the CSRF token of ``page`` (``path`` by default)."""
    return client.post(path, data={"csrf_token": token(client, page or path), **(data or {})}, **kwargs)


def settled():
    """End the test's own read transaction: what the requests committed is seen, and a service called from the
    test may write (SQLite refuses a write from a snapshot older than another connection's commit)."""
    db.session.rollback()


def fresh(model, row_id):
    """A row as last committed (the requests committed in their own sessions)."""
    db.session.rollback()
    return db.session.get(model, row_id)


def latest(model):
    db.session.rollback()
    return db.session.scalars(sa.select(model).order_by(model.id.desc()).limit(1)).first()


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def text_of(page: str) -> str:
    """The page's text without tags, entities undone and spaces collapsed: what a reader sees."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
