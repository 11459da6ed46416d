"""Kavenegar's SMS REST API (https://kavenegar.com/rest.html): POST {base}/v1/{API-KEY}/sms/send.json with the
form fields receptor, message, sender (optional) and localid (our row's reference: Kavenegar answers a repeated
localid with the message it already sent instead of sending it again). The answer is JSON, {"return": {"status",
"message"}, "entries": [{"messageid", "status", "receptor", ...}]}; return.status 200 is accepted, 4xx are refusals
for good (411 invalid receptor, 412 invalid sender, 418 insufficient credit, 403 invalid key ...) except 409
(the server cannot answer now) and 451 (too many calls), which like 5xx and network errors are temporary.

The API key is part of the URL's path: it is replaced by "***" in every message this adapter returns or logs, and
in the lines urllib3 logs about its connections. Settings: KAVENEGAR_API_KEY, KAVENEGAR_SENDER,
KAVENEGAR_API_BASE, KAVENEGAR_TIMEOUT."""
import logging

from flask import current_app

from helpdesk.notify.sms import SmsResult

NAME = "kavenegar"
TEMPORARY = frozenset({409, 451})
log = logging.getLogger(__name__)


def redact(text, key: str) -> str:
    text = str(text)
    return text.replace(key, "***") if key else text


class _RedactKey(logging.Filter):
    """Takes the API key out of urllib3's lines about connections (it logs each request's path)."""

    def filter(self, record):
        key = _current_key()
        if key:
            try:
                message = record.getMessage()
            except Exception:  # a broken record: leave it to the handler's own error report
                return True
            if key in message:
                record.msg, record.args = redact(message, key), ()
        return True


def _current_key() -> str:
    try:
        return current_app.config.get("KAVENEGAR_API_KEY") or ""
    except RuntimeError:  # no app context
        return ""


_FILTER = _RedactKey()


def install_log_filter():
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def receptor(e164: str) -> str:
    """How Kavenegar wants a number: Iranian mobiles as 09..., others with the international prefix 00."""
    digits = e164.lstrip("+")
    if digits.startswith("98"):
        return "0" + digits[2:]
    return "00" + digits


class KavenegarSms:
    name = NAME

    def send(self, phone: str, text: str, *, reference: str) -> SmsResult:
        import requests  # loaded by the first text, not at every process start

        config = current_app.config
        key = config["KAVENEGAR_API_KEY"]
        url = f"{config['KAVENEGAR_API_BASE'].rstrip('/')}/v1/{key}/sms/send.json"
        data = {"receptor": receptor(phone), "message": text, "localid": reference}
        if config.get("KAVENEGAR_SENDER"):
            data["sender"] = config["KAVENEGAR_SENDER"]
        try:
            response = requests.post(url, data=data, timeout=config["KAVENEGAR_TIMEOUT"],
                                     headers={"Accept": "application/json"})
        except requests.RequestException as exc:  # its text names the URL, so the key: only the type is kept
            error = f"Kavenegar could not be reached ({type(exc).__name__})"
            log.warning("kavenegar: %s", error)
            return SmsResult(accepted=False, error=error, retry=True)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        returned = answer.get("return") if isinstance(answer, dict) else None
        returned = returned if isinstance(returned, dict) else {}
        try:
            status = int(returned.get("status") or response.status_code)
        except (TypeError, ValueError):
            status = response.status_code
        if returned and status == 200 and response.status_code == 200:
            entries = answer.get("entries") or [{}]
            entry = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
            return SmsResult(accepted=True, provider_id=str(entry.get("messageid") or ""))
        message = redact(str(returned.get("message") or f"HTTP {response.status_code}")[:300], key)
        error = f"Kavenegar refused the message: {status} {message}"
        # No readable answer (a proxy's page, a cut-off body): the text may or may not have gone; a retry is safe,
        # as Kavenegar answers a repeated localid with the message it already sent.
        retry = status >= 500 or status in TEMPORARY or not returned
        log.warning("kavenegar: %s (%s)", error, "temporary" if retry else "for good")
        return SmsResult(accepted=False, error=error, retry=retry)
