"""/metrics: off by default, protected by a token and/or networks, figures a Prometheus scraper reads."""
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from helpdesk.db import utcnow
from helpdesk.extensions import db
from tests.conftest import REDIS_URL

TOKEN = "a-long-random-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(answer):
    """{(sample name, frozenset(labels)): value} of a scrape."""
    assert answer.status_code == 200, answer.status_code
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True))
            for sample in family.samples}


def value(scrape, name, **labels):
    return scrape[(name, frozenset(labels.items()))]


def test_metrics_are_off_without_token_or_networks(client):
    assert client.get("/metrics").status_code == 404


def test_token_is_required_when_set(app_factory):
    client = app_factory(METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_allowed_networks_refuse_other_addresses(app_factory):
    client = app_factory(METRICS_ALLOWED_IPS=["10.1.0.0/16"]).test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403


def test_allowed_networks_honour_trusted_proxies(app_factory):
    client = app_factory(METRICS_ALLOWED_IPS="10.1.0.0/16, 2001:db8::/32", TRUSTED_PROXIES=1).test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", environ_base=proxy,
                      headers={"X-Forwarded-For": "10.1.9.9"}).status_code == 200
    assert client.get("/metrics", environ_base=proxy,
                      headers={"X-Forwarded-For": "192.0.2.7"}).status_code == 403


def test_token_and_networks_both_needed_when_both_set(app_factory):
    client = app_factory(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_IPS=["127.0.0.0/8"]).test_client()
    inside, outside = {"REMOTE_ADDR": "127.0.0.1"}, {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/metrics", environ_base=inside, headers=AUTH).status_code == 200
    assert client.get("/metrics", environ_base=inside).status_code == 401
    assert client.get("/metrics", environ_base=outside, headers=AUTH).status_code == 403


def test_requests_are_counted_by_page_type_not_by_path(app_factory):
    client = app_factory(METRICS_TOKEN=TOKEN).test_client()
    before = samples(client.get("/metrics", headers=AUTH))
    key = ("helpdesk_http_requests_total", frozenset({"endpoint": "ops.healthz", "method": "GET",
                                                        "status": "2xx"}.items()))
    client.get("/login")
    client.get("/no/such/page/12345")
    client.get("/healthz")
    after = samples(client.get("/metrics", headers=AUTH))
    login = {"endpoint": "auth.login", "method": "GET", "status": "2xx"}
    assert value(after, "helpdesk_http_requests_total", **login) \
        == before.get(("helpdesk_http_requests_total", frozenset(login.items())), 0) + 1
    assert value(after, "helpdesk_http_request_duration_seconds_count", **login) >= 1
    assert any(name == "helpdesk_http_requests_total" and ("status", "4xx") in labels
               for name, labels in after)
    paths = [labels for name, labels in after if any("/no/such" in str(v) for _k, v in labels)]
    assert paths == []
    assert key not in after  # probes are not counted


def test_outbox_and_webhook_and_quarantine_gauges_follow_the_tables(app_factory):
    from helpdesk.inbound.models import QUARANTINED, InboundMessage
    from helpdesk.notify.models import OutboxEmail

    app = app_factory(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    with app.app_context():
        empty = samples(client.get("/metrics", headers=AUTH))
        assert value(empty, "helpdesk_outbox_pending") == 0
        assert value(empty, "helpdesk_quarantine_messages") == 0
        assert value(empty, "helpdesk_webhook_deliveries_pending") == 0
        hour_ago = utcnow() - timedelta(hours=1)
        db.session.add_all([
            OutboxEmail(message_id=f"<m{n}@example.test>", sender="desk@example.test",
                        recipient="carla@example.test", subject="Hi", body_text="Hello", created_at=hour_ago)
            for n in range(3)])
        db.session.add(InboundMessage(mailbox="imap:support", fingerprint="f" * 64, raw_key="a" * 64, size=10,
                                      status=QUARANTINED))
        db.session.add(InboundMessage(mailbox="imap:support", fingerprint="e" * 64, raw_key="b" * 64, size=10,
                                      received_at=hour_ago))
        db.session.commit()
        scrape = samples(client.get("/metrics", headers=AUTH))
    assert value(scrape, "helpdesk_outbox_pending") == 3
    assert 3500 < value(scrape, "helpdesk_outbox_oldest_pending_age_seconds") < 3700
    assert value(scrape, "helpdesk_quarantine_messages") == 1
    assert value(scrape, "helpdesk_gateway_unprocessed", mailbox="imap:support") == 1
    assert 3500 < value(scrape, "helpdesk_gateway_oldest_unprocessed_age_seconds", mailbox="imap:support") < 3700


def test_queue_depths_are_read_from_redis(app_factory, redis_prefix):
    from redis import Redis

    app = app_factory(METRICS_TOKEN=TOKEN, REDIS_URL=REDIS_URL, QUEUE_PREFIX=redis_prefix)
    Redis.from_url(REDIS_URL).rpush(f"rq:queue:{redis_prefix}-mail", "job-1", "job-2")
    scrape = samples(app.test_client().get("/metrics", headers=AUTH))
    assert value(scrape, "helpdesk_queue_jobs", queue="mail") == 2
    assert value(scrape, "helpdesk_queue_jobs", queue="search") == 0


def test_a_dead_redis_does_not_break_the_scrape(app_factory):
    app = app_factory(METRICS_TOKEN=TOKEN, REDIS_URL="redis://127.0.0.1:1/0")
    scrape = samples(app.test_client().get("/metrics", headers=AUTH))
    assert value(scrape, "helpdesk_outbox_pending") == 0
    assert not any(name == "helpdesk_queue_jobs" for name, _labels in scrape)
