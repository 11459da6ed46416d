"""Social login adapters behind accounts.social's ``SocialProvider`` (issue 18), with Authlib:

- ``OpenIDConnectProvider``: any OpenID Connect provider by its issuer (Google's is https://accounts.google.com). The
  discovery document gives the endpoints; the authorization-code flow runs with S256 PKCE, state and nonce; the ID
  token's signature is checked against the provider's JWKS (fetched again once for an unknown key id: keys rotate)
  and its iss, aud, exp, iat, nonce (and azp, at_hash when present) are checked.
- ``FacebookProvider``: OAuth 2 (with PKCE) plus the Graph API's /me?fields=id,name,email, called with the
  appsecret_proof. Facebook does not document the email it returns as verified (the User reference calls it the
  primary address on the profile, absent when no valid one is available), so it never counts as verified here:
  linking into an existing login and registering go through the link we mail to that address.

Endpoints come from settings (OPENID_PROVIDERS), so tests point them at loopback. Client secrets, codes and tokens
never reach a log or an exception message."""
import hashlib
import hmac
import threading
import time

from flask import current_app

from helpdesk.accounts.social import AuthorizationRequest, ProviderError, VerifiedClaims

GOOGLE_ISSUER = "https://accounts.google.com"
FACEBOOK_AUTHORIZE_URL = "https://www.facebook.com/v21.0/dialog/oauth"
FACEBOOK_GRAPH_URL = "https://graph.facebook.com/v21.0"
LABELS = {"google": "Google", "facebook": "Facebook"}
# Discovery documents and key sets are kept this long per process (a key id we do not know fetches the set again).
CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60  # clock difference allowed on exp and iat

_CACHE: dict[str, tuple[float, dict]] = {}
_CACHE_LOCK = threading.Lock()


def _timeout():
    return current_app.config["OPENID_TIMEOUT"]


def _get_json(url: str, what: str, force=False, bearer=None, params=None) -> dict:
    """GET ``url`` as a JSON object (with a ``bearer`` token or query ``params``: never cached, else kept for
    CACHE_SECONDS); ProviderError naming ``what`` otherwise."""
    import requests  # loaded by the first call to a provider, not at every process start

    cacheable = bearer is None and params is None
    with _CACHE_LOCK:
        cached = _CACHE.get(url) if cacheable and not force else None
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
        response = requests.get(url, timeout=_timeout(), headers=headers, params=params)
        body = response.json()
    except requests.RequestException as exc:
        raise ProviderError(f"{what}: {type(exc).__name__}") from None
    except ValueError:
        raise ProviderError(f"{what}: HTTP {response.status_code} without JSON") from None
    if response.status_code != 200 or not isinstance(body, dict):
        raise ProviderError(f"{what}: HTTP {response.status_code}")
    if cacheable:
        with _CACHE_LOCK:
            _CACHE[url] = (time.monotonic() + CACHE_SECONDS, body)
    return body


def _session(provider, request: AuthorizationRequest, **kwargs):
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(provider.client_id, provider._client_secret, scope=provider.scope,
                         redirect_uri=request.redirect_uri, code_challenge_method="S256",
                         default_timeout=_timeout(), **kwargs)


def _fetch_token(provider, url: str, code: str, request: AuthorizationRequest, **kwargs) -> dict:
    """The token endpoint's answer for ``code``; ProviderError with the OAuth error code only."""
    import requests
    from authlib.integrations.base_client import OAuthError

    try:
        with _session(provider, request, **kwargs) as session:
            return dict(session.fetch_token(url, code=code, code_verifier=request.code_verifier,
                                            grant_type="authorization_code"))
    except OAuthError as exc:
        raise ProviderError(f"{provider.name} token: {exc.error}") from None
    except requests.RequestException as exc:
        raise ProviderError(f"{provider.name} token: {type(exc).__name__}") from None
    except (ValueError, TypeError, KeyError):
        raise ProviderError(f"{provider.name} token: unreadable answer") from None


class OpenIDConnectProvider:
    """An OpenID Connect provider from its OPENID_PROVIDERS entry: "issuer" (Google's by default for the key
    google), "client_id", "client_secret", optional "label", "scope" and "discovery_url"."""

    def __init__(self, name: str, settings: dict):
        self.name = name
        self.issuer = str(settings.get("issuer") or (GOOGLE_ISSUER if name == "google" else "")).rstrip("/")
        self.label = settings.get("label") or LABELS.get(name) or name.title()
        self.client_id = settings.get("client_id") or ""
        self._client_secret = settings.get("client_secret") or ""
        self.scope = settings.get("scope") or "openid email profile"
        self.discovery_url = settings.get("discovery_url") or f"{self.issuer}/.well-known/openid-configuration"

    def __repr__(self):
        return f"<OpenIDConnectProvider {self.name} {self.issuer}>"  # never the secret

    def metadata(self) -> dict:
        """The discovery document, whose issuer must be the configured one (OpenID Connect Discovery 4.3)."""
        document = _get_json(self.discovery_url, f"{self.name} discovery")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderError(f"{self.name} discovery: another issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(key), str):
                raise ProviderError(f"{self.name} discovery: no {key}")
        return document

    def authorization_url(self, request: AuthorizationRequest) -> str:
        with _session(self, request) as session:
            url, _state = session.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=request.state, code_verifier=request.code_verifier,
                nonce=request.nonce)
        return url

    def exchange(self, code: str, request: AuthorizationRequest) -> VerifiedClaims:
        metadata = self.metadata()
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        token = _fetch_token(self, metadata["token_endpoint"], code, request, token_endpoint_auth_method=method)
        claims = self._id_token_claims(metadata, token, request.nonce)
        email, verified, name = claims.get("email"), claims.get("email_verified") is True, claims.get("name")
        if not email and metadata.get("userinfo_endpoint") and token.get("access_token"):
            info = _get_json(metadata["userinfo_endpoint"], f"{self.name} userinfo", bearer=token["access_token"])
            if info.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2: a userinfo of someone else
                raise ProviderError(f"{self.name} userinfo: another subject")
            email, verified, name = info.get("email"), info.get("email_verified") is True, name or info.get("name")
        return VerifiedClaims(subject=str(claims["sub"]), email=str(email or ""), email_verified=verified,
                              name=str(name or ""))

    def _id_token_claims(self, metadata: dict, token: dict, nonce: str) -> dict:
        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import InvalidKeyIdError, JoseError
        from joserfc.jwk import KeySet
        from joserfc.jws import JWSRegistry

        if not isinstance(token.get("id_token"), str):
            raise ProviderError(f"{self.name} token: no id_token")
        algorithms = [alg for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
                      if alg not in ("none", "HS256", "HS384", "HS512")] or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(token["id_token"], KeySet.import_key_set(self._jwks(metadata)),
                                     registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                decoded = jwt.decode(token["id_token"], KeySet.import_key_set(self._jwks(metadata, force=True)),
                                     registry=registry)
            claims = CodeIDToken(decoded.claims, decoded.header,
                                 {"iss": {"essential": True, "value": self.issuer},
                                  "aud": {"essential": True, "value": self.client_id},
                                  "nonce": {"essential": True, "value": nonce}},
                                 {"nonce": nonce, "client_id": self.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            raise ProviderError(f"{self.name} id_token: {exc.error or type(exc).__name__}") from None
        except (ValueError, TypeError):
            raise ProviderError(f"{self.name} id_token: unreadable") from None
        return dict(claims)

    def _jwks(self, metadata: dict, force=False) -> dict:
        return _get_json(metadata["jwks_uri"], f"{self.name} jwks", force=force)


class FacebookProvider:
    """Facebook Login from its OPENID_PROVIDERS entry: "client_id" (the app id), "client_secret" (the app secret),
    optional "label", "authorize_url" and "graph_url" (the Graph API's versioned base)."""

    scope = "email public_profile"

    def __init__(self, name: str, settings: dict):
        self.name = name
        self.label = settings.get("label") or LABELS.get(name) or name.title()
        self.client_id = settings.get("client_id") or ""
        self._client_secret = settings.get("client_secret") or ""
        self.authorize_url = settings.get("authorize_url") or FACEBOOK_AUTHORIZE_URL
        self.graph_url = str(settings.get("graph_url") or FACEBOOK_GRAPH_URL).rstrip("/")

    def __repr__(self):
        return f"<FacebookProvider {self.name}>"

    def authorization_url(self, request: AuthorizationRequest) -> str:
        with _session(self, request) as session:
            url, _state = session.create_authorization_url(self.authorize_url, state=request.state,
                                                           code_verifier=request.code_verifier)
        return url

    def exchange(self, code: str, request: AuthorizationRequest) -> VerifiedClaims:
        token = _fetch_token(self, f"{self.graph_url}/oauth/access_token", code, request,
                             token_endpoint_auth_method="client_secret_post")  # noqa: S106
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ProviderError(f"{self.name} token: no access_token")
        # appsecret_proof: Graph calls made with a stolen token but without our secret are refused.
        proof = hmac.new(self._client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
        me = _get_json(f"{self.graph_url}/me", f"{self.name} me", params={
            "fields": "id,name,email", "access_token": access_token, "appsecret_proof": proof})
        if not me.get("id"):
            raise ProviderError(f"{self.name} me: no id")
        return VerifiedClaims(subject=str(me["id"]), email=str(me.get("email") or ""), email_verified=False,
                              name=str(me.get("name") or ""))
