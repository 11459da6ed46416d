"""A fake OAuth 2 provider on loopback for the mailbox tests, speaking the real shapes: an authorization
endpoint that redirects with code and state (the person at the provider is whoever ``approve_as`` names),
a token endpoint for the authorization_code grant (PKCE S256 checked) and the refresh_token grant, errors
as RFC 6749 JSON with status 400/401, and the RFC 7662 introspection endpoint Dovecot's oauth2 passdb calls."""
import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.loopback import POLL


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeOAuthProvider:
    def __init__(self, client_id="helpdesk-client", client_secret=None):
        self.client_id = client_id
        self.client_secret = client_secret or f"client-secret-{secrets.token_hex(8)}"
        self.approve_as = None       # the account that "logs in" at /authorize
        self.expires_in = 3600       # lifetime of new access tokens, in seconds
        self.rotate_refresh_tokens = True
        self.lock = threading.Lock()
        self.codes = {}              # code -> grant details
        self.refresh_tokens = {}     # refresh token -> {"user", "revoked", "scope"}
        self.access_tokens = {}      # access token -> {"user", "expires_at", "active"}
        self.token_requests = []     # (grant_type, "ok" or the error code, time)
        self.logins = []             # (access token, active, time): every introspection Dovecot made
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(POLL,), daemon=True)
        self.thread.start()

    # ------------------------------------------------------------------ what a test does with it

    def settings(self, **extra):
        """This provider as an entry of MAIL_OAUTH_PROVIDERS."""
        return {"type": "generic", "authorize_url": f"{self.url}/authorize", "token_url": f"{self.url}/token",
                "client_id": self.client_id, "client_secret": self.client_secret,
                "scopes": "openid email imap", **extra}

    def reset(self):
        with self.lock:
            self.approve_as, self.expires_in, self.rotate_refresh_tokens = None, 3600, True
            for store in (self.codes, self.refresh_tokens, self.access_tokens):
                store.clear()
            self.token_requests.clear()
            self.logins.clear()

    def revoke_grants(self, user):
        """The person (or their admin) took the app's access away: refresh tokens die, access tokens too."""
        with self.lock:
            for grant in self.refresh_tokens.values():
                if grant["user"] == user:
                    grant["revoked"] = True
            for token in self.access_tokens.values():
                if token["user"] == user:
                    token["active"] = False

    def invalidate_access_tokens(self, user):
        """Access tokens stop working before their time (a password change at some providers)."""
        with self.lock:
            for token in self.access_tokens.values():
                if token["user"] == user:
                    token["active"] = False

    def requests_of(self, grant_type):
        with self.lock:
            return [outcome for kind, outcome, _at in self.token_requests if kind == grant_type]

    def issued_tokens(self):
        """Every access and refresh token handed out: secrets that must never reach a log."""
        with self.lock:
            return [*self.access_tokens, *self.refresh_tokens]

    def token_live(self, token):
        with self.lock:
            entry = self.access_tokens.get(token)
            return bool(entry and entry["active"] and entry["expires_at"] > time.time())

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ the endpoints

    def _authorize(self, query):
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {"Content-Type": "text/plain"}, b"unknown client or no redirect_uri"
        separator = "&" if "?" in redirect_uri else "?"
        if self.approve_as is None:
            params = {"error": "access_denied", "error_description": "The user declined.", "state": state}
        elif query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge"):
            params = {"error": "invalid_request", "error_description": "PKCE (S256) is required.", "state": state}
        else:
            code = secrets.token_urlsafe(16)
            with self.lock:
                self.codes[code] = {"user": self.approve_as, "redirect_uri": redirect_uri,
                                    "challenge": query["code_challenge"], "scope": query.get("scope", ""),
                                    "expires_at": time.time() + 60}
            params = {"code": code, "state": state}
        return 302, {"Location": redirect_uri + separator + urlencode(params)}, b""

    def _client_authenticated(self, headers, form):
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        return client_id == self.client_id and secret == self.client_secret

    def _issue(self, user, scope, refresh_token=None):
        access = f"at-{secrets.token_urlsafe(24)}"
        self.access_tokens[access] = {"user": user, "expires_at": time.time() + self.expires_in, "active": True}
        if refresh_token is None or self.rotate_refresh_tokens:
            if refresh_token is not None:
                self.refresh_tokens[refresh_token]["revoked"] = True  # a rotated token is used once
            refresh_token = f"rt-{secrets.token_urlsafe(24)}"
            self.refresh_tokens[refresh_token] = {"user": user, "revoked": False, "scope": scope}
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in,
                "refresh_token": refresh_token, "scope": scope}
        if "openid" in scope.split():
            claims = {"iss": self.url, "aud": self.client_id, "sub": hashlib.sha256(user.encode()).hexdigest(),
                      "email": user, "iat": int(time.time()), "exp": int(time.time()) + 3600}
            header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            payload = _b64(json.dumps(claims).encode())
            signature = _b64(hashlib.sha256(f"{header}.{payload}{self.client_secret}".encode()).digest())
            body["id_token"] = f"{header}.{payload}.{signature}"
        return body

    def _token(self, headers, form):
        grant_type = form.get("grant_type")
        with self.lock:
            if not self._client_authenticated(headers, form):
                outcome = (401, {"error": "invalid_client"})
            elif grant_type == "authorization_code":
                outcome = self._code_grant(form)
            elif grant_type == "refresh_token":
                grant = self.refresh_tokens.get(form.get("refresh_token", ""))
                if grant is None or grant["revoked"]:
                    outcome = (400, {"error": "invalid_grant",
                                     "error_description": "The refresh token was revoked or has expired."})
                else:
                    outcome = (200, self._issue(grant["user"], grant["scope"], form["refresh_token"]))
            else:
                outcome = (400, {"error": "unsupported_grant_type"})
            self.token_requests.append((grant_type, outcome[1].get("error", "ok"), time.time()))
        return outcome

    def _code_grant(self, form):
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        if grant is None or grant["expires_at"] < time.time() or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "Unknown or used code."}
        if _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed."}
        return 200, self._issue(grant["user"], grant["scope"])

    def _introspect(self, form):
        token = form.get("token", "")
        with self.lock:
            entry = self.access_tokens.get(token)
            active = bool(entry and entry["active"] and entry["expires_at"] > time.time())
            self.logins.append((token, active, time.time()))
        if not active:
            return 200, {"active": False}
        return 200, {"active": True, "username": entry["user"], "client_id": self.client_id,
                     "exp": int(entry["expires_at"]), "token_type": "Bearer"}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as real providers do: Dovecot's HTTP client reuses its connection, and one the
            # server closed after each answer cost it seconds to notice.
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status, payload):
                self._reply(status, {"Content-Type": "application/json", "Cache-Control": "no-store"},
                            json.dumps(payload).encode())

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/authorize":
                    self._reply(*provider._authorize({k: v[0] for k, v in parse_qs(url.query).items()}))
                else:
                    self._reply(404, {}, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path
                if path == "/token":
                    self._json(*provider._token(self.headers, form))
                elif path == "/introspect":
                    self._json(*provider._introspect(form))
                else:
                    self._reply(404, {}, b"")

        return Handler
