"""Webhooks as a receiver sees them (a real HTTP receiver on loopback): events reach the endpoints that subscribed,
signed as Standard Webhooks; a failing receiver gets retries; a receiver that comes back gets every event once, in
order per ticket; an endpoint that keeps failing is disabled and its owner told; redelivery; a ticket opened by
mail is announced too; an account's endpoint hears only that account's events."""
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from standardwebhooks.webhooks import Webhook

from helpdesk.accounts.memberships import default_account_id
from helpdesk.db import utcnow
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.tickets import service as tickets
from helpdesk.webhooks import delivery, service, tasks
from helpdesk.webhooks.models import DELIVERED, FAILED, GIVEN_UP, PENDING, WebhookDelivery, WebhookEndpoint
from tests.fakes.webhook_receiver import WebhookReceiver

ALL = ["ticket.created", "ticket.updated", "ticket.closed", "message.added"]


@pytest.fixture
def app(app_factory, smtp):
    # The receiver listens on loopback, which endpoints may reach only with this setting.
    app = app_factory(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=True)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


@pytest.fixture
def desk_endpoint(admin, receiver):
    endpoint, secret = service.create_endpoint(admin, url=receiver.url, events=ALL, description="Monitoring")
    return endpoint, secret


def open_ticket(customer, subject="Printer on fire"):
    return tickets.open_ticket(customer, subject=subject, body_text="Please help.")


def rows(endpoint_id=None):
    db.session.expire_all()
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(db.session.scalars(query))


def later(**delta):
    return time_machine.travel(utcnow() + timedelta(**delta), tick=False)


def test_an_event_arrives_signed_as_standard_webhooks(desk_endpoint, receiver, customer):
    endpoint, secret = desk_endpoint
    ticket = open_ticket(customer)

    assert receiver.kinds() == ["ticket.created", "message.added"]
    request = receiver.received[0]
    payload = Webhook(secret).verify(request.body, request.headers)  # raises when the signature is wrong
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["number"] == ticket.number
    assert payload["data"]["ticket"]["subject"] == "Printer on fire"
    assert set(payload) == {"type", "timestamp", "data"}
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "helpdesk-webhooks"
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(Exception):
        Webhook(service.new_secret()).verify(request.body, request.headers)
    log = service.deliveries(endpoint.created_by, endpoint.id)
    assert [row.status for row in log] == [DELIVERED, DELIVERED]
    assert log[-1].last_status_code == 200 and log[-1].last_response == '{"ok": true}'


def test_a_rolled_back_change_sends_nothing(desk_endpoint, receiver, customer):
    from helpdesk.db import Batch

    with pytest.raises(RuntimeError), Batch(db.session):
        tickets.open_ticket(customer, subject="Never mind", body_text="x")
        raise RuntimeError("the caller gives up")
    assert receiver.received == [] and rows() == []


def test_a_failing_receiver_gets_retries_until_it_answers(desk_endpoint, receiver, customer, app):
    from helpdesk import scheduler

    assert "webhooks.sweep" in [job.name for job in scheduler.registered_jobs(app.config)]  # runs every minute
    endpoint, _secret = desk_endpoint
    receiver.fail(2, status=503)
    open_ticket(customer)
    first = rows(endpoint.id)[0]
    assert first.status == FAILED and first.attempts == 1 and first.last_status_code == 503
    assert '"try later"' in first.last_response
    assert rows(endpoint.id)[1].status == PENDING and rows(endpoint.id)[1].attempts == 0  # waits behind it

    tasks.sweep_task()  # not due yet
    assert rows(endpoint.id)[0].attempts == 1
    with later(seconds=10):
        tasks.sweep_task()
        assert rows(endpoint.id)[0].attempts == 2 and rows(endpoint.id)[0].status == FAILED
    with later(minutes=10):
        tasks.sweep_task()
    assert [r.status for r in rows(endpoint.id)] == [DELIVERED, DELIVERED]
    assert rows(endpoint.id)[0].attempts == 3
    assert receiver.kinds() == ["ticket.created", "message.added"]


def test_client_errors_are_retried_and_retry_after_is_honoured(desk_endpoint, receiver, customer):
    endpoint, _secret = desk_endpoint
    receiver.fail(1, status=429, retry_after=600)
    open_ticket(customer)
    first = rows(endpoint.id)[0]
    assert first.status == FAILED and first.last_status_code == 429
    assert first.next_attempt_at - utcnow() > timedelta(minutes=9)
    with later(minutes=5):
        tasks.sweep_task()
        assert rows(endpoint.id)[0].status == FAILED  # asked for ten minutes
    with later(minutes=11):
        tasks.sweep_task()
    assert rows(endpoint.id)[0].status == DELIVERED


def test_a_receiver_that_comes_back_gets_every_event_once_in_order_per_ticket(desk_endpoint, receiver, customer,
                                                                             agent):
    endpoint, _secret = desk_endpoint
    receiver.down = True
    first = open_ticket(customer, "First")
    second = open_ticket(customer, "Second")
    tickets.add_customer_message(customer, first, body_text="More details.")
    tickets.close(customer, first)
    tickets.add_customer_message(customer, second, body_text="Still broken.")
    assert receiver.received == []
    assert receiver.refused == 2  # only the first event of each ticket was tried; the rest wait behind it

    receiver.down = False
    for minutes in (1, 10, 60):
        with later(minutes=minutes):
            tasks.sweep_task()
    by_ticket = {}
    for item in receiver.received:
        body = item.json
        by_ticket.setdefault(body["data"]["ticket"]["number"], []).append(body["type"])
    assert by_ticket == {first.number: ["ticket.created", "message.added", "message.added", "ticket.closed"],
                         second.number: ["ticket.created", "message.added", "message.added"]}
    ids = [item.headers["webhook-id"] for item in receiver.received]
    assert len(ids) == len(set(ids)) == 7  # once each
    assert {r.status for r in rows(endpoint.id)} == {DELIVERED}


def test_an_endpoint_failing_for_a_day_is_given_up_disabled_and_its_owner_told(desk_endpoint, receiver, customer,
                                                                              admin, smtp):
    endpoint, _secret = desk_endpoint
    receiver.down = True
    open_ticket(customer)
    start = utcnow()
    for hours in range(1, 40):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            tasks.sweep_task()
    first = rows(endpoint.id)[0]
    assert first.status == GIVEN_UP and first.attempts == delivery.MAX_ATTEMPTS
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.enabled is False and endpoint.disabled_reason == "failing"
    assert "day" in str(endpoint.disabled_reason_label)
    mail = smtp.wait_for(1)
    notice = smtp.to("ada@example.test")
    assert notice and "Webhook endpoint disabled" in str(notice[0]["Subject"]), mail
    body = notice[0].get_body(("plain",)).get_content()
    assert receiver.url in body and f"/agent/admin/webhooks/{endpoint.id}" in body

    # Nothing new reaches a disabled endpoint; enabling it sends what waited, in order.
    open_ticket(customer, "While it was off")
    receiver.down = False
    service.update_endpoint(admin, endpoint.id, enabled=True)
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.enabled and endpoint.disabled_reason is None and endpoint.failing_since is None
    assert receiver.kinds() == ["message.added"]  # the first was given up; its second event waited


def test_redelivery_sends_the_same_event_again(desk_endpoint, receiver, customer, admin):
    endpoint, secret = desk_endpoint
    open_ticket(customer)
    original = rows(endpoint.id)[0]
    again = service.redeliver(admin, original.id)
    assert again.id != original.id and again.event_id == original.event_id
    assert len(receiver.received) == 3
    repeat = receiver.received[-1]
    assert repeat.headers["webhook-id"] == original.event_id
    assert Webhook(secret).verify(repeat.body, repeat.headers)["type"] == "ticket.created"
    assert rows(endpoint.id)[-1].status == DELIVERED


def test_a_test_event_reaches_the_endpoint(desk_endpoint, receiver, admin):
    endpoint, secret = desk_endpoint
    sent = service.send_test(admin, endpoint.id)
    assert receiver.kinds() == ["webhook.test"]
    assert Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert rows(endpoint.id)[0].id == sent.id and rows(endpoint.id)[0].status == DELIVERED


def test_a_rotated_secret_signs_from_then_on(desk_endpoint, receiver, admin):
    endpoint, old = desk_endpoint
    new = service.rotate_secret(admin, endpoint.id)
    assert new != old and new.startswith("whsec_")
    service.send_test(admin, endpoint.id)
    request = receiver.received[0]
    assert Webhook(new).verify(request.body, request.headers)
    with pytest.raises(Exception):
        Webhook(old).verify(request.body, request.headers)


def test_a_ticket_opened_by_mail_is_announced(desk_endpoint, receiver, department):
    raw = (b"From: Mo Mailer <mo@customer.test>\r\nTo: support@example.test\r\nSubject: By mail\r\n"
           b"Message-ID: <bymail.1@customer.test>\r\nDate: Mon, 2 Mar 2026 10:15:00 +0100\r\n\r\nHello there.\r\n")
    list(pipeline.ingest([pipeline.Fetched("imap:support", raw, label="1")]))
    assert receiver.kinds()[:2] == ["ticket.created", "message.added"]
    assert receiver.received[0].json["data"]["ticket"]["subject"] == "By mail"


def test_an_account_endpoint_hears_only_its_accounts_events(receiver, make_user):
    alice, bob = make_user("customer", email="alice@a.test"), make_user("customer", email="bob@b.test")
    endpoint, _secret = service.create_endpoint(alice, url=receiver.url, events=ALL,
                                                account_id=default_account_id(alice))
    open_ticket(bob, "Bob's")
    assert receiver.received == []
    mine = open_ticket(alice, "Alice's")
    assert receiver.kinds() == ["ticket.created", "message.added"]
    assert {item.json["data"]["ticket"]["number"] for item in receiver.received} == {mine.number}
    assert all(r.endpoint_id == endpoint.id for r in rows())


def test_internal_notes_reach_desk_wide_endpoints_only(desk_endpoint, receiver, customer, agent):
    other = WebhookReceiver().start()
    try:
        service.create_endpoint(customer, url=other.url, events=["message.added"],
                                account_id=default_account_id(customer))
        ticket = open_ticket(customer)
        tickets.add_internal_note(agent, ticket, body_text="Customer is on the old plan.")
        notes = [json.loads(item.body)["data"]["message"]["kind"] for item in receiver.received
                 if item.json["type"] == "message.added"]
        assert notes == ["customer", "internal_note"]
        assert [item.json["data"]["message"]["kind"] for item in other.received] == ["customer"]
    finally:
        other.stop()


def test_unsubscribed_kinds_are_not_sent(admin, receiver, customer, agent):
    service.create_endpoint(admin, url=receiver.url, events=["ticket.closed"])
    ticket = open_ticket(customer)
    tickets.change_priority(agent, ticket, "high")
    tickets.close(agent, ticket)
    assert receiver.kinds() == ["ticket.closed"]


def test_redirects_are_not_followed(desk_endpoint, receiver, admin):
    endpoint, _secret = desk_endpoint
    elsewhere = WebhookReceiver().start()
    try:
        receiver.fail(1, status=307, location=elsewhere.url)
        service.send_test(admin, endpoint.id)
        row = rows(endpoint.id)[0]
        assert row.status == FAILED and row.last_status_code == 307
        assert elsewhere.attempts == 0 and elsewhere.received == []
    finally:
        elsewhere.stop()


def test_only_the_start_of_a_long_answer_is_kept(desk_endpoint, receiver, admin):
    endpoint, _secret = desk_endpoint
    receiver.answer = b"x" * 100_000
    service.send_test(admin, endpoint.id)
    row = rows(endpoint.id)[0]
    assert row.status == DELIVERED and row.last_response == "x" * delivery.RESPONSE_EXCERPT


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(desk_endpoint, receiver, admin, app, monkeypatch):
    endpoint, _secret = desk_endpoint
    monkeypatch.setitem(app.config, "WEBHOOKS_TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.5
    service.send_test(admin, endpoint.id)
    row = rows(endpoint.id)[0]
    assert row.status == FAILED and row.last_error == "timeout" and row.last_status_code is None


def test_billing_events_reach_the_accounts_endpoint(app_factory, receiver):
    from helpdesk.actors import SYSTEM
    from helpdesk.billing import payments
    from helpdesk.billing import services as billing_services
    from tests.integration.billing_shop import SETTINGS, build_shop, order

    app = app_factory(**SETTINGS, WEBHOOKS_ALLOW_PRIVATE_NETWORKS=True)
    with app.app_context():
        shop = build_shop()
        kinds = ["invoice.finalised", "payment.recorded", "service.status_changed"]
        service.create_endpoint(shop.carla, url=receiver.url, events=kinds,
                                account_id=shop.carla_account.customer_account_id)
        other = WebhookReceiver().start()
        try:
            service.create_endpoint(shop.bora, url=other.url, events=kinds,
                                    account_id=shop.bora_account.customer_account_id)
            placed, invoice = order(shop.carla, shop.carla_account, shop.web, identifier="carla.example")
            payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                                    external_id="M-1")
            bodies = {item.json["type"]: item.json["data"] for item in receiver.received}
            assert sorted(bodies) == sorted(kinds)
            db.session.refresh(invoice)
            assert bodies["invoice.finalised"]["invoice"]["number"] == invoice.number
            assert bodies["invoice.finalised"]["invoice"]["total"] == {"amount": invoice.total, "currency": "EUR"}
            assert bodies["payment.recorded"]["payment"]["amount"] == {"amount": invoice.total, "currency": "EUR"}
            assert bodies["service.status_changed"]["service"] == {
                "id": placed.services[0].id, "status": "active", "previous_status": "pending"}
            billing_services.change_status(shop.admin, placed.services[0], "suspend", reason="abuse")
            assert receiver.received[-1].json["data"]["service"]["status"] == "suspended"
            assert other.received == []  # Bora's account heard nothing of Carla's
        finally:
            other.stop()
        db.session.remove()


def test_a_device_status_change_reaches_the_accounts_endpoint(receiver, make_user):
    from datetime import timedelta as days

    from helpdesk.devices import registry
    from tests.integration.devices_shop import build

    shop = build(make_user)
    service.create_endpoint(shop.sara, url=receiver.url, events=["device.status_changed"], account_id=shop.account.id)
    device = shop.device
    registry.update_device(shop.admin, device.id, device_type=device.device_type_id,
                           serial_number=device.serial_number, installed_on=device.installed_on,
                           warranty_ends_on=device.warranty_ends_on,
                           service_ends_on=shop.today - days(days=1))
    assert receiver.kinds() == ["device.status_changed"]
    data = receiver.received[0].json["data"]["device"]
    assert data["id"] == device.id and data["previous_status"] == "expiring" and data["status"] != "expiring"
