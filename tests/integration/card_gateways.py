"""Shared by the card gateway tests: the app served over real HTTP on loopback (so the providers' fakes can call it,
several requests at once), customers who can log in, and counts of what was recorded."""
import sqlalchemy as sa

from helpdesk.audit.models import AuditEvent
from helpdesk.billing import customers
from helpdesk.billing.models import Payment
from helpdesk.extensions import db, limiter
from tests.fakes.loopback import LoopbackServer
from tests.integration.billing_shop import person

PASSWORD = "correct horse battery"


def serve(app) -> LoopbackServer:
    """``app`` on 127.0.0.1 at a free port, each request in its own thread, app context and session."""
    limiter.reset()
    return LoopbackServer(app).start()


def customer_who_logs_in(email, **details):
    """A customer with a password and a billing account (the shop's own customers have no password)."""
    user = person("customer", email, password=PASSWORD)
    account = customers.open_account(user, user)
    if details:
        customers.update_details(user, account, **details)
    return user, account


def fresh():
    """End the test's transaction: what the app's requests wrote since is seen (SQLite keeps a reader's snapshot)."""
    db.session.commit()
    db.session.expire_all()


def payments() -> list[Payment]:
    fresh()
    return db.session.scalars(sa.select(Payment).order_by(Payment.id)).all()


def activations() -> int:
    """How many times a service was activated (the audit trail keeps each)."""
    fresh()
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.entity == "billing-service", AuditEvent.action == "activated"))
