"""The OAuth 2 client that mailboxes behind Microsoft 365, Gmail or any provider sign in with (issue 13), behind
inbound.oauth's ``TokenClient``: the authorization URL with S256 PKCE, the code traded for tokens, refreshes, with
Authlib over requests. A lasting refusal (invalid_grant...) becomes AuthorizationFailed, anything else (network,
5xx, an answer that is not JSON) TokenEndpointUnavailable; neither message holds a token or the client secret."""
from helpdesk.inbound.oauth import (
    LASTING_ERRORS,
    AuthorizationFailed,
    TokenEndpointUnavailable,
    TokenSession,
)


def _session(session: TokenSession):
    # Imported here: the OAuth client and its HTTP stack are needed only while tokens are fetched, and every
    # process (web, workers, commands) loads this module.
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(session.client_id, session.client_secret, scope=session.scope,
                         code_challenge_method="S256", default_timeout=session.timeout)


def _ask(call):
    import requests
    from authlib.integrations.base_client.errors import OAuthError

    try:
        return call()
    except OAuthError as exc:
        if exc.error in LASTING_ERRORS:
            raise AuthorizationFailed(exc.error, exc.description) from None
        raise TokenEndpointUnavailable(f"token endpoint: {exc.error}: {exc.description or ''}") from None
    except (requests.RequestException, ValueError) as exc:
        raise TokenEndpointUnavailable(f"token endpoint unreachable or not answering JSON: "
                                       f"{type(exc).__name__}") from None


class AuthlibTokenClient:
    """inbound.oauth.TokenClient with Authlib."""

    def authorization_url(self, session, url, *, state, code_verifier, redirect_uri, params) -> str:
        created, _state = _session(session).create_authorization_url(
            url, state=state, code_verifier=code_verifier, redirect_uri=redirect_uri, **params)
        return created

    def fetch_token(self, session, url, *, code, code_verifier, redirect_uri) -> dict:
        return _ask(lambda: _session(session).fetch_token(url, grant_type="authorization_code", code=code,
                                                          redirect_uri=redirect_uri, code_verifier=code_verifier))

    def refresh_token(self, session, url, *, refresh_token) -> dict:
        return _ask(lambda: _session(session).refresh_token(url, refresh_token=refresh_token))
