"""A registrar's REST API (JSON over HTTPS, a bearer API key; our own small, plausible shape, as no registrar's API
is assumed): POST /v1/domains registers {domain, period, registrant, nameservers} (201 with {"id", "status"}),
POST /v1/transfers starts a transfer with {domain, auth_code, registrant, nameservers} (202). Every call carries an
Idempotency-Key (our request's key), so a retry or two staff pressing at once make one registration. Errors come
as {"error": {"code", "message"}} with 4xx/5xx; no answer within DOMAINS_REGISTRAR_TIMEOUT is a failure too.
Settings: REGISTRAR_API_BASE, REGISTRAR_API_KEY (never logged, never in a message)."""
from flask import current_app

from helpdesk.domains.registrars import RegistrarError, RegistrarOrder

NAME = "rest"


def _post(path: str, body: dict, key: str) -> dict:
    import requests  # loaded by the first call, not at every process start

    config = current_app.config
    url = config["REGISTRAR_API_BASE"].rstrip("/") + path
    try:
        response = requests.post(url, json=body, timeout=config["DOMAINS_REGISTRAR_TIMEOUT"], headers={
            "Authorization": f"Bearer {config['REGISTRAR_API_KEY']}", "Idempotency-Key": key,
            "Accept": "application/json"})
    except requests.RequestException as exc:
        raise RegistrarError(f"The registrar could not be reached ({type(exc).__name__}).") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code in (200, 201, 202) and isinstance(answer, dict) and answer.get("id"):
        return answer
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or f"HTTP {response.status_code}")[:300]
    raise RegistrarError(f"The registrar refused: {message} (HTTP {response.status_code})",
                         code=str(error.get("code") or response.status_code))


def _body(order: RegistrarOrder) -> dict:
    return {"domain": order.domain, "period": order.years, "registrant": dict(order.registrant),
            "nameservers": list(order.nameservers)}


class RestRegistrar:
    name = NAME

    def register(self, order: RegistrarOrder) -> str:
        return str(_post("/v1/domains", _body(order), order.key)["id"])

    def transfer(self, order: RegistrarOrder) -> str:
        return str(_post("/v1/transfers", {**_body(order), "auth_code": order.auth_code}, order.key)["id"])
