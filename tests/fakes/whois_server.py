"""A fake WHOIS server (RFC 3912) on loopback TCP: it reads one line (the name and CRLF), answers as a registry
does (a record for a registered name, "No match" for a free one) and closes. It can be told to stay silent (the
client's timeout) or to close without a word."""
import socket
import threading

NO_MATCH = "No match"


class FakeWhois:
    def __init__(self, registered=()):
        self.registered = {name.lower() for name in registered}
        self.mode = "answer"  # or "silent" (never answers), "close" (closes at once)
        self.asked = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)  # so that stop() is noticed (closing does not wake accept())
        self.port = self.listener.getsockname()[1]
        self.host = "127.0.0.1"
        self.running = True
        self.thread = threading.Thread(target=self._serve, name=f"fake-whois:{self.port}", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()

    def _serve(self):
        while self.running:
            try:
                connection, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection:
            connection.settimeout(5)
            data = b""
            try:
                while not data.endswith(b"\r\n") and len(data) < 1024:
                    chunk = connection.recv(256)
                    if not chunk:
                        return
                    data += chunk
            except OSError:
                return
            name = data.decode("ascii", errors="replace").strip().lower()
            self.asked.append(name)
            if self.mode == "close":
                return
            if self.mode == "silent":
                threading.Event().wait(3)
                return
            if name in self.registered:
                text = (f"% Whois server 4.0 serving the hu ccTLD\r\n\r\ndomain:         {name}\r\n"
                        "record created: 2019-04-01\r\nregistrar:      Example Registrar Kft.\r\n")
            else:
                text = f"% Whois server 4.0 serving the hu ccTLD\r\n\r\n{NO_MATCH}\r\n"
            connection.sendall(text.encode("utf-8"))
