"""The SpotPlayer adapter (helpdesk.devices.videos.VideoLicenceProvider): a licence is issued by POSTing JSON to
``<SPOTPLAYER_API_BASE>/license/edit/`` with the API key in the ``$API`` header (and ``$LEVEL: -1``), the body naming
the course ids (``course``), the holder (``name``), the watermark texts and the ``test`` flag; the answer carries the
licence's ``_id``, its ``key`` and the player ``url``. An error comes as ``{"ex": {"msg": ...}}`` (we read ``msg`` or
``message``); 5xx, 429 and no answer are temporary, other refusals are not. The key never reaches a log or a
message."""
from flask import current_app

from helpdesk.devices.crm import redact
from helpdesk.devices.videos import IssuedLicence, LicenceRequest, VideoLicenceError

NAME = "spotplayer"


class SpotPlayerProvider:
    name = NAME

    def issue(self, request: LicenceRequest) -> IssuedLicence:
        import requests  # loaded by the first call, not at every process start

        config = current_app.config
        key = config.get("SPOTPLAYER_API_KEY") or ""
        body = {"test": bool(request.test), "course": list(request.course_ids), "name": request.name,
                "watermark": {"texts": [{"text": request.watermark}]} if request.watermark else {}}
        try:
            response = requests.post(config["SPOTPLAYER_API_BASE"].rstrip("/") + "/license/edit/", json=body,
                                     headers={"$API": key, "$LEVEL": "-1", "Accept": "application/json"},
                                     timeout=config["VIDEO_LICENCE_TIMEOUT"])
        except requests.RequestException as exc:
            raise VideoLicenceError(f"spotplayer: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("_id") and answer.get("key"):
            return IssuedLicence(licence_id=str(answer["_id"]), key=str(answer["key"]),
                                 url=str(answer.get("url") or ""))
        error = (answer or {}).get("ex") if isinstance(answer, dict) else None
        said = ""
        if isinstance(error, dict):
            said = str(error.get("msg") or error.get("message") or "")[:200]
        status = response.status_code
        raise VideoLicenceError(redact(f"spotplayer: HTTP {status}" + (f": {said}" if said else ""), (key,)),
                                retry=status >= 500 or status in (408, 429) or status == 200)
