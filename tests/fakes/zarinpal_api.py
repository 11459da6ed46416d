"""A fake of Zarinpal's payment gateway (REST API v4) on loopback, with its shapes: JSON requests carrying the
merchant id, answers ``{"data": {...,"code": 100}, "errors": []}`` or ``{"data": [], "errors": {"code": -n,
"message": ...}}``; request.json hands out authorities, /pg/StartPay/<authority> is a small page that pays or cancels
and sends the customer to callback_url?Authority=...&Status=OK|NOK, verify.json checks the merchant, the authority
and the AMOUNT (-50 for another one, -51 for an unpaid authority, 101 for one verified before), and unVerified.json
lists paid authorities nobody verified."""
import json
import secrets
import threading
import time
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

MERCHANT_ID = "1344b5d4-0048-11e8-94db-005056a205be"
MINIMUM_IRR = 10_000  # Zarinpal's smallest payment: 10,000 rials (1,000 tomans)
MESSAGES = {-9: "The input params invalid, validation error.", -10: "Terminal is not valid, please check merchant_id.",
            -50: "Session is not valid, amounts values is not the same.",
            -51: "Session is not valid, session is not active paid try.", -54: "Invalid authority."}


def answer(data=None, code=None, status=200):
    if code is None:
        body = {"data": data, "errors": []}
    else:
        body = {"data": [], "errors": {"code": code, "message": MESSAGES.get(code, "error"), "validations": []}}
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeZarinpal:
    """State: authorities (amount, callback, status new|paid|failed|verified, ref_id), every request seen."""

    def __init__(self, merchant_id=MERCHANT_ID):
        self.merchant_id = merchant_id
        self.authorities, self.requests = {}, []
        self.failures = []  # what the next API calls answer instead: an HTTP status, or "timeout"
        self.error_status = 200  # the HTTP status Zarinpal's error answers come with
        self.next_ref_id = 201
        self.lock = threading.Lock()
        self.urls = Map([
            Rule("/pg/v4/payment/request.json", methods=["POST"], endpoint="request_payment"),
            Rule("/pg/v4/payment/verify.json", methods=["POST"], endpoint="verify"),
            Rule("/pg/v4/payment/unVerified.json", methods=["POST"], endpoint="unverified"),
            Rule("/pg/StartPay/<authority>", methods=["GET"], endpoint="start_pay"),
            Rule("/pg/StartPay/<authority>", methods=["POST"], endpoint="start_pay_done"),
        ])
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = self.urls.bind_to_environ(environ).match()
        except Exception as exc:
            return exc(environ, start_response)
        return getattr(self, endpoint)(request, **values)(environ, start_response)

    # ------------------------------------------------------------------ the API

    def _body(self, request, path):
        """The JSON body, recorded; or a refusal (not JSON, another merchant, an injected failure)."""
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        with self.lock:
            self.requests.append({"path": path, "content_type": request.mimetype, "body": body})
            failure = self.failures.pop(0) if self.failures else None
        if failure == "timeout":
            time.sleep(2)
        if failure:
            return None, Response("<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")
        if not isinstance(body, dict):
            return None, answer(code=-9, status=self.error_status)
        if body.get("merchant_id") != self.merchant_id:
            return None, answer(code=-10, status=self.error_status)
        return body, None

    def request_payment(self, request):
        body, refused = self._body(request, "request")
        if refused:
            return refused
        amount, currency = body.get("amount"), body.get("currency", "IRR")
        if (not isinstance(amount, int) or currency not in ("IRR", "IRT") or not body.get("description")
                or not str(body.get("callback_url", "")).startswith(("http://", "https://"))
                or amount < (MINIMUM_IRR if currency == "IRR" else MINIMUM_IRR // 10)):
            return answer(code=-9, status=self.error_status)
        authority = "A" + "0" * 27 + secrets.token_hex(4)
        with self.lock:
            self.authorities[authority] = {
                "amount": amount, "currency": currency, "callback_url": body["callback_url"],
                "description": body["description"], "metadata": body.get("metadata") or {}, "status": "new",
                "ref_id": None, "date": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
        return answer({"code": 100, "message": "Success", "authority": authority, "fee_type": "Merchant",
                       "fee": 1000})

    def verify(self, request):
        body, refused = self._body(request, "verify")
        if refused:
            return refused
        with self.lock:
            held = self.authorities.get(str(body.get("authority")))
            if held is None:
                return answer(code=-54, status=self.error_status)
            if body.get("amount") != held["amount"]:
                return answer(code=-50, status=self.error_status)
            if held["status"] in ("new", "failed"):
                return answer(code=-51, status=self.error_status)
            code = 101 if held["status"] == "verified" else 100
            if held["ref_id"] is None:
                held["ref_id"], self.next_ref_id = self.next_ref_id, self.next_ref_id + 1
            held["status"] = "verified"
        return answer({"code": code, "message": "Verified" if code == 101 else "Paid", "card_hash": "1EBE3EBEBE35C",
                       "card_pan": "502229******5995", "ref_id": held["ref_id"], "fee_type": "Merchant", "fee": 1000})

    def unverified(self, request):
        _body, refused = self._body(request, "unVerified")
        if refused:
            return refused
        with self.lock:
            listed = [{"authority": authority, "amount": held["amount"], "callback_url": held["callback_url"],
                       "referer": "", "date": held["date"]}
                      for authority, held in self.authorities.items() if held["status"] == "paid"]
        return answer({"code": 100, "message": "Success", "authorities": listed})

    # ------------------------------------------------------------------ the payment page

    def start_pay(self, request, authority):
        held = self.authorities.get(authority)
        if held is None:
            return Response("<h1>Invalid authority</h1>", status=404, content_type="text/html")
        page = (f"<!doctype html><html lang='fa' dir='rtl'><head><title>Fake Zarinpal</title></head><body>"
                f"<h1>{escape(held['description'])}</h1><p class='amount'>{held['amount']} IRR</p>"
                f"<form method='post'><button name='pay' value='1'>Pay</button>"
                f"<button name='pay' value='0'>Cancel</button></form></body></html>")
        return Response(page, content_type="text/html")

    def start_pay_done(self, request, authority):
        paid = request.form.get("pay") == "1"
        self.pay(authority) if paid else self.cancel(authority)
        return Response("", status=302, headers={"Location": self.callback_url(authority, paid)})

    # ------------------------------------------------------------------ what happens at Zarinpal

    def pay(self, authority):
        """The customer paid (whether or not they ever come back)."""
        with self.lock:
            self.authorities[authority]["status"] = "paid"

    def cancel(self, authority):
        with self.lock:
            self.authorities[authority]["status"] = "failed"

    def callback_url(self, authority, ok=True, **extra):
        """Where Zarinpal sends the customer back: the callback_url with Authority and Status (and ``extra``, e.g.
        a parameter someone added by hand)."""
        held = self.authorities[authority]
        query = urlencode({"Authority": authority, "Status": "OK" if ok else "NOK", **extra})
        return held["callback_url"] + ("&" if "?" in held["callback_url"] else "?") + query

    def verify_requests(self):
        return [entry["body"] for entry in self.requests if entry["path"] == "verify"]
