"""Load settings: config/default.py, then a config file or named profile, then HELPDESK_* variables."""
import json
import os
from pathlib import Path

from flask import Config, Flask

_PREFIX = "HELPDESK_"


class ConfigurationError(RuntimeError):
    """The configuration cannot work; the message says what to change."""


def config_dir() -> Path:
    """The folder of default.py: inside the installed package, or the source checkout's config/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "config", here.parent / "config"):
        if (candidate / "default.py").is_file():
            return candidate
    raise ConfigurationError("config/default.py not found next to the helpdesk package")


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def load(app: Flask, profile=None, overrides=None):
    """Fill ``app.config``. ``profile`` names a file in config/ (e.g. "testing") or a path to a .py file;
    HELPDESK_CONFIG can name one too. Environment variables win over files; ``overrides`` win over all."""
    _fill(app.config, profile, overrides)


def read(profile=None, overrides=None) -> Config:
    """The settings ``create_app(profile, overrides)`` would load, without an app: for a command that starts
    work before it builds one (``helpdesk mail ingest`` hands its first batches to the parser process)."""
    config = Config(str(Path.cwd()))
    _fill(config, profile, overrides)
    return config


def _fill(config, profile, overrides):
    folder = config_dir()
    config.from_pyfile(str(folder / "default.py"))
    for source in (os.environ.get(f"{_PREFIX}CONFIG"), profile):
        if not source:
            continue
        path = Path(source)
        if not path.suffix:
            path = folder / f"{source}.py"
        if not path.is_file():
            raise ConfigurationError(f"configuration file {path} does not exist")
        config.from_pyfile(str(path.resolve()))
    for key, value in os.environ.items():
        if key.startswith(_PREFIX) and key != f"{_PREFIX}CONFIG":
            name = key[len(_PREFIX):]
            # A setting that is text by default stays text: a password or user name of digits is no number.
            config[name] = value if isinstance(config.get(name), str) else _parse(value)
    config.update(overrides or {})
    _derive(config)
    _check(config)


def _derive(config):
    instance = Path(config.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    config["INSTANCE_PATH"] = str(instance)
    config.setdefault("ATTACHMENTS_PATH", str(instance / "attachments"))
    config.setdefault("OUTGOING_MAIL_PATH", str(instance / "outgoing-mail"))
    config.setdefault("SEARCH_INDEX_PATH", str(instance / "search-index"))
    config.setdefault("MAILDROP_PATH", str(instance / "maildrop"))
    if not config.get("MAIL_MAILBOXES"):
        config["MAIL_MAILBOXES"] = [{"name": "maildrop", "type": "maildir", "path": config["MAILDROP_PATH"]}]
    config["SQLALCHEMY_DATABASE_URI"] = config.get("DATABASE_URL") or f"sqlite:///{instance / 'helpdesk.db'}"
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    config["BABEL_DEFAULT_LOCALE"] = config["DEFAULT_LOCALE"]
    config["BABEL_DEFAULT_TIMEZONE"] = config["DEFAULT_TIMEZONE"]
    config["REMEMBER_COOKIE_DURATION"] = int(config["REMEMBER_COOKIE_DAYS"]) * 86400
    if config.get("SESSION_COOKIE_SECURE") is None:
        # A production site is served over HTTPS: its login cookies must never travel in clear text.
        config["SESSION_COOKIE_SECURE"] = config["ENV"] == "production"
    config["REMEMBER_COOKIE_SECURE"] = bool(config["SESSION_COOKIE_SECURE"])
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["WTF_CSRF_TIME_LIMIT"] = None  # tokens live as long as the session


_DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105 (the value we refuse)


def _check(config):
    if config["ENV"] == "production":
        secret = config.get("SECRET_KEY") or ""
        if secret in (_DEFAULT_SECRET, "replace-me") or len(secret) < 32:
            raise ConfigurationError(
                "refusing to start in production with the default or a short SECRET_KEY: it signs sessions "
                "and ticket reply addresses, so anyone could forge them. Set HELPDESK_SECRET_KEY to a random "
                "string of at least 32 characters, e.g. the output of: "
                "python -c \"import secrets; print(secrets.token_urlsafe(48))\""
            )
    if config.get("SMTP_SECURITY", "") not in ("", "starttls", "ssl"):
        raise ConfigurationError("SMTP_SECURITY must be empty, 'starttls' or 'ssl'")
