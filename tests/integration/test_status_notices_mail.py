"""Status notices by email through the real SMTP server: the affected customer gets the notice in their language
with its times in their time zone, at their support address; updates and resolving follow; a customer who opted
out of maintenance mail still gets incident mail about their services, but no maintenance mail."""
import re

import pytest

from helpdesk.status_notices import service as notices
from tests.integration.billing_shop import SETTINGS, billing_app
from tests.integration.billing_web import login, post, settled
from tests.integration.status_shop import publish, status_shop


@pytest.fixture
def app(app_factory, smtp):
    yield from billing_app(app_factory, **{**SETTINGS, "SMTP_HOST": "127.0.0.1"})


@pytest.fixture
def shop(app):
    return status_shop()


def body(message):
    return message.get_body(("plain",)).get_content()


def test_the_affected_customer_is_mailed_in_their_language_and_time_zone(shop, smtp):
    from datetime import UTC, datetime

    notice = publish(shop.bilge, products=[shop.web], starts_at=datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
                     ends_at=datetime(2026, 1, 10, 15, 30, tzinfo=UTC))

    (mail,) = smtp.wait_for(1)
    assert "carla@example.test" in mail["To"] and mail["Auto-Submitted"] == "auto-generated"
    assert "Webhosting-Cluster langsam" in mail["Subject"]
    text = body(mail)
    assert "Seiten laden langsam." in text and "Pages load slowly" not in text
    assert "13:00" in text and "16:30" in text  # Berlin in winter: UTC+1
    assert f"/status/{notice.id}" in text
    assert smtp.to("bora@example.test") == []  # Bora has no web hosting

    smtp.clear()
    notices.post_update(shop.bilge, notice, status="monitoring",
                        texts={"en": "Fixed, we are watching.", "de": "Behoben, wir beobachten."})
    (update,) = smtp.wait_for(1)
    assert "Behoben, wir beobachten." in body(update) and "Webhosting-Cluster langsam" in update["Subject"]
    smtp.clear()
    notices.resolve_notice(shop.bilge, notice)
    (resolved,) = smtp.wait_for(1)
    assert "carla@example.test" in resolved["To"] and "Webhosting-Cluster langsam" in resolved["Subject"]


def test_a_customer_without_their_language_reads_the_default(shop, smtp):
    publish(shop.bilge, products=[shop.domain])

    (mail,) = smtp.wait_for(1)
    assert "bora@example.test" in mail["To"]
    assert "Web hosting cluster slow" in mail["Subject"] and "Pages load slowly." in body(mail)


def test_an_opted_out_customer_gets_incident_mail_but_no_maintenance_mail(shop, smtp, client):
    login(client, shop.carla)
    page = client.get("/status/mail-preferences").text
    assert "checked" in re.search(r'<input[^>]*name="maintenance_mail"[^>]*>', page).group(0)  # on until turned off
    response = post(client, "/status/mail-preferences", {}, follow_redirects=True)  # the box unticked
    assert "Ihre Auswahl wurde gespeichert." in response.text  # Carla reads German
    settled()

    publish(shop.bilge, kind="maintenance", products=[shop.web, shop.domain],
            texts={"en": {"title": "Planned network work", "text": "Short interruptions."}})
    publish(shop.bilge, kind="incident", products=[shop.web],
            texts={"en": {"title": "Network outage", "text": "Nothing reachable."}})

    smtp.wait_for(2)
    assert [m["Subject"] for m in smtp.to("carla@example.test")] == ["Störung: Network outage"]  # in German
    assert [m["Subject"] for m in smtp.to("bora@example.test")] == ["Planlı bakım: Planned network work"]  # Turkish
    assert "/status/mail-preferences" in body(smtp.to("bora@example.test")[0])
