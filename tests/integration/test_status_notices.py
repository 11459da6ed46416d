"""Status notices in the domain: who may publish, what a notice must say, whose banner shows it and when, the
public page's current, upcoming and past notices, updates and resolving, the audit trail, and the mailing job that
tells each affected customer once, through the notice channels (with their phone for a channel that texts)."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.billing.models import SERVICE_CANCELLED, SERVICE_SUSPENDED
from helpdesk.errors import Conflict, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notify import channels
from helpdesk.notify.models import OutboxEmail
from helpdesk.status_notices import access, display, service, tasks
from helpdesk.status_notices.models import StatusNotice, StatusNoticeMailing
from tests.integration.billing_shop import SETTINGS, billing_app
from tests.integration.status_shop import TEXTS, give_service, publish, status_shop


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, **SETTINGS)


@pytest.fixture
def shop(app):
    return status_shop()


def now():
    return datetime.now(UTC)


def banner_titles(user):
    return [display.notice_text(n, "en")[0] for n in access.banners_for(user, now())]


def test_billing_staff_publish_and_plain_agents_and_customers_cannot(shop):
    for outsider in (shop.agent, shop.carla):
        with pytest.raises(NotAllowed):
            publish(outsider, products=[shop.web])
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusNotice)) == 0

    notice = publish(shop.bilge, products=[shop.web])

    assert notice.status == "investigating" and notice.resolved_at is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity == "status-notice"))
    assert (event.action, event.actor_id, event.changes["products"]) == ("published", shop.bilge.id, [shop.web.id])


def test_a_notice_needs_its_default_language_texts_sane_times_and_something_it_affects(shop):
    with pytest.raises(ValidationFailed) as caught:
        service.publish_notice(shop.bilge, kind="outage", severity="huge", status="resolved",
                               texts={"de": {"title": "Nur Deutsch", "text": "x"}},
                               starts_at=now(), ends_at=now() - timedelta(hours=1), products=[], services=[])
    assert set(caught.value.errors) == {"kind", "severity", "status", "title_en", "text_en", "ends_at", "products"}
    with pytest.raises(ValidationFailed) as caught:
        publish(shop.bilge, products=[shop.web], services=[type("S", (), {"id": 999_999})()])
    assert set(caught.value.errors) == {"services"}
    with pytest.raises(ValidationFailed) as caught:
        publish(shop.bilge, kind="incident", status="scheduled", products=[shop.web])
    assert set(caught.value.errors) == {"status"}
    with pytest.raises(ValidationFailed) as caught:
        service.publish_notice(shop.bilge, kind="incident", severity="minor", texts=TEXTS,
                               starts_at=datetime(2026, 12, 1, 10, 0), products=[shop.web.id])  # naive
    assert set(caught.value.errors) == {"starts_at"}


def test_banners_show_only_to_customers_with_a_live_service_it_affects(shop):
    publish(shop.bilge, products=[shop.web])

    assert banner_titles(shop.carla) == ["Web hosting cluster slow"]
    assert banner_titles(shop.bora) == []
    assert banner_titles(shop.agent) == [] and banner_titles(None) == []
    shop.carla_web.status = SERVICE_SUSPENDED
    db.session.commit()
    assert banner_titles(shop.carla) == ["Web hosting cluster slow"]
    shop.carla_web.status = SERVICE_CANCELLED
    db.session.commit()
    assert banner_titles(shop.carla) == []


def test_a_notice_about_one_service_shows_to_its_owner_only(shop):
    other_web = give_service(shop.bora_account, shop.web, identifier="bora.example")
    publish(shop.bilge, services=[other_web])

    assert banner_titles(shop.bora) == ["Web hosting cluster slow"]
    assert banner_titles(shop.carla) == []


def test_maintenance_shows_a_day_ahead_and_an_incident_from_its_start(shop):
    publish(shop.bilge, kind="maintenance", products=[shop.web], starts_at=now() + timedelta(hours=30),
            texts={"en": {"title": "Maintenance in 30 hours", "text": "x"}})
    publish(shop.bilge, kind="maintenance", products=[shop.web], starts_at=now() + timedelta(hours=10),
            texts={"en": {"title": "Maintenance in 10 hours", "text": "x"}})
    publish(shop.bilge, kind="incident", products=[shop.web], starts_at=now() + timedelta(hours=2),
            texts={"en": {"title": "Incident from later today", "text": "x"}})

    assert banner_titles(shop.carla) == ["Maintenance in 10 hours"]
    current, upcoming, past = access.public_notices(now())
    assert [display.notice_text(n, "en")[0] for n in current] == ["Maintenance in 10 hours"]
    assert [display.notice_text(n, "en")[0] for n in upcoming] == ["Incident from later today",
                                                                    "Maintenance in 30 hours"]
    assert past == []


def test_updates_move_the_status_and_resolving_ends_the_banner(shop):
    notice = publish(shop.bilge, products=[shop.web])
    service.post_update(shop.bilge, notice, status="in_progress",
                        texts={"en": "A disk failed; we are replacing it.", "de": "Eine Platte ist defekt."})
    with pytest.raises(ValidationFailed):
        service.post_update(shop.bilge, notice, status="resolved", texts={"en": "Done"})
    db.session.rollback()
    with pytest.raises(NotAllowed):
        service.resolve_notice(shop.agent, notice)
    db.session.rollback()

    service.resolve_notice(shop.bilge, notice, texts={"en": "All pages are fast again."})

    notice = db.session.get(StatusNotice, notice.id)
    assert notice.status == "resolved" and notice.resolved_at is not None
    assert [(u.status, display.update_text(u, "de")) for u in notice.updates] == [
        ("in_progress", "Eine Platte ist defekt."), ("resolved", "All pages are fast again.")]
    assert banner_titles(shop.carla) == []
    current, _upcoming, past = access.public_notices(now())
    assert current == [] and [n.id for n in past] == [notice.id]
    with pytest.raises(Conflict):
        service.post_update(shop.bilge, notice, status="monitoring", texts={"en": "Again?"})
    db.session.rollback()
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "status-notice")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["published", "updated", "resolved"]


def test_the_public_page_forgets_notices_resolved_more_than_90_days_ago(shop):
    old = publish(shop.bilge, products=[shop.web], starts_at=now() - timedelta(days=120),
                  texts={"en": {"title": "Old outage", "text": "x"}})
    recent = publish(shop.bilge, products=[shop.web], starts_at=now() - timedelta(days=20),
                     texts={"en": {"title": "Recent outage", "text": "x"}})
    service.resolve_notice(shop.bilge, old)
    service.resolve_notice(shop.bilge, recent)
    db.session.get(StatusNotice, old.id).resolved_at = now() - timedelta(days=100)
    db.session.commit()

    _current, _upcoming, past = access.public_notices(now())
    assert [n.id for n in past] == [recent.id]


def test_editing_corrects_the_notice_and_is_audited_but_mails_no_one(shop):
    notice = publish(shop.bilge, products=[shop.web])
    mailings = db.session.scalar(sa.select(sa.func.count()).select_from(StatusNoticeMailing))

    service.edit_notice(shop.bilge, notice, kind="incident", severity="critical",
                        texts={**TEXTS, "tr": {"title": "Web barındırma yavaş", "text": "Sayfalar yavaş."}},
                        starts_at=notice.starts_at, products=[shop.web.id, shop.domain.id])

    assert display.notice_text(notice, "tr") == ("Web barındırma yavaş", "Sayfalar yavaş.")
    assert banner_titles(shop.bora) == ["Web hosting cluster slow"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusNoticeMailing)) == mailings
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "status-notice",
                                                     AuditEvent.action == "changed")).one()
    assert set(event.changes) == {"severity", "texts", "affects"}


def test_texts_fall_back_to_the_default_language(shop):
    notice = publish(shop.bilge, products=[shop.web])
    assert display.notice_text(notice, "de")[0] == "Webhosting-Cluster langsam"
    assert display.notice_text(notice, "fa")[0] == "Web hosting cluster slow"
    assert display.affected_products(notice, "de") == ["Webhosting"]


class Collecting:
    """A channel that keeps what it is offered (as an SMS channel would queue it)."""

    name = "collecting-status"

    def __init__(self):
        self.notices = []

    def send(self, notice, batch=None):
        self.notices.append(notice)


@pytest.fixture
def collecting(app):
    channel = Collecting()
    channels.register_channel(channel)
    yield channel
    channels._channels.remove(channel)


def test_every_channel_hears_the_notice_with_phone_numbers_and_each_customer_is_told_once(shop, collecting):
    give_service(shop.bora_account, shop.web)
    notice = publish(shop.bilge, products=[shop.web])

    (heard,) = collecting.notices
    assert heard.kind == "status_notice.published" and heard.automatic
    assert sorted((r.email, r.locale, r.phone) for r in heard.recipients) == [
        ("bora@example.test", "tr", "+905321234567"), ("carla@example.test", "de", None)]
    mailing = db.session.scalars(sa.select(StatusNoticeMailing).where(StatusNoticeMailing.notice_id == notice.id)).one()
    assert mailing.finished_at is not None and mailing.recipients == 2
    outbox = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))
    assert outbox == 2

    assert tasks.mail_affected(mailing.id) == 0  # the job run again (a retry): nobody is told twice
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == outbox
    assert len(collecting.notices) == 1


def test_a_customer_chooses_about_maintenance_mail_for_themselves_only(shop):
    with pytest.raises(NotAllowed):
        service.set_maintenance_mail(shop.bora, shop.carla, False)
    db.session.rollback()
    service.set_maintenance_mail(shop.carla, shop.carla, False)
    assert not service.wants_maintenance_mail(shop.carla)
    service.set_maintenance_mail(SYSTEM, shop.carla, True)
    assert service.wants_maintenance_mail(shop.carla)
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "user",
                                                                    AuditEvent.entity_id == shop.carla.id)
                                 .order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["maintenance-mail-off", "maintenance-mail-on"]


def test_a_mailing_goes_through_every_chunk_of_customers(shop, monkeypatch):
    monkeypatch.setattr(tasks, "CHUNK", 1)
    give_service(shop.bora_account, shop.web)
    notice = publish(shop.bilge, products=[shop.web])

    db.session.rollback()
    mailing = db.session.scalars(sa.select(StatusNoticeMailing).where(StatusNoticeMailing.notice_id == notice.id)).one()
    assert mailing.finished_at is not None and mailing.recipients == 2
    assert sorted(db.session.scalars(sa.select(OutboxEmail.recipient))) == ["bora@example.test", "carla@example.test"]
