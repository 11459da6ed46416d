"""The webhooks' HTTP sender (helpdesk.webhooks.delivery.Sender) with requests: one POST per attempt, to the
address the delivery checked (``Target.ip``: the name is not resolved again, so a DNS answer changed in between
cannot point the request at a private address), with the URL's host name as Host header, TLS SNI and the name the
certificate must carry. No redirect is followed (a 3xx is an answer like any other non-2xx), no proxy from the
environment is used, and at most 2 KB of the answer's body is read. Never raises for the receiver's sake."""
import email.utils
import logging
from datetime import UTC, datetime

from requests.adapters import HTTPAdapter

from helpdesk.webhooks.addresses import Target
from helpdesk.webhooks.delivery import RESPONSE_EXCERPT, Answer

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0


class _PinnedAdapter(HTTPAdapter):
    """Connects to the URL's IP address while TLS checks the certificate against the host name."""

    def __init__(self, target: Target):
        self.target = target
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        if self.target.scheme == "https":
            pool_kwargs["server_hostname"] = self.target.host
            pool_kwargs["assert_hostname"] = self.target.host
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def pinned_url(target: Target) -> str:
    """``target.url`` with its host replaced by the checked IP address (the path and query kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(target.url)
    host = f"[{target.ip}]" if ":" in target.ip else target.ip
    return urlunsplit((target.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, ""))


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def retry_after_seconds(value) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _excerpt(response) -> str:
    try:
        raw = response.raw.read(RESPONSE_EXCERPT, decode_content=True) or b""
    except Exception:  # a body cut short still leaves the status code to report
        raw = b""
    return raw[:RESPONSE_EXCERPT].decode("utf-8", "replace")


class HttpSender:
    """The sender the webhooks use (registered by helpdesk.providers.init_app)."""

    def send(self, target: Target, body: bytes, headers: dict, timeout: float) -> Answer:
        import requests

        session = requests.Session()
        session.trust_env = False  # no proxy, no .netrc: the request goes to the checked address only
        session.mount(f"{target.scheme}://", _PinnedAdapter(target))
        headers = {**headers, "Host": _host_header(target), "Accept-Encoding": "identity"}
        try:
            return self._post(session, target, body, headers, timeout)
        finally:
            session.close()

    @staticmethod
    def _post(session, target, body, headers, timeout) -> Answer:
        import requests

        try:
            response = session.post(pinned_url(target), data=body, headers=headers, allow_redirects=False,
                                    stream=True, timeout=(min(CONNECT_TIMEOUT, timeout), timeout))
        except requests.Timeout:
            return Answer(error="timeout")
        except requests.exceptions.SSLError:
            return Answer(error="TLS error")
        except requests.ConnectionError:
            return Answer(error="connection failed")
        except requests.RequestException as exc:
            return Answer(error=type(exc).__name__)
        try:
            excerpt = _excerpt(response)
        finally:
            response.close()
        retry_after = (retry_after_seconds(response.headers.get("Retry-After"))
                       if response.status_code in (429, 503) else None)
        return Answer(status_code=response.status_code, body=excerpt, retry_after=retry_after)
