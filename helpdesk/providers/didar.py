"""The Didar CRM adapter (helpdesk.devices.crm.CrmClient) against Didar's HTTP API at DIDAR_API_BASE
(https://app.didar.me/api): every call is a POST of JSON to ``<base>/<module>/<action>?ApiKey=<key>`` and the answer
is ``{"Response": ...}``. The key travels in the query string, so it is redacted from everything this module says
and from urllib3's debug lines (a logging filter), and a failure's message names the path and status only.

What Didar documents and we use: ``contact/save`` and ``contact/search`` shapes (``{"Contact": {...}}``,
``{"Criteria": {...}, "From": 0, "Limit": n}``), the ``Response`` wrapper, ``Id`` for a record's id. What we assumed
where its public documentation is thin: a device is a *deal* (``deal/save`` with ``{"Deal": {"Id", "Title", "Code",
"Description", "Status"}}``, ``deal/search`` answering ``{"Response": {"List": [...], "TotalCount": n}}``), our key
for it is the deal's ``Code`` ("helpdesk-device-<id>"), its fields are "key: value" lines of the Description (no
custom-field ids to configure), and a contract or case is a done *activity* on the deal (``activity/save`` with
``{"Activity": {"Title", "Note", "DealId", "IsDone"}}``). Didar has no upsert by our key, so the sync remembers
Didar's Id and looks the code up before creating. 5xx, 429 and no answer are temporary; other 4xx are not."""
import logging

from flask import current_app

from helpdesk.devices.crm import CrmError, DeviceRecord, RemoteDevice, device_id_of, redact

NAME = "didar"
PAGE = 100
log = logging.getLogger(__name__)


def _key() -> str:
    return current_app.config.get("DIDAR_API_KEY") or ""


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message without the API key (urllib3 logs the URLs it requests at debug level)."""

    def filter(self, record):
        if "apikey" in str(record.msg).lower() or record.args:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def install_log_filter() -> None:
    for name in ("urllib3.connectionpool", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def _post(path: str, body: dict):
    """POST ``body`` to Didar's ``path``; the answer's ``Response``. CrmError (without the key) otherwise."""
    import requests  # loaded by the first call, not at every process start

    config = current_app.config
    url = config["DIDAR_API_BASE"].rstrip("/") + "/" + path
    try:
        response = requests.post(url, params={"ApiKey": _key()}, json=body, timeout=config["CRM_TIMEOUT"],
                                 headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise CrmError(f"didar: {type(exc).__name__} on {path}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 200 and isinstance(answer, dict) and "Response" in answer:
        return answer["Response"]
    said = ""
    if isinstance(answer, dict):
        said = str(answer.get("Message") or answer.get("Error") or "")[:200]
    status = response.status_code
    message = redact(f"didar: HTTP {status} on {path}" + (f": {said}" if said else ""), (_key(),))
    raise CrmError(message, retry=status >= 500 or status in (408, 429) or status == 200, status=status)


def _description(record: DeviceRecord) -> str:
    lines = [f"owner: {record.owner}"] + [f"{key}: {value}" for key, value in sorted(record.fields.items())]
    return "\n".join(line.replace("\n", " ") for line in lines)


def _parse_description(text: str) -> tuple[str, dict]:
    fields = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    owner = fields.pop("owner", "")
    return owner, fields


class DidarClient:
    name = NAME

    def find_device(self, code: str) -> str | None:
        found = _post("deal/search", {"Criteria": {"Keyword": code}, "From": 0, "Limit": 10})
        for item in (found or {}).get("List") or []:
            if isinstance(item, dict) and item.get("Code") == code and item.get("Id"):
                return str(item["Id"])
        return None

    def push_device(self, record: DeviceRecord, crm_id: str | None) -> str:
        saved = _post("deal/save", {"Deal": {"Id": crm_id or "", "Title": record.title, "Code": record.code,
                                             "Description": _description(record), "Status": "Pending"}})
        deal_id = saved.get("Id") if isinstance(saved, dict) else None
        if not deal_id:
            raise CrmError("didar: deal/save answered without an Id")
        return str(deal_id)

    def push_event(self, crm_id: str, kind: str, text: str, key: str) -> None:
        _post("activity/save", {"Activity": {"Title": text[:200], "Note": f"{text}\n[{key}]", "DealId": crm_id,
                                             "IsDone": True}})

    def list_devices(self) -> list[RemoteDevice]:
        devices, start = [], 0
        while True:
            page = _post("deal/search", {"Criteria": {"Keyword": "helpdesk-device-"}, "From": start, "Limit": PAGE})
            items = (page or {}).get("List") or []
            for item in items:
                code = str(item.get("Code") or "") if isinstance(item, dict) else ""
                if device_id_of(code) is None:
                    continue
                owner, fields = _parse_description(item.get("Description") or "")
                devices.append(RemoteDevice(crm_id=str(item.get("Id") or ""), code=code,
                                            title=str(item.get("Title") or ""), owner=owner, fields=fields))
            start += len(items)
            if len(items) < PAGE or start >= int((page or {}).get("TotalCount") or 0):
                return devices
