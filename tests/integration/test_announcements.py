"""Announcements: staff publish to all customers or to the owners of a device type; the banner shows only to that
audience's logins (and stays closed once dismissed), the email and the SMS (through the fake Kavenegar) reach each
audience account once even when the job runs again; only admins and billing staff publish, agents read,
customers see no console page and cannot dismiss a banner they are not shown."""
from datetime import date

import pytest
import sqlalchemy as sa

from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.accounts.memberships import default_account
from helpdesk.audit.models import AuditEvent
from helpdesk.devices import announcements
from helpdesk.devices.announcement_models import Announcement, AnnouncementDelivery
from helpdesk.devices.models import Device, DeviceType
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in
from tests.fakes.kavenegar_api import API_KEY, FakeKavenegar


@pytest.fixture(scope="module")
def kavenegar():
    fake = FakeKavenegar().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(app_factory, smtp, kavenegar):
    kavenegar.messages.clear(), kavenegar.failures.clear(), kavenegar.by_localid.clear()
    app = app_factory(SMS_PROVIDER="kavenegar", KAVENEGAR_API_KEY=API_KEY, KAVENEGAR_API_BASE=kavenegar.url,
                      ANNOUNCEMENTS_CHUNK=2)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def shop(app, make_user):
    """Two device types; Sara (Persian, phone) owns an X200, Omid owns a Z9 and a third customer owns nothing."""
    x200 = DeviceType(code="acme-x200", brand="Acme", model="X200")
    z9 = DeviceType(code="zeta-z9", brand="Zeta", model="Z9")
    db.session.add_all([x200, z9])
    people = {}
    for name, locale, phone, device_type in (("sara", "fa", "+989121234567", x200),
                                             ("omid", "en", "+989351112233", z9),
                                             ("nadia", "en", "+989191234567", None)):
        user = make_user(email=f"{name}@example.com", full_name=name.title(), locale=locale)
        account = default_account(user)
        db.session.add(AccountIdentity(account_id=account.id, full_name=name.title(), phone=phone))
        if device_type is not None:
            db.session.add(Device(account_id=account.id, device_type=device_type, serial_number=f"SN-{name}"))
        people[name] = user
    admin = make_user("admin", email="boss@example.com")
    db.session.commit()
    return {"x200": x200, "z9": z9, "admin": admin, **people}


def form_page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def switch(client, user):
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    log_in(client, user.email)


def test_owners_of_a_device_type_get_banner_email_and_sms_once(app, client, shop, smtp, kavenegar):
    log_in(client, shop["admin"].email)
    page = form_page(client, "/agent/announcements/new")
    response = client.post("/agent/announcements/new", data={
        "csrf_token": csrf_token(page), "kind": "software_update", "audience": "device_type",
        "device_type_id": str(shop["x200"].id), "channels": ["banner", "email", "sms"],
        "title_en": "Firmware 2.1 for the X200", "text_en": "Update before 1 March.",
        "title_fa": "میان‌افزار ۲٫۱ برای X200", "text_fa": "پیش از اسفند به‌روز کنید."}, follow_redirects=True)
    assert response.status_code == 200
    assert "Firmware 2.1 for the X200" in response.get_data(as_text=True)

    smtp.wait_for(1)
    assert [m["To"] for m in smtp.messages] == ["Sara <sara@example.com>"]
    assert "میان‌افزار ۲٫۱ برای X200" in smtp.messages[0]["Subject"]  # in Sara's language
    assert [m["receptor"] for m in kavenegar.messages] == ["09121234567"]
    assert "پیش از اسفند به‌روز کنید." in kavenegar.messages[0]["message"]
    db.session.rollback()  # a fresh snapshot: the page's request committed in a session of its own
    row = db.session.scalar(sa.select(Announcement))
    assert row.finished_at is not None and row.accounts_told == 1

    # The job again (a second delivery), even from the start: nobody is told twice.
    assert announcements.tell_audience(row.id) == 0
    db.session.execute(sa.update(Announcement).values(finished_at=None, last_account_id=0))
    db.session.commit()
    assert announcements.tell_audience(row.id) == 0
    assert len(smtp.messages) == 1 and len(kavenegar.messages) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AnnouncementDelivery)) == 1
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity == "announcement")).action == "published"

    # The banner: Sara sees it (in Persian), Omid and Nadia do not; Sara dismisses it and it stays closed.
    switch(client, shop["sara"])
    portal = client.get("/").get_data(as_text=True)
    assert "میان‌افزار ۲٫۱ برای X200" in portal and f'id="announcement-{row.id}"' in portal
    switch(client, shop["omid"])
    assert f'id="announcement-{row.id}"' not in client.get("/").get_data(as_text=True)
    stranger = client.post(f"/announcements/{row.id}/dismiss",
                           data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    assert stranger.status_code == 404
    switch(client, shop["sara"])
    portal = client.get("/").get_data(as_text=True)
    client.post(f"/announcements/{row.id}/dismiss", data={"csrf_token": csrf_token(portal), "next": "/"})
    assert f'id="announcement-{row.id}"' not in client.get("/").get_data(as_text=True)


def test_an_announcement_to_all_customers_walks_every_account_in_chunks(app, shop, smtp, kavenegar):
    row = announcements.publish(shop["admin"], kind="terms_change", audience="all",
                                texts={"en": {"title": "New terms", "text": "From next month."}},
                                channels=["banner", "sms"])
    # ANNOUNCEMENTS_CHUNK is 2: the job queued itself again for the third account.
    db.session.refresh(row)
    assert row.finished_at is not None and row.accounts_told == 3
    assert sorted(m["receptor"] for m in kavenegar.messages) == ["09121234567", "09191234567", "09351112233"]
    assert smtp.messages == []  # no email channel chosen
    for name in ("sara", "omid", "nadia"):
        assert [a.id for a in announcements.banners_for(shop[name], row.published_at.date())] == [row.id]
    announcements.withdraw(shop["admin"], row.id)
    assert announcements.banners_for(shop["nadia"], row.published_at.date()) == []


def test_an_announcement_needs_a_title_text_audience_and_channel(app, shop):
    from helpdesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        announcements.publish(shop["admin"], kind="nonsense", audience="device_type", device_type_id=999,
                              texts={"en": {"title": "", "text": ""}}, channels=[], ends_on=date(2020, 3, 20))
    assert set(caught.value.errors) == {"kind", "title", "text", "device_type_id", "channels", "ends_on"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def test_only_admins_and_billing_staff_publish_agents_read_customers_see_nothing(app, client, shop, agent):
    row = announcements.publish(shop["admin"], kind="legal_notice", audience="all",
                                texts={"en": {"title": "Official notice", "text": "Read this."}}, channels=["banner"])
    log_in(client, shop["sara"].email)
    for url in ("/agent/announcements/", "/agent/announcements/new", f"/agent/announcements/{row.id}"):
        assert client.get(url).status_code == 404
    switch(client, agent)
    assert "Official notice" in client.get("/agent/announcements/").get_data(as_text=True)
    assert client.get(f"/agent/announcements/{row.id}").status_code == 200
    assert client.get(f"/agent/announcements/{row.id + 100}").status_code == 404
    assert client.get("/agent/announcements/new").status_code == 403
    page = client.get(f"/agent/announcements/{row.id}").get_data(as_text=True)
    assert client.post(f"/agent/announcements/{row.id}/withdraw",
                       data={"csrf_token": csrf_token(page)}).status_code == 403
    db.session.refresh(row)
    assert row.withdrawn_at is None
