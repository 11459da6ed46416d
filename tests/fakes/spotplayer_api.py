"""A fake of SpotPlayer's licence API on loopback: POST /license/edit/ with the API key in the ``$API`` header and a
JSON body {"test", "course": [ids], "name", "watermark": {"texts": [{"text"}]}} answers {"_id", "key", "url"} (the key
a long token, the url SpotPlayer's player link); a wrong key is 403 ``{"ex": {"msg": ...}}``, an unknown course 400.
``failures`` makes the next calls answer an HTTP status instead; ``licences`` keeps every licence issued."""
import json
import secrets
import threading

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

API_KEY = "spot-secret-api-4411"


def answer(body, status=200):
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeSpotPlayer:
    def __init__(self, api_key=API_KEY, courses=("5f3a1c", "5f3a1d")):
        self.api_key, self.courses = api_key, set(courses)
        self.licences, self.requests, self.failures = [], [], []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def _wsgi(self, environ, start_response):
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request):
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        with self.lock:
            self.requests.append({"path": request.path, "key": request.headers.get("$API"), "body": body})
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            return answer({"ex": {"msg": "server error"}}, status=failure)
        if request.path != "/license/edit/" or request.method != "POST":
            return answer({"ex": {"msg": "not found"}}, 404)
        if request.headers.get("$API") != self.api_key:
            return answer({"ex": {"msg": "invalid api key"}}, 403)
        courses = (body or {}).get("course") if isinstance(body, dict) else None
        if not courses or not isinstance(courses, list) or not set(courses) <= self.courses:
            return answer({"ex": {"msg": "invalid course"}}, 400)
        if not str(body.get("name") or "").strip():
            return answer({"ex": {"msg": "name required"}}, 400)
        licence_id = secrets.token_hex(12)
        licence = {"_id": licence_id, "key": "00" + secrets.token_hex(40), "url": f"https://dl.spotplayer.ir/#{licence_id}",
                   "course": courses, "name": body["name"], "watermark": body.get("watermark"),
                   "test": bool(body.get("test"))}
        with self.lock:
            self.licences.append(licence)
        return answer({k: licence[k] for k in ("_id", "key", "url")})
