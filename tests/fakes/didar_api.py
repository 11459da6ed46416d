"""A fake of Didar CRM's HTTP API on loopback, with its shapes: POST <base>/<module>/<action>?ApiKey=<key> with a JSON
body, answers ``{"Response": ...}``; a wrong key is HTTP 401 with ``{"Message": ...}``. deal/save creates (empty
Id) or updates a deal, deal/search finds deals whose Code or Title holds the Criteria's Keyword (paged by From and
Limit, ``{"List": [...], "TotalCount": n}``), activity/save notes an activity on a deal. ``failures`` makes the next
calls answer an HTTP status (e.g. 503) instead; ``requests`` keeps every call (path, query key, body)."""
import json
import threading
import uuid

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

API_KEY = "didar-secret-key-7c1f9a"


def answer(body, status=200):
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeDidar:
    def __init__(self, api_key=API_KEY):
        self.api_key = api_key
        self.deals, self.activities, self.requests = {}, [], []
        self.failures = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url + "/api"
        return self

    def stop(self):
        self.server.stop()

    def deal(self, code):
        return next((deal for deal in self.deals.values() if deal["Code"] == code), None)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request):
        path = request.path.removeprefix("/api/")
        key = request.args.get("ApiKey") or request.args.get("apikey")
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        with self.lock:
            self.requests.append({"path": path, "key": key, "body": body})
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            return answer({"Message": "Service Unavailable"}, status=failure)
        if request.method != "POST":
            return answer({"Message": "The requested resource does not support http method 'GET'."}, 405)
        if key != self.api_key:
            return answer({"Message": "Authorization has been denied for this request."}, 401)
        if not isinstance(body, dict):
            return answer({"Message": "The request is invalid."}, 400)
        handler = {"deal/save": self._save_deal, "deal/search": self._search_deals,
                   "activity/save": self._save_activity}.get(path)
        if handler is None:
            return answer({"Message": f"No HTTP resource was found that matches the request URI '{path}'."}, 404)
        return handler(body)

    def _save_deal(self, body):
        deal = body.get("Deal")
        if not isinstance(deal, dict) or not deal.get("Title"):
            return answer({"Message": "Deal.Title is required."}, 400)
        with self.lock:
            deal_id = deal.get("Id") or str(uuid.uuid4())
            if deal.get("Id") and deal_id not in self.deals:
                return answer({"Message": "Deal not found."}, 400)
            self.deals[deal_id] = {**self.deals.get(deal_id, {}), **deal, "Id": deal_id}
            return answer({"Response": self.deals[deal_id]})

    def _search_deals(self, body):
        keyword = str((body.get("Criteria") or {}).get("Keyword") or "")
        start, limit = int(body.get("From") or 0), int(body.get("Limit") or 30)
        with self.lock:
            found = [d for d in self.deals.values() if keyword in d.get("Code", "") or keyword in d.get("Title", "")]
        return answer({"Response": {"List": found[start:start + limit], "TotalCount": len(found)}})

    def _save_activity(self, body):
        activity = body.get("Activity")
        if not isinstance(activity, dict) or activity.get("DealId") not in self.deals:
            return answer({"Message": "Activity.DealId is not valid."}, 400)
        with self.lock:
            saved = {**activity, "Id": str(uuid.uuid4())}
            self.activities.append(saved)
        return answer({"Response": saved})
