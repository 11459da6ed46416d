"""A fake of Kavenegar's SMS REST API on loopback, in its real shapes: POST /v1/{API-KEY}/sms/send.json with the
form fields receptor, message, sender and localid; answers {"return": {"status", "message"}, "entries": [...]} with
the HTTP status equal to return.status (403 for a wrong key, 411 for an invalid receptor, 418 for no credit, 5xx
when down). A repeated localid answers the message already sent and sends nothing. ``messages`` is what the
phones received; ``failures`` queues answers for the next calls (an HTTP status, "garbage" for a non-JSON 502,
"empty-ok" for a 200 without a body)."""
import itertools
import json
import re
import threading

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

API_KEY = "4F6B2F6A7A3c2b7A5a3d6e3F2b2B6a4D7a3C2d7B5e2F3a6C="
MESSAGES = {403: "کد شناسائی API-Key معتبر نمی‌باشد", 411: "گیرنده نامعتبر است", 412: "ارسال کننده نامعتبر است",
            413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد", 418: "اعتبار حساب شما کافی نیست",
            500: "خطای داخلی سرور", 502: "خطای سرور", 503: "سرور در دسترس نیست"}
RECEPTOR = re.compile(r"^(09\d{9}|00[1-9]\d{6,14})$")
PATH = re.compile(r"^/v1/([^/]+)/sms/send\.json$")


def _answer(status, entries=None):
    body = {"return": {"status": status, "message": "تایید شد" if status == 200 else MESSAGES.get(status, "خطا")},
            "entries": entries}
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


class FakeKavenegar:
    def __init__(self, sender="10004346"):
        self.sender = sender
        self.messages, self.requests, self.failures = [], [], []
        self.by_localid = {}
        self.ids = itertools.count(8792343)
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def to(self, receptor: str) -> list[str]:
        """The texts the phone ``receptor`` (as Kavenegar writes it, 0912...) received."""
        return [m["message"] for m in self.messages if m["receptor"] == receptor]

    def _wsgi(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request):
        match = PATH.match(request.path)
        if request.method != "POST" or match is None:
            return _answer(404)
        form = request.form
        with self.lock:
            self.requests.append({"key": match.group(1), **form.to_dict()})
            if match.group(1) != API_KEY:
                return _answer(403)
            failure = self.failures.pop(0) if self.failures else None
            if failure == "garbage":
                return Response("<html>Bad Gateway</html>", status=502, content_type="text/html")
            if failure == "empty-ok":  # a proxy's 200 without Kavenegar's answer
                return Response("", status=200, content_type="text/plain")
            if failure is not None:
                return _answer(failure)
            receptor, message, localid = form.get("receptor", ""), form.get("message", ""), form.get("localid", "")
            if not RECEPTOR.match(receptor):
                return _answer(411)
            if not message.strip():
                return _answer(413)
            if localid and localid in self.by_localid:
                return _answer(200, [self.by_localid[localid]])
            entry = {"messageid": next(self.ids), "message": message, "status": 1, "statustext": "در صف ارسال",
                     "sender": form.get("sender") or self.sender, "receptor": receptor, "date": 1733200000,
                     "cost": 120}
            self.messages.append({**entry, "localid": localid})
            if localid:
                self.by_localid[localid] = entry
            return _answer(200, [entry])
