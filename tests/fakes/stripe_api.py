"""A fake of Stripe's API and hosted Checkout on loopback, with Stripe's shapes: POST /v1/checkout/sessions takes
form-encoded parameters (bracketed keys) and an ``Authorization: Bearer sk_...`` header and answers a
checkout.session object or Stripe's ``{"error": {...}}`` with its status codes; the hosted page is a small HTML form
that "pays" and sends the customer to success_url; webhooks go to the app as Stripe sends them: a JSON event signed
with ``Stripe-Signature: t=...,v1=...`` on the exact bytes, the same event several times, in parallel and out of
order when a test asks."""
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from html import escape
from urllib.parse import parse_qsl

import requests
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

API_KEY = "sk_test_51FakeKeyForHelpdeskTests0000000000000000"
WEBHOOK_SECRET = "whsec_FakeSigningSecretForHelpdeskTests000"
# Stripe's presentment currencies among ours (IRR is not one), and its exponent for each: HUF is two-decimal in
# the API, and charges in it must be whole forints (an amount divisible by 100).
CURRENCIES = {"eur": 2, "try": 2, "huf": 2}
LOCALES = {"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "et", "fi", "fr", "hu", "it", "ja", "nl", "pl",
           "pt", "ro", "ru", "sk", "sv", "tr", "zh"}
REQUIRED = ("mode", "line_items[0][price_data][currency]", "line_items[0][price_data][unit_amount]",
            "line_items[0][price_data][product_data][name]", "line_items[0][quantity]", "success_url", "cancel_url")


def _id(prefix):
    return f"{prefix}_{secrets.token_hex(12)}"


def nested(form: dict, prefix: str) -> dict:
    """``metadata[attempt_id]=7`` → {"attempt_id": "7"} for ``prefix`` "metadata"."""
    return {key[len(prefix) + 1:-1]: value for key, value in form.items()
            if key.startswith(prefix + "[") and key.endswith("]") and "[" not in key[len(prefix) + 1:-1]}


def error(status, message, *, kind="invalid_request_error", code=None, param=None):
    body = {"error": {"type": kind, "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeStripe:
    """State: checkout sessions, payment intents, every API request seen (``requests``), events sent."""

    def __init__(self, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET):
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.sessions, self.intents, self.idempotent = {}, {}, {}
        self.requests, self.deliveries = [], []
        self.failures = []  # what the next API calls answer instead: an HTTP status, or "timeout"
        self.webhook_url = None
        self.deliver_on_pay = True  # the hosted page's "Pay" sends the webhooks (in a thread, as Stripe does)
        self.lock = threading.Lock()
        self.urls = Map([
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
            Rule("/v1/checkout/sessions/<session_id>", methods=["GET"], endpoint="retrieve_session"),
            Rule("/c/pay/<session_id>", methods=["GET"], endpoint="hosted_page"),
            Rule("/c/pay/<session_id>", methods=["POST"], endpoint="hosted_pay"),
        ])
        self.server = LoopbackServer(self._wsgi)

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        adapter = self.urls.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
        except Exception as exc:  # werkzeug's NotFound / MethodNotAllowed are responses themselves
            return exc(environ, start_response)
        response = getattr(self, endpoint)(request, **values)
        return response(environ, start_response)

    # ------------------------------------------------------------------ the API

    def _authorised(self, request):
        with self.lock:
            self.requests.append({"method": request.method, "path": request.path, "headers": dict(request.headers),
                                  "form": dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))})
            failure = self.failures.pop(0) if self.failures else None
        if failure == "timeout":
            time.sleep(2)
            return error(500, "Too slow")
        if failure:
            return error(failure, "An error occurred with our connection to Stripe.", kind="api_error")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error(401, f"Invalid API Key provided: {request.headers.get('Authorization', '')[7:15]}****")
        return None

    def create_session(self, request):
        refused = self._authorised(request)
        if refused:
            return refused
        if request.mimetype != "application/x-www-form-urlencoded":
            return error(400, "Invalid request: the body must be form-encoded.")
        form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            if key and key in self.idempotent:
                earlier, session_id = self.idempotent[key]
                if earlier != form:
                    return error(400, "Keys for idempotent requests can only be used with the same parameters.",
                                 kind="idempotency_error")
                return Response(json.dumps(self.public(self.sessions[session_id])),
                                content_type="application/json")
        refused = self._check(form)
        if refused:
            return refused
        session = self._session(form)
        with self.lock:
            self.sessions[session["id"]] = session
            if key:
                self.idempotent[key] = (form, session["id"])
        return Response(json.dumps(self.public(session)), content_type="application/json")

    def _check(self, form):
        for param in REQUIRED:
            if not form.get(param):
                return error(400, f"Missing required param: {param}.", code="parameter_missing", param=param)
        if form["mode"] != "payment":
            return error(400, "Invalid mode.", param="mode")
        currency = form["line_items[0][price_data][currency]"]
        if currency not in CURRENCIES:
            return error(400, f"Invalid currency: {currency}.", code="invalid_currency",
                         param="line_items[0][price_data][currency]")
        amount = form["line_items[0][price_data][unit_amount]"]
        if not amount.isdigit() or int(amount) < 1:
            return error(400, "Invalid integer.", param="line_items[0][price_data][unit_amount]")
        if currency == "huf" and int(amount) % 100:
            return error(400, "Invalid amount. Currency HUF is effectively zero-decimal and charged amounts must be "
                              "evenly divisible by 100.", code="invalid_charge_amount_no_decimal_compatible")
        if form.get("locale", "auto") not in LOCALES:
            return error(400, "Invalid locale.", param="locale")
        for param in ("success_url", "cancel_url"):
            if not form[param].startswith(("http://", "https://")):
                return error(400, "Not a valid URL.", code="url_invalid", param=param)
        return None

    def _session(self, form):
        session_id = _id("cs_test")
        amount = int(form["line_items[0][price_data][unit_amount]"]) * int(form["line_items[0][quantity]"])
        return {"id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
                "payment_status": "unpaid", "amount_subtotal": amount, "amount_total": amount,
                "currency": form["line_items[0][price_data][currency]"], "created": int(time.time()),
                "expires_at": int(time.time()) + 86400, "livemode": False, "locale": form.get("locale"),
                "client_reference_id": form.get("client_reference_id"), "customer_email": form.get("customer_email"),
                "metadata": nested(form, "metadata"), "payment_intent": None, "success_url": form["success_url"],
                "cancel_url": form["cancel_url"], "url": f"{self.url}/c/pay/{session_id}",
                "_product_name": form["line_items[0][price_data][product_data][name]"],
                "_intent_metadata": nested(form, "payment_intent_data[metadata]")}

    def retrieve_session(self, request, session_id):
        refused = self._authorised(request)
        if refused:
            return refused
        session = self.sessions.get(session_id)
        if session is None:
            return error(404, f"No such checkout.session: '{session_id}'", code="resource_missing")
        return Response(json.dumps(self.public(session)), content_type="application/json")

    @staticmethod
    def public(session):
        return {key: value for key, value in session.items() if not key.startswith("_")}

    # ------------------------------------------------------------------ hosted Checkout

    def hosted_page(self, request, session_id):
        session = self.sessions.get(session_id)
        if session is None or session["status"] != "open":
            return Response("<h1>This checkout session is no longer available</h1>", status=404,
                            content_type="text/html")
        total = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        page = (f"<!doctype html><html><head><title>Fake Stripe Checkout</title></head><body>"
                f"<h1>Pay {escape(session['_product_name'])}</h1><p class='total'>{escape(total)}</p>"
                f"<form method='post'><label>Card number <input name='card' value='4242 4242 4242 4242'></label>"
                f"<button type='submit'>Pay</button></form>"
                f"<a href='{escape(session['cancel_url'])}'>Back</a></body></html>")
        return Response(page, content_type="text/html")

    def hosted_pay(self, request, session_id):
        if session_id not in self.sessions or self.sessions[session_id]["status"] != "open":
            return Response("gone", status=404)
        events = self.pay(session_id)
        if self.deliver_on_pay and self.webhook_url:
            threading.Thread(target=self.deliver_all, args=(events,), daemon=True).start()
        target = self.sessions[session_id]["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        return Response("", status=303, headers={"Location": target})

    # ------------------------------------------------------------------ what happens at Stripe

    def pay(self, session_id, *, amount_received=None):
        """The customer paid the session: it completes with a PaymentIntent; returns the events Stripe would send
        (checkout.session.completed, payment_intent.succeeded)."""
        with self.lock:
            session = self.sessions[session_id]
            intent = {"id": _id("pi"), "object": "payment_intent", "amount": session["amount_total"],
                      "amount_received": session["amount_total"] if amount_received is None else amount_received,
                      "currency": session["currency"], "status": "succeeded", "metadata": session["_intent_metadata"],
                      "latest_charge": _id("ch"), "created": int(time.time()), "livemode": False}
            self.intents[intent["id"]] = intent
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return [self.event("checkout.session.completed", self.public(session)),
                self.event("payment_intent.succeeded", dict(intent))]

    def expire(self, session_id):
        """The session expired unpaid; returns checkout.session.expired."""
        with self.lock:
            self.sessions[session_id].update(status="expired")
        return self.event("checkout.session.expired", self.public(self.sessions[session_id]))

    @staticmethod
    def event(kind, obj):
        return {"id": _id("evt"), "object": "event", "api_version": "2024-06-20", "created": int(time.time()),
                "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "type": kind}

    # ------------------------------------------------------------------ webhooks

    def sign(self, payload: bytes, *, timestamp=None, secret=None, extra_signatures=()):
        """The Stripe-Signature header for ``payload``: t, then v1 (and any ``extra_signatures`` as further v1)."""
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        digest = hmac.new((secret or self.webhook_secret).encode(), f"{timestamp}.".encode() + payload,
                          hashlib.sha256).hexdigest()
        return ",".join([f"t={timestamp}", *[f"v1={s}" for s in extra_signatures], f"v1={digest}",
                         f"v0={secrets.token_hex(32)}"])

    def deliver(self, event, *, header=None, payload=None, url=None):
        """POST one event to the app as Stripe does; returns the HTTP status."""
        payload = payload if payload is not None else json.dumps(event, indent=2).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": header if header is not None else self.sign(payload)}
        response = requests.post(url or self.webhook_url, data=payload, headers=headers, timeout=30)
        with self.lock:
            self.deliveries.append((event.get("type"), response.status_code, response.text))
        return response.status_code

    def deliver_all(self, events, *, times=1, parallel=False, shuffle=False):
        """Deliver each event ``times`` times: one after the other, or all at once from as many threads (released
        together), in a shuffled order when asked. Returns the statuses."""
        batch = [event for event in events for _ in range(times)]
        if shuffle:
            random.shuffle(batch)
        if not parallel:
            return [self.deliver(event) for event in batch]
        barrier, statuses = threading.Barrier(len(batch)), []

        def send(event):
            barrier.wait(timeout=10)
            statuses.append(self.deliver(event))

        threads = [threading.Thread(target=send, args=(event,)) for event in batch]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return statuses
