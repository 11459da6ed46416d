"""The RDAP availability checker (RFC 9082/9083 over HTTPS): the TLD's RDAP base URL comes from
DOMAINS_RDAP_SERVERS, else from IANA's bootstrap file (RFC 9224, DOMAINS_RDAP_BOOTSTRAP_URL, kept in this
process for DOMAINS_RDAP_BOOTSTRAP_SECONDS). GET <base>domain/<name>: 404 means nobody holds the name, 200 that
someone does; anything else, or no answer within DOMAINS_CHECK_TIMEOUT, is a failure (WHOIS is asked next)."""
import threading
import time

from flask import current_app

from helpdesk.domains.checks import CheckFailed, NoServer

NAME = "rdap"
_bootstrap = {"url": None, "loaded_at": 0.0, "services": {}}
_lock = threading.Lock()


def _get(url: str):
    import requests  # loaded by the first check, not at every process start

    try:
        return requests.get(url, headers={"Accept": "application/rdap+json, application/json"},
                            timeout=current_app.config["DOMAINS_CHECK_TIMEOUT"], allow_redirects=True)
    except requests.RequestException as exc:
        raise CheckFailed(f"rdap: {type(exc).__name__} for {url}") from None


def _services_from(document) -> dict:
    """{tld: base URL} from an RFC 9224 bootstrap document (an https URL preferred where a TLD has several)."""
    services = {}
    for entry in (document or {}).get("services") or ():
        if not (isinstance(entry, list) and len(entry) == 2):
            continue
        tlds, urls = entry
        urls = [url for url in urls if isinstance(url, str)]
        if not urls:
            continue
        url = next((u for u in urls if u.startswith("https://")), urls[0])
        for tld in tlds:
            if isinstance(tld, str):
                services[tld.lower()] = url
    return services


def bootstrap_services() -> dict:
    """IANA's {tld: RDAP base URL}, fetched again when older than DOMAINS_RDAP_BOOTSTRAP_SECONDS."""
    config = current_app.config
    url = config["DOMAINS_RDAP_BOOTSTRAP_URL"]
    with _lock:
        fresh = time.monotonic() - _bootstrap["loaded_at"] < config["DOMAINS_RDAP_BOOTSTRAP_SECONDS"]
        if _bootstrap["url"] == url and fresh:
            return _bootstrap["services"]
    if not url:
        return {}
    response = _get(url)
    if response.status_code != 200:
        raise CheckFailed(f"rdap: bootstrap answered HTTP {response.status_code}")
    try:
        services = _services_from(response.json())
    except ValueError:
        raise CheckFailed("rdap: the bootstrap file is not JSON") from None
    with _lock:
        _bootstrap.update(url=url, loaded_at=time.monotonic(), services=services)
    return services


def base_url(tld: str) -> str:
    """The RDAP base URL for ``tld`` (configuration first, then the bootstrap file); NoServer when none."""
    configured = current_app.config["DOMAINS_RDAP_SERVERS"].get(tld)
    if configured:
        return configured
    services = bootstrap_services()
    # A multi-label TLD (co.uk) is served by its last label's registry when it has no entry of its own.
    url = services.get(tld) or services.get(tld.rsplit(".", 1)[-1])
    if not url:
        raise NoServer(tld)
    return url


class RdapChecker:
    name = NAME

    def is_registered(self, domain: str, tld: str) -> bool:
        url = base_url(tld).rstrip("/") + "/domain/" + domain
        response = _get(url)
        if response.status_code == 404:
            return False
        if response.status_code == 200:
            return True
        raise CheckFailed(f"rdap: HTTP {response.status_code} for {domain}")
