"""Flask extension objects, created unbound here and bound to an app in ``create_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from helpdesk.db import Model

db = SQLAlchemy(model_class=Model)


class _Migrations:
    """Flask-Migrate, imported when an app is bound to it: Alembic costs a tenth of a second at start-up, which a
    command that changes no schema (``helpdesk mail ingest``, see ``create_app(http=False)``) need not pay."""

    def init_app(self, app, database, **options):
        from flask_migrate import Migrate

        Migrate().init_app(app, database, **options)


migrate = _Migrations()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
