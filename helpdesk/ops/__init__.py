"""The operations door (issue 22): /healthz (liveness), /readyz (the services answer) and /metrics (Prometheus
text format, off unless METRICS_TOKEN or METRICS_ALLOWED_IPS is set). No login, no session, no CSRF, no rate
limit; these requests are left out of the request metrics so probes do not drown the figures."""
SERVES_HTTP = True


def init_app(app):
    from helpdesk.extensions import csrf, limiter
    from helpdesk.ops import health, metrics

    csrf.exempt(health.bp)
    limiter.exempt(health.bp)
    app.register_blueprint(health.bp)
    metrics.init_app(app)
