"""A fake of the registrar REST API helpdesk.providers.registrar_rest speaks, on loopback: bearer key, JSON,
POST /v1/domains (201 {"id": "dom_…", "domain", "status": "active"}; 409 domain_taken for a name it holds),
POST /v1/transfers (202 {"id": "trf_…", "status": "pending"}; 403 invalid_auth_code), errors as
{"error": {"code", "message"}}; the same Idempotency-Key answers the same (one registration). Failures can be
queued: an HTTP status or "slow"."""
import json
import threading
import time

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

API_KEY = "rk_test_4f1c0e2b9a"
AUTH_CODE = "Xk9#pQ2!"


def error(status, code, message):
    return Response(json.dumps({"error": {"code": code, "message": message}}), status=status,
                    content_type="application/json")


class FakeRegistrar:
    def __init__(self, held=()):
        self.held = {name.lower() for name in held}  # names registered elsewhere already
        self.domains, self.transfers, self.by_key, self.requests = {}, {}, {}, []
        self.failures, self.delay = [], 3.0
        self.lock = threading.Lock()
        self.urls = Map([Rule("/v1/domains", methods=["POST"], endpoint="register"),
                         Rule("/v1/transfers", methods=["POST"], endpoint="transfer")])
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        endpoint, _values = self.urls.bind_to_environ(environ).match()
        response = self._handle(request, endpoint)
        return response(environ, start_response)

    def _handle(self, request, endpoint):
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return error(401, "unauthorized", "Invalid API key.")
        body = request.get_json(silent=True) or {}
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests.append((endpoint, body, key))
            failure = self.failures.pop(0) if self.failures else None
            if failure is None and key and key in self.by_key:
                status, answer = self.by_key[key]
                return Response(json.dumps(answer), status=status, content_type="application/json")
        if failure == "slow":
            time.sleep(self.delay)
        elif failure is not None:
            return error(failure, "internal_error", "Temporary failure, try again later.")
        domain = str(body.get("domain") or "").lower()
        if not domain or len(body.get("nameservers") or ()) < 2:
            return error(422, "invalid_request", "domain and two name servers are required.")
        with self.lock:
            if endpoint == "register":
                if domain in self.held or domain in self.domains:
                    return error(409, "domain_taken", f"{domain} is not available.")
                status, answer = 201, {"id": f"dom_{len(self.domains) + 1:04d}", "domain": domain,
                                       "status": "active"}
                self.domains[domain] = body
            else:
                if body.get("auth_code") != AUTH_CODE:
                    return error(403, "invalid_auth_code", "The auth code does not match.")
                status, answer = 202, {"id": f"trf_{len(self.transfers) + 1:04d}", "domain": domain,
                                       "status": "pending"}
                self.transfers[domain] = body
            if key:
                self.by_key[key] = (status, answer)
        return Response(json.dumps(answer), status=status, content_type="application/json")
