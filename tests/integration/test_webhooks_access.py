"""Who may manage which webhook endpoints, and where webhooks may not be sent (SSRF). Customer A never sees or
changes B's endpoints (NotFound, as if they did not exist); a member who does not own the account may not
(NotAllowed); customers and agents cannot register desk-wide endpoints nor allow private addresses; the secret never
reaches the audit trail or the log. Without WEBHOOKS_ALLOW_PRIVATE_NETWORKS, loopback, private, link-local,
unique-local, mapped and unspecified addresses are refused at registration and again at every send."""
import logging

import pytest
import sqlalchemy as sa

from helpdesk.accounts import members
from helpdesk.accounts.memberships import default_account_id
from helpdesk.audit.models import AuditEvent
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.webhooks import addresses, delivery, service
from helpdesk.webhooks.models import FAILED, WebhookDelivery
from tests.fakes.webhook_receiver import WebhookReceiver

PUBLIC = "https://hooks.example.com/in"  # never called: these tests only register and read
EVENTS = ["ticket.created"]


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test")


@pytest.fixture
def alice(make_user):
    return make_user("customer", email="alice@a.test")


@pytest.fixture
def bob(make_user):
    return make_user("customer", email="bob@b.test")


class NoNetwork:
    """The sender for tests whose receiver would be on the internet: it records and answers 204, sending nothing."""

    def __init__(self):
        self.sent = []

    def send(self, target, body, headers, timeout):
        self.sent.append((target, body, headers))
        return delivery.Answer(status_code=204)


@pytest.fixture
def public_address(monkeypatch):
    """hooks.example.com resolves to a public address (no DNS in the tests), and nothing is sent there."""
    real = addresses.resolve
    monkeypatch.setattr(addresses, "resolve",
                        lambda host, port: ["93.184.215.14"] if host == "hooks.example.com" else real(host, port))
    sender = NoNetwork()
    monkeypatch.setattr(delivery, "current_sender", lambda: sender)
    return sender


@pytest.fixture
def bobs_endpoint(bob, public_address):
    endpoint, _secret = service.create_endpoint(bob, url=PUBLIC, events=EVENTS, account_id=default_account_id(bob))
    return endpoint


OPERATIONS = {
    "read": lambda actor, e: service.get_endpoint(actor, e.id),
    "change": lambda actor, e: service.update_endpoint(actor, e.id, description="mine now"),
    "delete": lambda actor, e: service.delete_endpoint(actor, e.id),
    "rotate": lambda actor, e: service.rotate_secret(actor, e.id),
    "test": lambda actor, e: service.send_test(actor, e.id),
    "log": lambda actor, e: service.deliveries(actor, e.id),
    "list": lambda actor, e: service.endpoints_for(actor, e.account_id),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_another_customer_cannot_see_or_touch_an_accounts_endpoint(operation, alice, bobs_endpoint):
    with pytest.raises(NotFound):
        OPERATIONS[operation](alice, bobs_endpoint)
    db.session.rollback()
    assert service.get_endpoint(bobs_endpoint.created_by, bobs_endpoint.id).description == ""


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_member_who_does_not_own_the_account_may_not(operation, alice, bob, bobs_endpoint, admin):
    members.add_member(admin, bobs_endpoint.account_id, email=alice.email, permissions=["tickets", "billing"])
    with pytest.raises(NotAllowed):
        OPERATIONS[operation](alice, bobs_endpoint)


def test_no_one_redelivers_anothers_delivery(alice, bob, bobs_endpoint):
    service.send_test(bob, bobs_endpoint.id)
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    with pytest.raises(NotFound):
        service.redeliver(alice, delivery.id)


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_only_admins_register_desk_wide_endpoints(role, make_user, admin, public_address):
    with pytest.raises(NotAllowed):
        service.create_endpoint(make_user(role), url=PUBLIC, events=EVENTS)
    with pytest.raises(NotAllowed):
        service.endpoints_for(make_user(role))
    endpoint, _secret = service.create_endpoint(admin, url=PUBLIC, events=EVENTS)
    with pytest.raises(NotFound):
        service.get_endpoint(make_user(role), endpoint.id)


def test_only_admins_allow_private_addresses(alice, admin):
    with pytest.raises(ValidationFailed) as refused:
        service.create_endpoint(alice, url="http://10.0.0.5/hook", events=EVENTS, allow_private=True,
                                account_id=default_account_id(alice))
    assert "allow_private" in refused.value.errors
    endpoint, _secret = service.create_endpoint(admin, url="http://10.0.0.5/hook", events=EVENTS, allow_private=True)
    assert endpoint.allow_private is True


def test_bad_fields_are_listed_at_once(admin):
    with pytest.raises(ValidationFailed) as refused:
        service.create_endpoint(admin, url="ftp://files.example.com/", events=["ticket.created", "ticket.eaten"],
                                description="x" * 501)
    assert set(refused.value.errors) == {"url", "events", "description"}


def test_the_secret_is_never_in_the_audit_trail_or_the_log(bob, bobs_endpoint, public_address, caplog):
    caplog.set_level(logging.DEBUG)
    secret = service.rotate_secret(bob, bobs_endpoint.id)
    service.send_test(bob, bobs_endpoint.id)
    (target, _body, headers), = public_address.sent
    assert target.ip == "93.184.215.14" and target.host == "hooks.example.com"
    assert secret not in repr(headers)  # only its signature travels
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "webhook-endpoint")
                              .order_by(AuditEvent.id)).all()
    assert [row.action for row in rows] == ["created", "secret-rotated", "tested"]
    stored = " ".join(repr(row.changes) for row in rows)
    assert "whsec_" not in stored and secret not in caplog.text
    assert secret[6:] not in (bobs_endpoint.secret or "")  # sealed at rest


REFUSED = [
    "http://127.0.0.1/hook", "http://127.1.2.3:8080/", "http://[::1]/hook", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://172.31.255.254/", "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:10.0.0.1]/",
    "http://0.0.0.0/", "http://[::]/", "http://100.64.0.1/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://255.255.255.255/", "http://[64:ff9b::7f00:1]/", "http://localhost:8000/hook", "http://2130706433/",
    "http://0x7f.0.0.1/", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)",
    "http://user:pass@example.com/", "http:///nohost",
]


@pytest.mark.parametrize("url", REFUSED)
def test_unsafe_urls_are_refused_at_registration(url, admin):
    with pytest.raises(ValidationFailed) as refused:
        service.create_endpoint(admin, url=url, events=EVENTS)
    assert set(refused.value.errors) == {"url"}


def test_a_loopback_receiver_is_refused_without_the_setting(admin):
    receiver = WebhookReceiver().start()
    try:
        with pytest.raises(ValidationFailed):
            service.create_endpoint(admin, url=receiver.url, events=EVENTS)
        endpoint, _secret = service.create_endpoint(admin, url=receiver.url, events=EVENTS, allow_private=True)
        service.send_test(admin, endpoint.id)
        assert len(receiver.received) == 1  # allowed for this endpoint by an admin
    finally:
        receiver.stop()


def test_the_address_is_checked_again_at_every_send(admin, monkeypatch):
    """DNS rebinding: the name resolved to a public address when it was registered, to loopback when sent."""
    receiver = WebhookReceiver().start()
    answers = {"hooks.example.com": "93.184.215.14"}
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [answers[host]])
    try:
        url = receiver.url.replace("127.0.0.1", "hooks.example.com")
        endpoint, _secret = service.create_endpoint(admin, url=url, events=EVENTS)
        answers["hooks.example.com"] = "127.0.0.1"
        service.send_test(admin, endpoint.id)
        last = db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()
        assert last.status == FAILED and "refused" in last.last_error
        assert receiver.attempts == 0 and receiver.received == []
    finally:
        receiver.stop()


def test_changing_the_url_checks_it_again(admin, public_address):
    endpoint, _secret = service.create_endpoint(admin, url=PUBLIC, events=EVENTS)
    with pytest.raises(ValidationFailed):
        service.update_endpoint(admin, endpoint.id, url="http://192.168.0.1/")
