"""Training videos: a VIDEO_LICENCE product bought through billing (the invoice paid by staff's record_payment) gets
its licence from a fake SpotPlayer on loopback once, after the commit; a retried job or a second payment never
issues another; a temporary failure is retried, a refusal shown to staff who retry it; the buyer sees the key and
the player link, another customer gets 404, and the key is stored sealed."""
import logging
import re

import pytest
import sqlalchemy as sa

from helpdesk.accounts import members
from helpdesk.accounts.memberships import default_account_id
from helpdesk.billing import catalogue, customers, payments
from helpdesk.billing.models import Service
from helpdesk.devices import video_tasks, videos
from helpdesk.devices.video_models import FAILED, ISSUED, PENDING, VideoLicence
from helpdesk.extensions import db
from tests.conftest import log_in
from tests.fakes.spotplayer_api import API_KEY, FakeSpotPlayer
from tests.integration.billing_shop import billing_app, order


@pytest.fixture(scope="module")
def spot():
    fake = FakeSpotPlayer().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, smtp, spot):
    spot.licences.clear(), spot.requests.clear(), spot.failures.clear()
    yield from billing_app(app_factory, VIDEO_LICENCE_PROVIDER="spotplayer", SPOTPLAYER_API_KEY=API_KEY,
                           SPOTPLAYER_API_BASE=spot.url, VIDEO_LICENCE_MAX_ATTEMPTS=3)


@pytest.fixture
def shop(app, make_user):
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    buyer = make_user("customer", email="bahar@example.test", full_name="Bahar Buyer")
    group = catalogue.create_group(admin, code="training", texts={"en": {"name": "Training"}})
    course = catalogue.create_product(admin, group=group, code="x200-course", kind="video_licence",
                                      texts={"en": {"name": "X200 operator course"}, "fa": {"name": "دوره X200"}})
    catalogue.set_price(admin, course, cycle="one_off", currency="IRR", amount=25_000_000)
    videos.set_courses(admin, course.id, ["5f3a1c", " 5f3a1d", "5f3a1c"])
    account = customers.open_account(buyer, buyer)
    customers.update_details(buyer, account, name="Bahar Buyer", country="IR", currency="IRR")
    return admin, buyer, account, course


def buy(shop, reference):
    admin, buyer, account, course = shop
    _placed, invoice = order(buyer, account, course, cycle="one_off", currency="IRR")
    payments.record_payment(admin, invoice=invoice, amount=invoice.total, currency="IRR", source="manual",
                            external_id=reference)
    return db.session.scalars(sa.select(VideoLicence).order_by(VideoLicence.id.desc())).first()


def test_a_paid_course_is_licensed_once_and_only_its_buyer_sees_the_key(app, shop, spot, client, make_user):
    admin, buyer, _account, course = shop
    assert videos.courses_of(course.id) == ["5f3a1c", "5f3a1d"]
    licence = buy(shop, "bank-ref-1")
    assert licence.status == ISSUED and len(spot.licences) == 1
    issued = spot.licences[0]
    assert issued["course"] == ["5f3a1c", "5f3a1d"] and issued["name"] == "Bahar Buyer" and not issued["test"]
    assert spot.requests[0]["key"] == API_KEY
    assert licence.licence_id == issued["_id"] and licence.url == issued["url"]
    assert issued["key"] not in licence.key_sealed and videos.licence_key(licence) == issued["key"]

    # The job again, the fulfiller again, the same payment again: still one licence.
    assert video_tasks.issue_licence(licence.id) == "skipped"
    video_tasks.fulfil(admin, [db.session.get(Service, licence.service_id)], None, None)
    db.session.commit()
    assert len(spot.licences) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VideoLicence)) == 1

    stranger = make_user("customer", email="sina@example.test")
    bookkeeper = make_user("customer", email="bita@example.test")
    members.add_member(admin, licence.account_id, email=bookkeeper.email, permissions=["billing"])
    db.session.commit()
    log_in(client, buyer.email)
    listing = client.get("/videos/").get_data(as_text=True)
    assert "X200 operator course" in listing
    page = client.get(f"/videos/{licence.id}").get_data(as_text=True)
    assert issued["key"] in page and issued["url"] in page

    other = app.test_client()
    log_in(other, stranger.email)
    assert other.get(f"/videos/{licence.id}").status_code == 404
    assert issued["key"] not in other.get("/videos/").get_data(as_text=True)
    assert default_account_id(stranger) != licence.account_id

    # A member of the buyer's account without the services permission: not allowed.
    member = app.test_client()
    log_in(member, bookkeeper.email)
    with member.session_transaction() as browser:
        browser["acting_account"] = licence.account_id  # what the header's account switcher stores
    assert member.get(f"/videos/{licence.id}").status_code == 403
    assert member.get("/videos/").status_code == 403


def test_a_temporary_failure_is_retried_and_a_refusal_waits_for_staff(app, shop, spot, caplog):
    caplog.set_level(logging.DEBUG)
    admin, _buyer, _account, _course = shop
    spot.failures.append(503)
    licence = buy(shop, "bank-ref-2")
    assert licence.status == PENDING and licence.attempts == 1 and "HTTP 503" in licence.last_error
    assert spot.licences == []
    # The job stayed pending (it raised); the sweep runs it again.
    assert video_tasks.issue_licence(licence.id) == "issued"
    assert len(spot.licences) == 1

    app.config["SPOTPLAYER_API_KEY"] = "not-the-key-9911"
    try:
        refused = buy(shop, "bank-ref-3")
    finally:
        app.config["SPOTPLAYER_API_KEY"] = API_KEY
    assert refused.status == FAILED and "HTTP 403" in refused.last_error
    assert "not-the-key-9911" not in refused.last_error
    assert all("not-the-key-9911" not in r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert [row.id for row in videos.unissued_licences(admin)] == [refused.id]

    videos.retry_licence(admin, refused.id)
    assert db.session.get(VideoLicence, refused.id).status == ISSUED and len(spot.licences) == 2
    assert videos.unissued_licences(admin) == []

    # Paid while no provider was configured: it waits, and staff have it issued once one is.
    app.config["VIDEO_LICENCE_PROVIDER"] = ""
    try:
        waiting = buy(shop, "bank-ref-4")
    finally:
        app.config["VIDEO_LICENCE_PROVIDER"] = "spotplayer"
    assert waiting.status == PENDING and len(spot.licences) == 2
    videos.retry_licence(admin, waiting.id)
    videos.retry_licence(admin, waiting.id)  # pressed twice: still one licence
    assert db.session.get(VideoLicence, waiting.id).status == ISSUED and len(spot.licences) == 3


def test_staff_set_courses_and_retry_in_the_console(app, shop, spot, client):
    admin, _buyer, _account, course = shop
    db.session.commit()
    log_in(client, admin.email)
    page = client.get("/agent/crm/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "X200 operator course" in text and "5f3a1c, 5f3a1d" in text
    token = re.search(rf'name="p{course.id}-csrf_token"[^>]*value="([^"]+)"', text).group(1)
    bad = client.post(f"/agent/crm/videos/{course.id}/courses",
                      data={f"p{course.id}-csrf_token": token, f"p{course.id}-course_ids": "no spaces!"})
    assert bad.status_code == 400 and "letters and digits" in bad.get_data(as_text=True)
    client.post(f"/agent/crm/videos/{course.id}/courses",
                data={f"p{course.id}-csrf_token": token, f"p{course.id}-course_ids": "5f3a1d"})
    db.session.rollback()  # the page's change committed in the request: read it afresh
    assert videos.courses_of(course.id) == ["5f3a1d"]
