"""/metrics in the Prometheus text format (prometheus-client): request latency and counts by page type, and
gauges computed at scrape time from the database and Redis (queues, outbox, search index, mail gateway,
quarantine, webhooks).

Several gunicorn workers: set the environment variable PROMETHEUS_MULTIPROC_DIR to an empty folder (emptied at
every start) before the processes start; each worker writes its request figures there and a scrape adds them
up. Without it, each process reports its own requests."""
import hmac
import ipaddress
import logging
import os
import time

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from helpdesk.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("ops_metrics", __name__)

# Page types are endpoint names, methods a fixed set: the number of series stays bounded whatever the URLs.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LABELS = ("endpoint", "method", "status")

# The request metrics live in the process (or, in multiprocess mode, in PROMETHEUS_MULTIPROC_DIR's files);
# their registry is only ours, so building several apps in one process never registers them twice.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram("helpdesk_http_request_duration_seconds",
                            "Time to answer an HTTP request, by page type (endpoint), method and status class.",
                            _LABELS, buckets=_BUCKETS, registry=REQUEST_REGISTRY)
REQUESTS = Counter("helpdesk_http_requests", "HTTP requests answered, by page type, method and status class.",
                   _LABELS, registry=REQUEST_REGISTRY)


def init_app(app):
    from helpdesk.extensions import csrf, limiter

    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer():
    g.helpdesk_request_started = time.perf_counter()


def _observe(response):
    started = g.pop("helpdesk_request_started", None)
    endpoint = request.endpoint or "unmatched"
    if started is None or request.blueprint in ("ops", "ops_metrics"):
        return response
    method = request.method if request.method in _METHODS else "other"
    labels = (endpoint, method, f"{response.status_code // 100}xx")
    REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
    REQUESTS.labels(*labels).inc()
    return response


@bp.get("/metrics")
def metrics():
    """The figures, to a scraper holding METRICS_TOKEN and/or calling from METRICS_ALLOWED_IPS; 404 when
    neither is set (metrics are off by default)."""
    _allow_scraper()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # read by prometheus-client itself; we only follow it
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REQUEST_REGISTRY))
    registry.register(StateCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def _allow_scraper():
    token = current_app.config.get("METRICS_TOKEN") or ""
    networks = current_app.config.get("METRICS_ALLOWED_IPS") or []
    if not token and not networks:
        abort(404)
    if networks and not address_allowed(request.remote_addr, networks):
        log.warning("metrics refused to %s: address not in METRICS_ALLOWED_IPS", request.remote_addr)
        abort(403)
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            abort(Response("", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}))


def address_allowed(address, networks) -> bool:
    """Whether ``address`` (the client's, after TRUSTED_PROXIES) lies in one of the CIDRs ``networks``."""
    if isinstance(networks, str):
        networks = [part for part in networks.replace(",", " ").split() if part]
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if getattr(client, "ipv4_mapped", None):
        client = client.ipv4_mapped
    for cidr in networks:
        try:
            if client in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            log.warning("METRICS_ALLOWED_IPS: %r is not a network, ignored", cidr)
    return False


class _Forward:
    """Expose another registry's metrics through the scrape's registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class StateCollector:
    """Gauges read at scrape time: cheap, indexed queries and Redis lengths."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from helpdesk.ops import gauges

        for gauge in (gauges.outbox, gauges.search_index, gauges.gateway, gauges.quarantine, gauges.webhooks,
                      gauges.queues):
            try:
                yield from gauge(self.app)
            except Exception:
                # One unreadable source must not hide the others; the scrape still answers.
                log.exception("metrics: %s could not be read", gauge.__name__)
                db.session.rollback()
        yield _family("helpdesk_metrics_scrape_timestamp_seconds", "When these gauges were read.", time.time())


def _family(name, documentation, value, labels=None, samples=()):
    family = GaugeMetricFamily(name, documentation, labels=labels)
    if labels is None:
        family.add_metric([], value)
    for label_values, sample in samples:
        family.add_metric(label_values, sample)
    return family

