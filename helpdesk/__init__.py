"""helpdesk: a helpdesk-first ticketing system. ``create_app`` builds the Flask application."""
import logging
from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def create_app(config=None, overrides=None) -> Flask:
    """Build the app. ``config`` names a settings profile in config/ ("testing") or a .py path;
    ``overrides`` is a dict applied last. Nothing is read at import time."""
    from helpdesk import settings
    from helpdesk.extensions import babel, csrf, db, limiter, login_manager, migrate
    from helpdesk.i18n import select_locale, select_timezone

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    settings.load(app, config, overrides)
    logging.getLogger("helpdesk").setLevel(app.config["LOG_LEVEL"])
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)

    # Mail templates live beside the domain package that sends them.
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(PACKAGE_DIR / "web" / "templates")),
        FileSystemLoader(str(PACKAGE_DIR / "tickets" / "templates")),
        FileSystemLoader(str(PACKAGE_DIR / "accounts" / "templates")),
    ])
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from helpdesk.db import configure_sqlite

            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(PACKAGE_DIR / "translations"))
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)

    _import_models()
    from helpdesk import web

    web.init_app(app)
    if app.config["GC_TUNING"] and not app.testing:
        tune_gc()
    return app


def tune_gc():
    """Garbage collector settings for a long-running helpdesk process (web, gateway, worker): what exists
    once the app is built (modules, mappers, templates, translations) is frozen out of every later
    collection, and collections come after 20,000 new objects rather than 700. Requests and mail batches
    make many short-lived objects, and each full collection walked the whole process: pauses of tens of
    milliseconds, and a fifth of the mail gateway's time."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def _import_models():
    """Register every table with the metadata (for migrations and relationships)."""
    from helpdesk.accounts import models as _accounts  # noqa: F401
    from helpdesk.audit import models as _audit  # noqa: F401
    from helpdesk.kb import models as _kb  # noqa: F401
    from helpdesk.mailgateway import models as _mailgateway  # noqa: F401
    from helpdesk.notify import models as _notify  # noqa: F401
    from helpdesk.tickets import canned as _canned  # noqa: F401
    from helpdesk.tickets import models as _tickets  # noqa: F401
    from helpdesk.tickets import presence as _presence  # noqa: F401
    from helpdesk.tickets import satisfaction as _satisfaction  # noqa: F401
    from helpdesk.tickets import sla_models as _sla  # noqa: F401
