"""A customer's notification addresses are theirs alone: another customer neither sees them nor removes,
re-sends or confirms them; visitors must log in; every change needs the form's CSRF token."""
import re

import sqlalchemy as sa

from helpdesk.accounts.models import ContactAddress
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in

PAGE = "/profile/notification-addresses"


def add(client, email, purpose="support"):
    page = client.get(PAGE).text
    return client.post(PAGE, data={"csrf_token": csrf_token(page), "purpose": purpose, "email": email},
                       follow_redirects=True)


def link_for(smtp, email):
    [mail] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == email]
    return re.search(r"http://helpdesk\.example\.test(/profile/notification-addresses/\S+)",
                     mail.get_body(("plain",)).get_content()).group(1)


def address(email):
    db.session.rollback()  # a fresh snapshot: the requests committed in their own sessions
    return db.session.scalar(sa.select(ContactAddress).where(ContactAddress.email == email))


def carla_and_dora(app, make_user, customer, smtp):
    """Carla with an unconfirmed support address, and Dora logged in in her own browser (``client`` made each
    request its own app context, as real requests are)."""
    carla = app.test_client()
    log_in(carla, "carla@example.test")
    add(carla, "ops@carla-corp.test")
    make_user("customer", email="dora@example.test", full_name="Dora Other")
    dora = app.test_client()
    log_in(dora, "dora@example.test")
    return carla, dora


def test_another_customer_does_not_see_your_addresses(app, client, make_user, customer, smtp):
    carla, dora = carla_and_dora(app, make_user, customer, smtp)

    assert "ops@carla-corp.test" in carla.get(PAGE).text
    assert "ops@carla-corp.test" not in dora.get(PAGE).text


def test_another_customer_cannot_remove_or_resend_your_address(app, client, make_user, customer, smtp):
    _carla, dora = carla_and_dora(app, make_user, customer, smtp)
    ops = address("ops@carla-corp.test")
    token = csrf_token(dora.get(PAGE).text)
    smtp.clear()

    assert dora.post(f"{PAGE}/{ops.id}/remove", data={"csrf_token": token}).status_code == 404
    assert dora.post(f"{PAGE}/{ops.id}/resend", data={"csrf_token": token}).status_code == 404

    assert address("ops@carla-corp.test") is not None
    assert smtp.messages == []


def test_another_customers_link_does_not_confirm_your_address(app, client, make_user, customer, smtp):
    _carla, dora = carla_and_dora(app, make_user, customer, smtp)
    add(dora, "dora-ops@dora-corp.test")
    ops = address("ops@carla-corp.test")
    dora_link = link_for(smtp, "dora-ops@dora-corp.test")
    token = dora_link.rsplit("/", 1)[1]

    # Dora's token on Carla's address: the page says the link expired, and the button does nothing either.
    forged = f"{PAGE}/{ops.id}/confirm/{token}"
    assert dora.get(forged).status_code == 410
    assert dora.post(forged, data={"csrf_token": csrf_token(dora.get(PAGE).text)}).status_code == 410
    assert address("ops@carla-corp.test").confirmed_at is None
    # Dora's own link still confirms her own address only.
    page = dora.get(dora_link).text
    assert dora.post(dora_link, data={"csrf_token": csrf_token(page)}).status_code == 200
    assert address("dora-ops@dora-corp.test").confirmed_at is not None
    assert address("ops@carla-corp.test").confirmed_at is None


def test_visitors_are_sent_to_log_in_and_changes_need_the_csrf_token(app, client, customer, smtp):
    assert client.get(PAGE).status_code == 302
    assert client.post(PAGE, data={"purpose": "support", "email": "ops@carla-corp.test"}).status_code == 400

    log_in(client, "carla@example.test")
    response = client.post(PAGE, data={"purpose": "support", "email": "ops@carla-corp.test"})
    assert response.status_code == 400
    add(client, "ops@carla-corp.test")
    ops = address("ops@carla-corp.test")
    assert client.post(f"{PAGE}/{ops.id}/remove", data={}, follow_redirects=True).status_code == 400
    assert address("ops@carla-corp.test") is not None
    confirm = link_for(smtp, "ops@carla-corp.test")
    assert app.test_client().post(confirm, data={}).status_code == 400
    assert address("ops@carla-corp.test").confirmed_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactAddress)) == 1
