"""A fake OpenID Connect provider on loopback, with a fake Facebook (dialog and Graph API) beside it, speaking their
shapes: the discovery document, /authorize (auto-approves the configured test user and redirects with code and
state; S256 PKCE required), /token (checks the client's secret, the code once, the redirect URI and the PKCE
verifier; answers an RS256-signed id_token with the nonce), /jwks, /userinfo; and Facebook's /facebook/dialog/oauth,
/facebook/oauth/access_token and /facebook/me?fields=id,name,email (with the appsecret_proof checked).

``failures`` makes the next answers go wrong as providers do: "wrong_state" (the redirect carries another state),
"denied" (the person cancels: error=access_denied), "bad_signature" (the id_token signed with another key under the
same key id), "expired" (exp in the past), "wrong_nonce", "wrong_audience", "server_error" (the token endpoint
answers 500)."""
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

CLIENT_ID = "helpdesk-test-client"
CLIENT_SECRET = "helpdesk-test-secret-never-logged"
FACEBOOK_APP_ID = "424242"
FACEBOOK_APP_SECRET = "facebook-app-secret-never-logged"


def _json(body, status=200):
    return Response(json.dumps(body), status=status, content_type="application/json")


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeOpenIDProvider:
    """State: the test user the provider logs in (``user``; ``facebook_user`` for Facebook), the codes handed out,
    the access tokens, every token request seen."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
        self.lock = threading.Lock()
        self.reset()
        self.urls = Map([
            Rule("/.well-known/openid-configuration", endpoint="discovery"),
            Rule("/authorize", endpoint="authorize"),
            Rule("/token", methods=["POST"], endpoint="token"),
            Rule("/jwks", endpoint="jwks"),
            Rule("/userinfo", endpoint="userinfo"),
            Rule("/facebook/dialog/oauth", endpoint="facebook_dialog"),
            Rule("/facebook/oauth/access_token", methods=["GET", "POST"], endpoint="facebook_token"),
            Rule("/facebook/me", endpoint="facebook_me"),
        ])
        self.server = LoopbackServer(self._wsgi)

    def reset(self):
        """Forget every code and token, and log in the default test user (a verified Gmail-like address)."""
        self.user = {"sub": "108204268033311374519", "email": "olga@example.test", "email_verified": True,
                     "name": "Olga Open"}
        self.facebook_user = {"id": "10158812345678901", "email": "fiona@example.test", "name": "Fiona Facebook"}
        self.codes, self.tokens, self.token_requests, self.failures = {}, {}, [], []
        self.claims_in_id_token = True  # False: the id_token names the subject only (the rest from /userinfo)
        self.announced_issuer = None  # what the discovery document says the issuer is, when not the real one

    def rotate_key(self):
        """Sign with a new key under a new key id from now on (the JWKS lists only the new one)."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": f"key-{secrets.token_hex(3)}", "use": "sig",
                                                         "alg": "RS256"})

    def start(self):
        self.server.start()
        self.url = self.issuer = self.server.url
        return self

    def stop(self):
        self.server.stop()

    def settings(self, **extra):
        """An OPENID_PROVIDERS entry for this provider."""
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **extra}

    def facebook_settings(self):
        return {"client_id": FACEBOOK_APP_ID, "client_secret": FACEBOOK_APP_SECRET,
                "authorize_url": f"{self.url}/facebook/dialog/oauth", "graph_url": f"{self.url}/facebook"}

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = self.urls.bind_to_environ(environ).match()
        except Exception as exc:
            return exc(environ, start_response)
        return getattr(self, endpoint)(request, **values)(environ, start_response)

    def _failure(self, *kinds):
        """Take the next injected failure when it is one of ``kinds``."""
        with self.lock:
            if self.failures and self.failures[0] in kinds:
                return self.failures.pop(0)
        return None

    # ------------------------------------------------------------------ OpenID Connect

    def discovery(self, request):
        return _json({"issuer": self.announced_issuer or self.issuer, "authorization_endpoint": f"{self.url}/authorize",
                      "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                      "userinfo_endpoint": f"{self.url}/userinfo", "response_types_supported": ["code"],
                      "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                      "scopes_supported": ["openid", "email", "profile"],
                      "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                      "code_challenge_methods_supported": ["S256"]})

    def jwks(self, request):
        return _json({"keys": [self.key.as_dict(private=False)]})

    def _approve(self, args, client_id, user, nonce_required):
        """The consent screen, approved at once for ``user``: a redirect to redirect_uri with code and state."""
        if (args.get("client_id") != client_id or args.get("response_type") != "code"
                or args.get("code_challenge_method") != "S256" or not args.get("code_challenge")
                or not args.get("redirect_uri", "").startswith("http") or (nonce_required and not args.get("nonce"))):
            return Response("<h1>Error 400: invalid_request</h1>", status=400, content_type="text/html")
        state = args.get("state", "")
        if self._failure("denied"):
            query = {"error": "access_denied", "error_description": "The user denied access", "state": state}
        else:
            code = secrets.token_urlsafe(24)
            with self.lock:
                self.codes[code] = {"client_id": client_id, "redirect_uri": args["redirect_uri"], "used": False,
                                    "challenge": args["code_challenge"], "nonce": args.get("nonce"),
                                    "user": dict(user)}
            query = {"code": code, "state": "another-" + state if self._failure("wrong_state") else state}
        separator = "&" if "?" in args["redirect_uri"] else "?"
        return Response("", status=302, headers={"Location": args["redirect_uri"] + separator + urlencode(query)})

    def authorize(self, request):
        return self._approve(request.args, CLIENT_ID, self.user, nonce_required=True)

    def _client(self, request):
        """(client_id, client_secret) from HTTP Basic or the form."""
        if request.authorization and request.authorization.type == "basic":
            return request.authorization.username, request.authorization.password
        return request.form.get("client_id"), request.form.get("client_secret")

    def _redeem(self, values, client_id):
        """The code's grant, spent; or an OAuth error answer. A code works once (RFC 6749 4.1.2)."""
        with self.lock:
            grant = self.codes.get(values.get("code", ""))
            if grant is None or grant["used"] or grant["client_id"] != client_id:
                return None, _json({"error": "invalid_grant", "error_description": "Bad code"}, 400)
            grant["used"] = True
        if values.get("redirect_uri") != grant["redirect_uri"]:
            return None, _json({"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400)
        if _challenge(values.get("code_verifier", "")) != grant["challenge"]:
            return None, _json({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        return grant, None

    def token(self, request):
        client_id, secret = self._client(request)
        with self.lock:
            self.token_requests.append({"client_id": client_id, "form": dict(request.form)})
        if self._failure("server_error"):
            return Response("<h1>500 Internal Server Error</h1>", status=500, content_type="text/html")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return _json({"error": "invalid_client", "error_description": "Unauthorized"}, 401)
        if request.form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        grant, refused = self._redeem(request.form, CLIENT_ID)
        if refused:
            return refused
        access_token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access_token] = grant["user"]
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 3599,
                      "scope": "openid email profile", "id_token": self.id_token(grant["user"], grant["nonce"])})

    def id_token(self, user, nonce):
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": user["sub"], "iat": now, "exp": now + 3600,
                  "nonce": nonce}
        if self.claims_in_id_token:
            claims.update({k: v for k, v in user.items() if k != "sub"})
        if self._failure("expired"):
            claims.update(iat=now - 7200, exp=now - 3600)
        if self._failure("wrong_nonce"):
            claims["nonce"] = "not-the-nonce"
        if self._failure("wrong_audience"):
            claims["aud"] = "someone-else"
        key = self.other_key if self._failure("bad_signature") else self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)

    def userinfo(self, request):
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        user = self.tokens.get(token)
        if user is None:
            return Response("", status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return _json(user)

    # ------------------------------------------------------------------ Facebook

    def facebook_dialog(self, request):
        return self._approve(request.args, FACEBOOK_APP_ID, self.facebook_user, nonce_required=False)

    @staticmethod
    def _facebook_error(message, code=100, status=400):
        return _json({"error": {"message": message, "type": "OAuthException", "code": code,
                                "fbtrace_id": "AbCdEf"}}, status)

    def facebook_token(self, request):
        values = request.values
        if values.get("client_id") != FACEBOOK_APP_ID or values.get("client_secret") != FACEBOOK_APP_SECRET:
            return self._facebook_error("Error validating client secret.", code=1)
        grant, refused = self._redeem(values, FACEBOOK_APP_ID)
        if refused:
            return self._facebook_error("This authorization code has been used.")
        access_token = "EAAG" + secrets.token_urlsafe(30)
        with self.lock:
            self.tokens[access_token] = grant["user"]
        return _json({"access_token": access_token, "token_type": "bearer", "expires_in": 5183944})

    def facebook_me(self, request):
        token = request.args.get("access_token", "")
        user = self.tokens.get(token)
        if user is None:
            return self._facebook_error("Invalid OAuth access token - Cannot parse access token", code=190)
        proof = hmac.new(FACEBOOK_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.args.get("appsecret_proof", ""), proof):
            return self._facebook_error("Invalid appsecret_proof provided in the API argument")
        fields = request.args.get("fields", "id").split(",")
        return _json({field: user[field] for field in fields if field in user})
