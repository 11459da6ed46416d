"""Rate limits per token (per client address before a token is known), with the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): every answer says the policy and what is left of it,

    RateLimit-Policy: "default";q=600;w=60
    RateLimit: "default";r=598;t=41

and an answer over the limit is a 429 problem with Retry-After. The counts live in the rate limiter's storage
(RATELIMIT_STORAGE_URI: Redis in production, so every web process counts together). Settings: API_RATE_LIMIT
("600/minute"), API_RATE_LIMIT_ANONYMOUS ("60/minute", requests without a valid token)."""
import math
import time

from flask import current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from helpdesk.i18n import lazy_gettext as _l

_EXTENSION = "helpdesk_api_ratelimit"


def _limiter():
    limiter = current_app.extensions.get(_EXTENSION)
    if limiter is None:
        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
        limiter = current_app.extensions[_EXTENSION] = FixedWindowRateLimiter(storage)
    return limiter


def reset() -> None:
    """Forget every count (tests)."""
    limiter = current_app.extensions.get(_EXTENSION)
    if limiter is not None:
        limiter.storage.reset()


def check(token_row):
    """Count this request. Returns (headers, over_limit)."""
    if token_row is not None:
        item, key = parse(current_app.config["API_RATE_LIMIT"]), f"token:{token_row.id}"
    else:
        item, key = parse(current_app.config["API_RATE_LIMIT_ANONYMOUS"]), \
            f"address:{request.remote_addr}"
    # A fixed window's hit is one increment, whose result tells what is left: asking the storage for the count
    # again (limiter.get_window_stats) would cost every request a third round trip to Redis.
    storage, counter = _limiter().storage, item.key_for("api", key)
    count = storage.incr(counter, item.get_expiry())
    allowed, remaining = count <= item.amount, item.amount - count
    seconds = max(0, math.ceil(storage.get_expiry(counter) - time.time()))
    window = item.get_expiry()
    headers = {"RateLimit-Policy": f'"default";q={item.amount};w={window}',
               "RateLimit": f'"default";r={max(0, remaining)};t={seconds}'}
    if not allowed:
        headers["Retry-After"] = str(max(1, seconds))
    return headers, not allowed


TOO_MANY = _l("Too many requests. Wait the number of seconds Retry-After names, then try again.")
