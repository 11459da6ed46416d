"""A WSGI app served on 127.0.0.1 at a free port in a thread, for the provider fakes."""
import threading

from werkzeug.serving import make_server

# How often a test server's loop looks for shutdown(): the default half second was waited out by every test that
# stops a fake (three fakes, up to a second and a half per test).
POLL = 0.02


class LoopbackServer:
    """Serves ``app`` (a WSGI callable) until ``stop``; ``url`` is its base address."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(POLL,),
                                       name=f"fake:{self.url}", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
