"""Where rate-limit counters live: Redis when REDIS_URL is set (every web process counts together), and a loud
warning when a production site keeps them in one process's memory. (Checked on the start-up step itself: the
rate limiter is one object per process, and an app built here on Redis would move every later test's counters.)"""
import logging

from flask import Flask

from helpdesk import rate_limit_storage
from tests.conftest import REDIS_URL


def started(**settings):
    app = Flask(__name__)
    app.config.update({"ENV": "development", "REDIS_URL": "", "RATELIMIT_STORAGE_URI": ""}, **settings)
    rate_limit_storage(app)
    return app.config["RATELIMIT_STORAGE_URI"]


def test_rate_limits_follow_redis_url_when_not_set_explicitly():
    assert started(REDIS_URL=REDIS_URL) == REDIS_URL


def test_an_explicit_rate_limit_storage_is_kept():
    assert started(REDIS_URL=REDIS_URL, RATELIMIT_STORAGE_URI="memory://") == "memory://"
    assert started(RATELIMIT_STORAGE_URI="redis://10.0.0.5:6379/1") == "redis://10.0.0.5:6379/1"


def test_without_redis_rate_limits_stay_in_memory():
    assert started() == "memory://"


def test_production_with_memory_rate_limits_warns_at_start(caplog):
    with caplog.at_level(logging.WARNING, logger="helpdesk"):
        started(ENV="production")
    assert any("RATELIMIT_STORAGE_URI is memory:// in production" in record.getMessage()
               for record in caplog.records)


def test_production_with_redis_rate_limits_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="helpdesk"):
        started(ENV="production", REDIS_URL=REDIS_URL)
    assert not any("RATELIMIT_STORAGE_URI" in record.getMessage() for record in caplog.records)


def test_the_development_default_builds_an_app_with_memory_counters(app_factory):
    assert app_factory().config["RATELIMIT_STORAGE_URI"] == "memory://"
