"""A fake RDAP service on loopback (RFC 9082/9083 shapes): GET /domain/<name> answers 200 with an
application/rdap+json domain object for a registered name and 404 with an RDAP error object for a free one;
/dns.json serves an IANA bootstrap file (RFC 9224) naming this server for the TLDs it serves. Failures can be
queued: an HTTP status (500, 429) or "slow" (answers after ``delay`` seconds, past the client's timeout)."""
import json
import threading
import time

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

RDAP = "application/rdap+json"


class FakeRdap:
    def __init__(self, tlds=("hu", "com"), registered=()):
        self.tlds = list(tlds)
        self.registered = {name.lower() for name in registered}
        self.failures, self.delay = [], 3.0
        self.asked = []  # the names asked, in order
        self.lock = threading.Lock()
        self.urls = Map([Rule("/rdap/domain/<name>", endpoint="domain"), Rule("/dns.json", endpoint="bootstrap")])
        self.server = LoopbackServer(self._wsgi)

    def start(self):
        self.server.start()
        self.url = self.server.url
        self.base = self.url + "/rdap/"
        return self

    def stop(self):
        self.server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        endpoint, values = self.urls.bind_to_environ(environ).match()
        response = getattr(self, endpoint)(request, **values)
        return response(environ, start_response)

    def bootstrap(self, request):
        body = {"version": "1.0", "publication": "2026-12-01T00:00:00Z", "description": "fake bootstrap",
                "services": [[self.tlds, [self.base]], [["example"], ["https://rdap.example.invalid/"]]]}
        return Response(json.dumps(body), content_type="application/json")

    def domain(self, request, name):
        with self.lock:
            self.asked.append(name)
            failure = self.failures.pop(0) if self.failures else None
        if failure == "slow":
            time.sleep(self.delay)
        elif failure is not None:
            return Response(json.dumps({"errorCode": failure, "title": "Server error"}), status=failure,
                            content_type=RDAP)
        if name.lower() in self.registered:
            body = {"objectClassName": "domain", "ldhName": name.upper(), "rdapConformance": ["rdap_level_0"],
                    "status": ["active"], "events": [{"eventAction": "registration",
                                                      "eventDate": "2019-04-01T10:00:00Z"}]}
            return Response(json.dumps(body), status=200, content_type=RDAP)
        body = {"errorCode": 404, "title": "Not Found", "rdapConformance": ["rdap_level_0"],
                "description": [f"The domain {name} was not found."]}
        return Response(json.dumps(body), status=404, content_type=RDAP)
