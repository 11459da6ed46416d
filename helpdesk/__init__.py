"""helpdesk: a helpdesk-first ticketing system. ``create_app`` builds the Flask application."""
import importlib
import logging
from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent

# The packages that make up the helpdesk: doors, then domains. Each declares what it brings in its __init__:
#   MODELS = ("models", ...)   its modules that define tables (imported before migrations or queries run)
#   TEMPLATES = "templates"    its template folder (looked up in this order: the web door's first)
#   def init_app(app)          called once the tables of every package are known
#   SERVES_HTTP = True         a door whose init_app only adds what answers HTTP requests (routes, request
#                              hooks, page helpers): skipped by create_app(http=False)
# A package that is not listed here has no tables and no templates as far as the app is concerned; the test
# tests/integration/test_installed_packages.py fails when a module defining tables is not reached.
INSTALLED_PACKAGES = (
    "helpdesk.ops",
    "helpdesk.web",
    "helpdesk.api",
    "helpdesk.livechat",
    "helpdesk.mailgateway",
    "helpdesk.inbound",
    "helpdesk.search",
    "helpdesk.kb",
    "helpdesk.tickets",
    "helpdesk.accounts",
    "helpdesk.notify",
    "helpdesk.audit",
    "helpdesk.billing",
    "helpdesk.providers",
    "helpdesk.status_notices",
    "helpdesk.vault",
    "helpdesk.domains",
    "helpdesk.devices",
    "helpdesk.webhooks",
    "helpdesk.chat",
)
# The shared kernel's modules that define tables (ticket-number counters, jobs waiting to run, periodic runs).
KERNEL_MODELS = ("helpdesk.db", "helpdesk.stamps", "helpdesk.jobs", "helpdesk.scheduler")


def create_app(config=None, overrides=None, http=True) -> Flask:
    """Build the app. ``config`` names a settings profile in config/ ("testing") or a .py path;
    ``overrides`` is a dict applied last. Nothing is read at import time.

    ``http=False`` leaves out the doors that answer HTTP requests (SERVES_HTTP): for a command that serves
    no page (``helpdesk mail ingest``), which then starts in half the time. Their tables are still known,
    and mail renders the same (its template helpers are the app's, ``template_helpers``); it cannot upgrade the
    database (Flask-Migrate is left out)."""
    from helpdesk import settings
    from helpdesk.extensions import babel, csrf, db, limiter, login_manager, migrate
    from helpdesk.i18n import select_locale, select_timezone

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    settings.load(app, config, overrides)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    logging.getLogger("helpdesk").setLevel(app.config["LOG_LEVEL"])
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)

    packages = [importlib.import_module(name) for name in INSTALLED_PACKAGES]
    # Mail templates live beside the domain package that sends them.
    app.jinja_loader = ChoiceLoader([FileSystemLoader(folder) for folder in template_folders(packages)])
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from helpdesk.db import configure_sqlite

            configure_sqlite(db.engine)
    if http:  # schema changes (flask_migrate.upgrade) come from commands that build the whole app
        migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(PACKAGE_DIR / "translations"))
    app.config.setdefault("RATELIMIT_ENABLED", True)
    rate_limit_storage(app)
    limiter.init_app(app)

    import_models(packages)
    template_helpers(app)
    for package in packages:
        if hasattr(package, "init_app") and (http or not getattr(package, "SERVES_HTTP", False)):
            package.init_app(app)
    if app.config["GC_TUNING"] and not app.testing:
        tune_gc()
    return app


def rate_limit_storage(app):
    """Rate-limit counters in Redis when REDIS_URL is set and RATELIMIT_STORAGE_URI is not: counters in one
    process's memory let a client try N times on each web process. Production with memory:// is warned about."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if app.config["ENV"] == "production" and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        logging.getLogger("helpdesk").warning(
            "RATELIMIT_STORAGE_URI is memory:// in production: each web process counts login attempts and API "
            "requests on its own, so with N processes a client gets N times the limit. Set REDIS_URL or "
            "RATELIMIT_STORAGE_URI to a redis:// URL.")


def template_helpers(app):
    """What every template may use, pages and mail alike: the reader's language and text direction, dates
    (Jalali for Persian readers), digits, time zones, isolated user text, the brand."""
    from flask_babel import get_locale

    from helpdesk.i18n import LANGUAGES, format_datetime, format_day, isolate, local_digits, text_direction
    from helpdesk.timezones import zone_label

    @app.context_processor
    def _layout_helpers():
        return {
            "languages": LANGUAGES,
            "current_locale": lambda: str(get_locale()),
            "text_direction": text_direction,
            "brand": app.config["BRAND_NAME"],
        }

    app.jinja_env.globals.update(current_locale=lambda: str(get_locale()), text_direction=text_direction)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["day"] = format_day  # a calendar day, Jalali for Persian readers
    app.jinja_env.filters["local_digits"] = local_digits  # counts in the reader's digits: {{ text|local_digits }}
    app.jinja_env.filters["zone"] = zone_label  # a time zone in the reader's words: {{ user.timezone|zone }}
    app.jinja_env.filters["bdi"] = isolate  # user text in pages and mail: {{ ticket.subject|bdi }}


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


def template_folders(packages) -> list[str]:
    """The template folders the installed packages declare (``TEMPLATES``), in the packages' order."""
    return [str(Path(package.__file__).parent / package.TEMPLATES)
            for package in packages if getattr(package, "TEMPLATES", None)]


def import_models(packages) -> None:
    """Register every table with the metadata (for migrations and relationships): the modules each installed
    package names in ``MODELS``, and the kernel's."""
    for module in KERNEL_MODELS:
        importlib.import_module(module)
    for package in packages:
        for module in getattr(package, "MODELS", ()):
            importlib.import_module(f"{package.__name__}.{module}")
