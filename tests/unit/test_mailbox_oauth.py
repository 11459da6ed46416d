"""OAuth 2 mailbox settings: the Microsoft and Google presets, providers by settings, what is missing,
and tokens encrypted at rest (with SECRET_ENCRYPTION_KEY, or a key derived from SECRET_KEY)."""
import pytest
from cryptography.fernet import Fernet

from helpdesk.inbound import oauth


def _config(**providers):
    return {"MAIL_OAUTH_PROVIDERS": providers, "SECRET_KEY": "a-secret-key-of-some-length",
            "SECRET_ENCRYPTION_KEY": ""}


def test_microsoft_preset_uses_the_tenants_v2_endpoints_and_asks_for_imap_and_offline_access():
    chosen = oauth.provider(_config(office={"type": "microsoft", "tenant": "contoso.onmicrosoft.com",
                                            "client_id": "app", "client_secret": "s3cret"}), "office")
    assert chosen.authorize_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    assert chosen.token_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert {"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"} <= set(chosen.scopes.split())
    assert "s3cret" not in repr(chosen)


def test_google_preset_asks_for_offline_access_and_sends_no_scope_when_refreshing():
    chosen = oauth.provider(_config(gmail={"type": "google", "client_id": "app", "client_secret": "x"}), "gmail")
    assert "https://mail.google.com/" in chosen.scopes.split()
    assert chosen.authorize_params == {"access_type": "offline", "prompt": "consent"}
    assert chosen.session(5, refreshing=True).scope is None
    assert chosen.session(5).scope == chosen.scopes


def test_any_provider_by_settings_and_what_is_missing_is_named(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    chosen = oauth.provider(_config(corp={"authorize_url": "https://id.example/auth", "scopes": "imap offline",
                                          "token_url": "https://id.example/token", "client_id": "app",
                                          "client_secret_file": str(secret_file)}), "corp")
    assert (chosen.kind, chosen.client_secret, chosen.scopes) == ("generic", "from-a-file", "imap offline")
    with pytest.raises(oauth.ProviderNotConfigured, match="token_url, scopes missing"):
        oauth.provider(_config(corp={"authorize_url": "https://id.example/auth", "client_id": "app"}), "corp")
    with pytest.raises(oauth.ProviderNotConfigured, match="not in MAIL_OAUTH_PROVIDERS"):
        oauth.provider(_config(), "nowhere")


def test_tokens_are_encrypted_with_the_configured_key_or_one_derived_from_the_secret_key():
    derived = oauth.TokenCipher(_config())
    sealed = derived.encrypt("refresh-token-value")
    assert "refresh-token-value" not in sealed
    assert derived.decrypt(sealed) == "refresh-token-value"
    own_key = {**_config(), "SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    with pytest.raises(oauth.NotConnected, match="cannot be decrypted"):
        oauth.TokenCipher(own_key).decrypt(sealed)
    with pytest.raises(oauth.NotConnected):
        oauth.TokenCipher({**_config(), "SECRET_KEY": "another-secret-key"}).decrypt(sealed)
    with pytest.raises(oauth.OAuthMailboxError, match="not a Fernet key"):
        oauth.TokenCipher({**_config(), "SECRET_ENCRYPTION_KEY": "too short"})
