"""Liveness and readiness probes for a load balancer or an orchestrator."""
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify

from helpdesk.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)

# A probe must answer quickly even when a service is gone: a dead Redis gives 503 in about a second.
PROBE_TIMEOUT_SECONDS = 1.0


@bp.get("/healthz")
def healthz():
    """The process answers; no service is touched (a restart would not help a dead database)."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/readyz")
def readyz():
    """Each service this process needs answers: 200 with the checks, or 503 naming the failing ones."""
    checks = {"database": check_database()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = check_redis(current_app)
    checks["storage"] = check_storage()
    failing = sorted(name for name, state in checks.items() if state != "ok")
    status = 503 if failing else 200
    if failing:
        log.warning("readiness check failed: %s", ", ".join(f"{name}={checks[name]}" for name in failing))
    return jsonify(status="fail" if failing else "ok", checks=checks, failing=failing), status


def check_database() -> str:
    try:
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # A database that accepts the connection but hangs must not hang the probe.
                connection.execute(sa.text("SET statement_timeout = %d" % int(PROBE_TIMEOUT_SECONDS * 1000)))
            connection.execute(sa.text("SELECT 1"))
            connection.rollback()
        return "ok"
    except Exception as error:  # any failure means "not ready"; the log says why
        log.warning("readiness: database did not answer: %s", type(error).__name__)
        return "unreachable"


def check_redis(app) -> str:
    try:
        probe_redis(app).ping()
        return "ok"
    except Exception as error:
        log.warning("readiness: redis did not answer: %s", type(error).__name__)
        return "unreachable"


def probe_redis(app):
    """A Redis client with short timeouts, kept per app (the jobs' client waits as long as the OS does)."""
    from redis import Redis

    client = app.extensions.get("helpdesk_ops_redis")
    if client is None:
        client = app.extensions["helpdesk_ops_redis"] = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
            socket_timeout=PROBE_TIMEOUT_SECONDS)
    return client


def check_storage() -> str:
    """The attachment folder exists and is writable, or the object store's bucket answers (STORAGE_BACKEND)."""
    if current_app.config.get("STORAGE_BACKEND", "local") == "s3":
        from helpdesk import storage

        problem = storage.check()
        return "ok" if problem is None else "unavailable"
    folder = Path(current_app.config["ATTACHMENTS_PATH"])
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # created on the first upload: its nearest existing parent must be writable
    return "ok" if os.access(folder, os.W_OK | os.X_OK) else "not writable"
