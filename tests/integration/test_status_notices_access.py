"""Who reaches the status notice pages: customers never reach the console's (404, as for every console page);
plain agents read notices but are refused every change; forms need their CSRF token; a customer sees the banner
of a notice on every portal page only when it is about their own services; the public status page names the
products affected and never a customer."""
import re

import pytest
import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.status_notices import service as notices
from helpdesk.status_notices.models import StatusNotice
from tests.conftest import csrf_token
from tests.integration.billing_shop import SETTINGS, billing_app
from tests.integration.billing_web import login, post, settled
from tests.integration.status_shop import give_service, publish, status_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, **SETTINGS)


@pytest.fixture
def shop(app):
    return status_shop()


def count():
    settled()
    return db.session.scalar(sa.select(sa.func.count()).select_from(StatusNotice))


def form(shop, **extra):
    return {"kind": "incident", "severity": "major", "status": "investigating", "starts_at": "2026-01-05T10:00",
            "title_en": "Mail cluster down", "text_en": "No mail in or out.", "products": [str(shop.web.id)],
            **extra}


def banners(page):
    return re.findall(r'class="flash flash-\w+ status-banner"', page)


def test_customers_never_reach_the_console_pages(client, shop):
    notice = publish(shop.bilge, products=[shop.web])
    login(client, shop.carla)
    token = csrf_token(client.get("/status/mail-preferences").text)
    for path in ("/agent/status-notices/", "/agent/status-notices/new", f"/agent/status-notices/{notice.id}"):
        assert client.get(path).status_code == 404
    for path in ("/agent/status-notices/new", f"/agent/status-notices/{notice.id}/updates",
                 f"/agent/status-notices/{notice.id}/resolve", f"/agent/status-notices/{notice.id}/edit"):
        assert client.post(path, data={**form(shop), "csrf_token": token, "text_en": "x"}).status_code == 404
    assert count() == 1
    assert db.session.get(StatusNotice, notice.id).status == "investigating"


def test_guests_are_sent_to_the_login_page(client, shop):
    for path in ("/agent/status-notices/", "/agent/status-notices/new", "/status/mail-preferences"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_plain_agents_read_but_change_nothing(client, shop):
    notice = publish(shop.bilge, products=[shop.web])
    login(client, shop.agent)
    page = client.get("/agent/status-notices/")
    assert page.status_code == 200 and "Web hosting cluster slow" in page.text
    assert "Publish a notice" not in page.text
    shown = client.get(f"/agent/status-notices/{notice.id}").text
    assert "Post the update" not in shown and "Resolve the notice" not in shown
    assert client.get("/agent/status-notices/new").status_code == 403
    token = csrf_token(client.get("/").text)
    assert client.post("/agent/status-notices/new", data={**form(shop), "csrf_token": token}).status_code == 403
    assert client.post(f"/agent/status-notices/{notice.id}/updates",
                       data={"csrf_token": token, "status": "monitoring", "text_en": "x"}).status_code == 403
    assert client.post(f"/agent/status-notices/{notice.id}/resolve",
                       data={"resolve-csrf_token": token}).status_code == 403
    assert count() == 1
    assert db.session.get(StatusNotice, notice.id).status == "investigating"


def test_billing_staff_publish_update_and_resolve_through_the_console(client, shop):
    login(client, shop.bilge)
    response = post(client, "/agent/status-notices/new", form(shop, services=f"{shop.bora_domain.id}"),
                    follow_redirects=True)
    assert response.status_code == 200 and "Notice published" in response.text
    settled()
    notice = db.session.scalars(sa.select(StatusNotice)).one()
    assert sorted(notice.targets("product")) == [shop.web.id] and notice.targets("service") == [shop.bora_domain.id]
    path = f"/agent/status-notices/{notice.id}"
    # The console names the service's customer and identifier for staff.
    assert "bora-secret-domain.example" in client.get(path).text

    response = post(client, f"{path}/updates", {"status": "monitoring", "text_en": "Mail flows again."}, page=path,
                    follow_redirects=True)
    assert "Update posted" in response.text and "Mail flows again." in response.text
    response = client.post(f"{path}/resolve", data={"resolve-csrf_token": csrf_token(client.get(path).text),
                                                    "resolve-text_en": "All fine."}, follow_redirects=True)
    assert "Notice resolved" in response.text
    settled()
    assert db.session.get(StatusNotice, notice.id).status == "resolved"


def test_a_form_with_problems_says_each_beside_its_field(client, shop):
    login(client, shop.bilge)
    response = post(client, "/agent/status-notices/new", form(shop, title_en="", starts_at="tomorrow",
                                                             products=[], services="12, x"))
    assert response.status_code == 400
    assert "Enter a title in the desk’s default language." in response.text
    assert "Enter a date and time, such as 2026-11-24 09:30." in response.text
    assert "Enter service numbers separated by commas" in response.text
    response = post(client, "/agent/status-notices/new", form(shop, products=["99999999999999999999", "-1"]))
    assert response.status_code == 400 and "Choose products from the list." in response.text
    assert count() == 0


def test_every_form_needs_its_csrf_token(client, shop):
    notice = publish(shop.bilge, products=[shop.web])
    login(client, shop.bilge)
    assert client.post("/agent/status-notices/new", data=form(shop)).status_code == 400
    assert client.post(f"/agent/status-notices/{notice.id}/updates",
                       data={"status": "monitoring", "text_en": "x"}).status_code == 400
    assert client.post(f"/agent/status-notices/{notice.id}/resolve", data={}).status_code == 400
    assert client.post(f"/agent/status-notices/{notice.id}/edit", data={}).status_code == 400
    login(client, shop.carla)
    assert client.post("/status/mail-preferences", data={}).status_code == 400
    assert count() == 1
    assert db.session.get(StatusNotice, notice.id).status == "investigating"
    assert notices.wants_maintenance_mail(shop.carla)


def test_a_customer_sees_banners_only_for_their_own_services(client, shop):
    publish(shop.bilge, products=[shop.web])
    publish(shop.bilge, services=[shop.bora_domain], texts={"en": {"title": "Bora's registry", "text": "x"}})

    for path in ("/", "/status/", "/billing/", "/tickets/new"):
        assert banners(client.get(path).text) == [], path  # a guest
    login(client, shop.carla)
    for path in ("/", "/billing/", "/profile", "/kb/", "/tickets/"):
        page = client.get(path).text
        assert len(banners(page)) == 1 and "Webhosting-Cluster langsam" in page, path  # in her language
        assert "Bora&#39;s registry" not in page and "Bora's registry" not in page
    login(client, shop.reza)  # a customer with no live service
    assert banners(client.get("/").text) == []
    login(client, shop.agent)
    assert banners(client.get("/agent/status-notices/").text) == []


def test_the_public_page_names_products_never_customers(client, shop):
    other = give_service(shop.bora_account, shop.web, identifier="bora-web.example")
    publish(shop.bilge, products=[shop.web])
    publish(shop.bilge, services=[shop.bora_domain, other],
            texts={"en": {"title": "Registry trouble", "text": "Some domains do not resolve."}})

    for reader in (None, shop.reza):
        if reader is not None:
            login(client, reader)
        page = client.get("/status/").text
        assert "Web hosting cluster slow" in page and "Registry trouble" in page
        assert "Domain" in page and "Web hosting" in page
        for secret in ("carla", "Carla", "bora", "Bora", "@example.test", "carla.example", "bora-web.example",
                       "bora-secret-domain.example", "Kunde", "Müşteri"):
            assert secret not in page.split('<main id="main"')[1], secret
        notice_id = re.search(r'href="/status/(\d+)"', page).group(1)
        detail = client.get(f"/status/{notice_id}").text
        assert "bora-secret-domain.example" not in detail and "Müşteri" not in detail


def test_customers_find_the_mail_choice_in_their_profile_and_staff_have_none(client, shop):
    login(client, shop.carla)
    assert 'href="/status/mail-preferences"' in client.get("/profile").text
    login(client, shop.bilge)
    assert 'href="/status/mail-preferences"' not in client.get("/profile").text
    assert client.get("/status/mail-preferences").status_code == 404


def test_the_status_pages_read_in_persian_with_jalali_dates(client, shop):
    from datetime import UTC, datetime

    notice = publish(shop.bilge, products=[shop.web], starts_at=datetime(2026, 3, 21, 8, 0, tzinfo=UTC),
                     texts={"en": {"title": "Outage", "text": "x"},
                            "fa": {"title": "قطعی سرویس", "text": "در حال بررسی"}})
    notices.post_update(shop.bilge, notice, status="monitoring", texts={"en": "Fixed.", "fa": "برطرف شد."})
    login(client, shop.reza)
    for path in ("/status/", f"/status/{notice.id}"):
        page = client.get(path).text
        assert 'dir="rtl"' in page and "قطعی سرویس" in page and "۱۴۰۵/۰۱/۰۱" in page, path
    assert "برطرف شد." in client.get(f"/status/{notice.id}").text


def test_billing_staff_correct_a_notice_on_its_page(client, shop):
    notice = publish(shop.bilge, products=[shop.web])
    login(client, shop.bilge)
    path = f"/agent/status-notices/{notice.id}"
    page = client.get(path).text
    assert 'name="edit-title_en" type="text" value="Web hosting cluster slow"' in page
    data = {f"edit-{name}": value for name, value in form(shop, title_en="Web hosting cluster very slow",
                                                          text_en="Pages time out.", severity="critical",
                                                          products=[str(shop.web.id), str(shop.domain.id)]).items()}
    response = client.post(f"{path}/edit", data={**data, "edit-csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Notice saved." in response.text and "Web hosting cluster very slow" in response.text
    settled()
    notice = db.session.get(StatusNotice, notice.id)
    assert notice.severity == "critical" and sorted(notice.targets("product")) == sorted([shop.web.id, shop.domain.id])
    assert notice.starts_at.isoformat().startswith("2026-01-05T10:00")  # typed in UTC, Bilge's default zone
