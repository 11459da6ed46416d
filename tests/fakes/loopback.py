"""A WSGI app served on 127.0.0.1 at a free port in a thread, for the provider fakes."""
import threading

from werkzeug.serving import make_server


class LoopbackServer:
    """Serves ``app`` (a WSGI callable) until ``stop``; ``url`` is its base address."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"fake:{self.url}", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
