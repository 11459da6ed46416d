"""Configuration: the defaults, HELPDESK_* environment variables, derived settings and the checks that
stop a production start with a secret key anyone could know."""
import os
import secrets

import pytest

from helpdesk import create_app, settings


@pytest.fixture(autouse=True)
def no_helpdesk_variables(monkeypatch):
    """Start from no HELPDESK_* variables, whatever the shell that runs the tests has set."""
    for name in list(os.environ):
        if name.startswith("HELPDESK_"):
            monkeypatch.delenv(name)


def test_default_database_is_sqlite_in_the_instance_folder_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app("testing")
    instance = tmp_path.resolve() / "instance"
    assert app.config["INSTANCE_PATH"] == str(instance)
    assert instance.is_dir()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'helpdesk.db'}"
    assert app.config["ATTACHMENTS_PATH"] == str(instance / "attachments")
    assert (app.config["REDIS_URL"], app.config["SMTP_HOST"], app.config["SMTP_PORT"]) == ("", "", 25)


def test_environment_variables_override_the_defaults(tmp_path, monkeypatch):
    key = secrets.token_urlsafe(48)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql://helpdesk:pw@db.example.test:5432/helpdesk")
    monkeypatch.setenv("HELPDESK_REDIS_URL", "redis://cache.example.test:6379/2")
    monkeypatch.setenv("HELPDESK_SMTP_HOST", "mail.example.test")
    monkeypatch.setenv("HELPDESK_SMTP_PORT", "2525")
    monkeypatch.setenv("HELPDESK_SECRET_KEY", key)
    monkeypatch.setenv("HELPDESK_MAIL_PLUS_ADDRESSING", "false")
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://helpdesk:pw@db.example.test:5432/helpdesk"
    assert app.config["REDIS_URL"] == "redis://cache.example.test:6379/2"
    assert app.config["SMTP_HOST"] == "mail.example.test"
    assert app.config["SMTP_PORT"] == 2525 and isinstance(app.config["SMTP_PORT"], int)
    assert app.secret_key == key
    assert app.config["MAIL_PLUS_ADDRESSING"] is False


def test_instance_path_from_the_environment_holds_database_and_attachments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "srv" / "helpdesk"
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(data))
    app = create_app("testing")
    assert app.config["INSTANCE_PATH"] == str(data.resolve())
    assert data.is_dir() and not (tmp_path / "instance").exists()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{data.resolve() / 'helpdesk.db'}"
    assert app.config["ATTACHMENTS_PATH"] == str(data.resolve() / "attachments")


def test_numbers_in_text_settings_stay_text(tmp_path, monkeypatch):
    # An SMTP password or user made of digits must reach the server as typed, not as a JSON number.
    monkeypatch.setenv("HELPDESK_SMTP_USER", "40312")
    monkeypatch.setenv("HELPDESK_SMTP_PASSWORD", "00120024")
    monkeypatch.setenv("HELPDESK_BRAND_NAME", "true")
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    assert (app.config["SMTP_USER"], app.config["SMTP_PASSWORD"], app.config["BRAND_NAME"]) == (
        "40312", "00120024", "true")


def test_explicit_overrides_win_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_SMTP_HOST", "mail.example.test")
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "SMTP_HOST": "127.0.0.1"})
    assert app.config["SMTP_HOST"] == "127.0.0.1"


def test_config_file_named_in_the_environment_is_read(tmp_path, monkeypatch):
    config_file = tmp_path / "site.py"
    config_file.write_text('BRAND_NAME = "Acme Support"\nSMTP_PORT = 587\n')
    monkeypatch.setenv("HELPDESK_CONFIG", str(config_file))
    app = create_app(None, {"INSTANCE_PATH": str(tmp_path)})
    assert (app.config["BRAND_NAME"], app.config["SMTP_PORT"]) == ("Acme Support", 587)
    monkeypatch.setenv("HELPDESK_CONFIG", str(tmp_path / "missing.py"))
    with pytest.raises(settings.ConfigurationError, match=r"missing\.py"):
        create_app(None, {"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:p@db/helpdesk", "postgresql+psycopg://u:p@db/helpdesk"),
    ("postgres://u@db:6543/helpdesk", "postgresql+psycopg://u@db:6543/helpdesk"),
    ("postgresql+psycopg://u@db/helpdesk", "postgresql+psycopg://u@db/helpdesk"),
    ("sqlite:////var/lib/helpdesk/helpdesk.db", "sqlite:////var/lib/helpdesk/helpdesk.db"),
])
def test_postgresql_urls_use_the_psycopg_3_driver(tmp_path, url, expected):
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected


@pytest.mark.parametrize("secret_key", [None, "dev-insecure-change-me", "replace-me", "x" * 31],
                         ids=["default", "default-given", "example", "too-short"])
def test_production_refuses_a_known_or_short_secret_key(tmp_path, monkeypatch, secret_key):
    monkeypatch.setenv("HELPDESK_ENV", "production")
    if secret_key is not None:
        monkeypatch.setenv("HELPDESK_SECRET_KEY", secret_key)
    with pytest.raises(settings.ConfigurationError) as caught:
        create_app(None, {"INSTANCE_PATH": str(tmp_path)})
    assert "SECRET_KEY" in str(caught.value)


def test_production_refuses_the_default_key_given_as_an_override(tmp_path):
    with pytest.raises(settings.ConfigurationError, match="SECRET_KEY"):
        create_app("testing", {"INSTANCE_PATH": str(tmp_path), "ENV": "production",
                               "SECRET_KEY": "dev-insecure-change-me"})


def test_production_starts_with_a_long_random_key(tmp_path, monkeypatch):
    key = secrets.token_urlsafe(48)
    monkeypatch.setenv("HELPDESK_ENV", "production")
    monkeypatch.setenv("HELPDESK_SECRET_KEY", key)
    app = create_app(None, {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["ENV"] == "production" and app.secret_key == key


def test_unknown_smtp_security_is_refused(tmp_path):
    with pytest.raises(settings.ConfigurationError, match="SMTP_SECURITY"):
        create_app("testing", {"INSTANCE_PATH": str(tmp_path), "SMTP_SECURITY": "tls"})


def test_gateway_log_lines_carry_their_details_as_text_or_json(tmp_path, capsys):
    import json
    import logging

    from helpdesk import create_app, logs

    logger = logging.getLogger("helpdesk")
    saved = list(logger.handlers)
    try:
        for fmt in ("json", "text"):
            logger.handlers = []
            app = create_app("testing", {"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": fmt})
            logs.configure(app)
            logging.getLogger("helpdesk.mailgateway").info("inbound %s %s", 7, "new_ticket", extra={
                "fields": {"inbound": 7, "outcome": "new_ticket", "ticket": 1042, "message_id": "<a@b>"}})
            line = capsys.readouterr().err.strip().splitlines()[-1]
            if fmt == "json":
                entry = json.loads(line)
                assert entry["message"] == "inbound 7 new_ticket" and entry["ticket"] == 1042
                assert entry["logger"] == "helpdesk.mailgateway"
            else:
                assert line.endswith("inbound 7 new_ticket inbound=7 outcome=new_ticket ticket=1042 message_id=<a@b>")
    finally:
        logger.handlers = saved
