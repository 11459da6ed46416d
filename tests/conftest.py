"""Fixtures against real services: SQLite and a throwaway PostgreSQL database, Redis, and an SMTP
server (aiosmtpd) on loopback. Each database test runs once per backend, except in modules marked
``backends("postgresql")``: tests of the web door (pages, forms, access, escaping), whose database work the
domain tests already run on both.

Apps are built once per test process for each database and set of overrides, then lent to one test at a time
(a fresh instance folder and config each time, tables emptied afterwards): building one costs more than most
tests. A test that changes the app itself (adds a route or a hook) is marked ``fresh_app``."""
import contextlib
import copy
import email
import email.policy
import os
import re
import threading
import time
import uuid

import psycopg
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.extensions import db

PG_ADMIN_URL = os.environ.get("HELPDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HELPDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = os.environ.get("HELPDESK_TEST_BACKENDS", "sqlite,postgresql").split(",")


# --------------------------------------------------------------------------- SMTP

class _Collector:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.refuse = None  # an address to answer "550 no such user" for
        self.per_session = None  # answer "421" to the MAIL after this many messages in one session

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Counted on the session object: one per connection (a peer's port is reused across a long test run).
        count = session.helpdesk_messages = getattr(session, "helpdesk_messages", 0) + 1
        if self.per_session is not None and count > self.per_session:
            return "421 4.7.0 Too many messages in this session, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address.lower() == self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": parsed,
                                  "session": id(session)})
        return "250 OK"


class SMTPServer:
    """A real SMTP server on 127.0.0.1 that keeps what it receives; can be stopped and restarted."""

    def __init__(self):
        self.handler = _Collector()
        self.port = _free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return [m["message"] for m in self.handler.messages]

    @property
    def envelopes(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def clear(self):
        with self.handler.lock:
            self.handler.messages.clear()

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        return self.messages

    def to(self, address):
        return [m for m in self.messages if address in str(m["To"])]


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    if smtp_server.controller is None:
        smtp_server.start()
    smtp_server.clear()
    yield smtp_server
    smtp_server.handler.refuse = smtp_server.handler.per_session = None
    if smtp_server.controller is None:
        smtp_server.start()


# --------------------------------------------------------------------------- databases

@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    name = f"helpdesk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _create_database(name)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def blank_database(backend, tmp_path):
    """An empty database of this test's backend (its own, dropped afterwards), for migrating step by step."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    name = f"helpdesk_blank_{uuid.uuid4().hex[:10]}"
    _create_database(name)
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory, request):
    urls = {}
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'helpdesk.db'}"
    if "postgresql" in BACKENDS:
        urls["postgresql"] = request.getfixturevalue("pg_url")
    return urls


_migrated = set()


def _migrate(app):
    """Upgrade through the real migration chain once per database (so the migrations are tested too)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url not in _migrated:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
        _migrated.add(url)


_TABLES = {}  # number of tables in the metadata -> their names, children first


def _empty_all_tables(app):
    with app.app_context():
        tables = _TABLES.get(len(db.metadata.tables))
        if tables is None:  # sorting the metadata costs more than emptying empty tables: once per set of tables
            tables = _TABLES[len(db.metadata.tables)] = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _empty_postgresql(conn, tables)
            else:  # straight through the driver, inside this transaction: a hundred statements, mostly no-ops
                cursor = conn.connection.dbapi_connection.cursor()
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
                cursor.close()
        db.session.remove()
        engine = db.engine
        if engine.dialect.name == "postgresql" and any(app is cached for cached in _APPS.values()):
            # The next test most often borrows the same app: its connections stay open (a new server process loads
            # the catalogue again for every table it touches). One app's only: each cached app has a pool of its
            # own, and all of them held open passed the server's max_connections.
            if _WARM and _WARM[0] is not engine:
                _WARM.pop().dispose()
            if not _WARM:
                _WARM.append(engine)
        else:
            engine.dispose()


_WARM = []  # the PostgreSQL engine whose connections this test process keeps open between tests


def _empty_postgresql(conn, tables):
    """DELETE from every table (children first; one round trip, a few milliseconds when most are empty, where
    asking which hold rows cost ten times as much) and restart the sequences that were used: a TRUNCATE, which
    makes new files for every table it touches, cost half a second after every test."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("; ".join(f"DELETE FROM {table}" for table in tables))
    except sa.exc.IntegrityError:  # rows that refer to each other across tables: TRUNCATE copes
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
        filled = conn.execute(sa.text(probe)).scalars().all()
        conn.execute(sa.text(f"TRUNCATE {', '.join(filled)} CASCADE"))
    used = conn.execute(sa.text("SELECT schemaname || '.' || sequencename FROM pg_sequences "
                                "WHERE last_value IS NOT NULL")).scalars().all()
    for sequence in used:
        conn.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))


def make_app(database_url, instance, smtp_server=None, **overrides):
    settings = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "REDIS_URL": ""}
    if smtp_server is not None:
        settings.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    settings.update(overrides)
    app = create_app("testing", settings)
    _without_fsync(app)
    return app


def _without_fsync(app):
    """Commits of the test databases are not flushed to disk: nothing here outlives a crash of the machine, and
    on a busy disk the fsync of each of the suite's tens of thousands of commits (SQLite's ``synchronous=FULL``,
    PostgreSQL's ``synchronous_commit``) cost more than the work. What a transaction sees, locks and leaves
    behind is the same (SQLite keeps WAL, foreign keys and its busy timeout)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _no_fsync(dbapi_connection, record):  # after the app's own settings (registered first)
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        engine.dispose()


def _create_database(name):
    """A PostgreSQL database whose commits do not wait for the disk (see ``_without_fsync``)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    """Modules marked ``backends(...)`` run on those backends only (when one of them is being tested at all);
    the slow tests (package installs, fault injection) go first, so they do not make the run's tail."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        chosen = item.callspec.params.get("backend") if hasattr(item, "callspec") else None
        wanted = [name for name in (marker.args if marker else ()) if name in BACKENDS]
        pairs = item.get_closest_marker("backend_pairs")
        if pairs and chosen and len(BACKENDS) > 1:  # with one backend tested, every value runs on it
            value = item.callspec.params.get(pairs.args[0])
            wanted = [pairs.args[1][value]] if value in pairs.args[1] else wanted
        (dropped if chosen and wanted and chosen not in wanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


_APPS = {}  # (database URL, overrides, HELPDESK_* variables) -> an app of this test process, lent to one test at a time
_PATHS = (("ATTACHMENTS_PATH", "attachments"), ("OUTGOING_MAIL_PATH", "outgoing-mail"),
          ("SEARCH_INDEX_PATH", "search-index"), ("MAILDROP_PATH", "maildrop"))


def _copied(value):
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


class _Loan:
    """A cached app lent to one test: its config and test client class as they were, to put back."""

    def __init__(self, app, instance, overrides):
        self.app, self.config, self.client_class = app, {k: _copied(v) for k, v in app.config.items()}, \
            app.test_client_class
        if "INSTANCE_PATH" not in overrides:  # the folders settings derives from it, as create_app would
            instance.mkdir(parents=True, exist_ok=True)
            app.config["INSTANCE_PATH"] = app.instance_path = str(instance)
            for key, folder in _PATHS:
                if key not in overrides:
                    app.config[key] = str(instance / folder)
            if "MAIL_MAILBOXES" not in overrides:
                app.config["MAIL_MAILBOXES"] = [{"name": "maildrop", "type": "maildir",
                                                 "path": app.config["MAILDROP_PATH"]}]
        app.extensions.pop("helpdesk_search", None)  # opened on the index of this test's folder when needed
        _reset_rate_limits()

    def end(self):
        self.app.config.clear()
        self.app.config.update(self.config)
        self.app.test_client_class = self.client_class
        self.app.extensions.pop("helpdesk_search", None)
        _reset_rate_limits()


def _reset_rate_limits():
    """Counts of the rate limiter (logins, resets, votes) start again with each test: a borrowed app keeps its
    limiter's memory, and the browser tests log in without the test client (whose fixture resets it too)."""
    from helpdesk.extensions import limiter

    limiter.reset()


@pytest.fixture
def app_factory(backend, database_urls, tmp_path, smtp_server, request):
    """Build apps on this test's backend (or borrow this process's app with the same settings); every table
    is emptied after the test."""
    built, loans = [], []
    fresh = request.node.get_closest_marker("fresh_app") is not None

    def factory(**overrides):
        url, instance = database_urls[backend], tmp_path / "instance"
        environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("HELPDESK_"))  # settings too
        key = (url, repr(sorted(overrides.items())), repr(environment))
        cached = None if fresh or any(loan.app is _APPS.get(key) for loan in loans) else _APPS.get(key)
        if cached is None:
            app = make_app(url, instance, smtp_server, **overrides)
            _migrate(app)
            if not fresh and key not in _APPS:
                _APPS[key] = app
                loans.append(_Loan(app, instance, overrides))
        else:
            app = cached
            loans.append(_Loan(app, instance, overrides))
        built.append(app)
        return app

    yield factory
    try:
        if built:
            _empty_all_tables(built[0])
    finally:
        for loan in loans:
            loan.end()


@pytest.fixture
def app(app_factory, smtp):
    app = app_factory()
    with app.app_context():
        yield app
        db.session.remove()


class OneContextPerRequestClient(FlaskClient):
    """A test client whose every request gets its own app context, as real HTTP requests do. The ``app``
    fixture keeps a context open for the whole test; Flask would reuse it, so ``g`` (Flask-Login's cached
    user) and the database session would carry over between requests and hide a session that ended."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    from helpdesk.extensions import limiter

    # One limiter object serves every app; counts from earlier tests must not carry over.
    limiter.reset()
    app.test_client_class = OneContextPerRequestClient
    yield app.test_client()
    limiter.reset()


@contextlib.contextmanager
def selects_on(table: str):
    """The SELECT statements that read ``table`` while the block runs, in a list filled as they are sent."""
    import sqlalchemy as sa

    from helpdesk.extensions import db

    seen = []

    def remember(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and table in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)


def csrf_token(page: str) -> str:
    """The CSRF token a browser would send back: the first csrf_token hidden input of the page."""
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "page has no csrf_token input"
    return match.group(1)


def log_in(client, login, password="correct horse battery"):
    """Log in through the login form as a browser would; returns the final response."""
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"login": login, "password": password, "csrf_token": csrf_token(page)},
                       follow_redirects=True)


# --------------------------------------------------------------------------- Redis

@pytest.fixture
def redis_prefix():
    """A queue prefix of this test's own; its queues are deleted afterwards (never FLUSHDB)."""
    from redis import Redis
    from rq import Queue

    prefix = f"helpdesk-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    conn = Redis.from_url(REDIS_URL)
    for name in ("mail", "default", "search"):
        queue = Queue(f"{prefix}-{name}", connection=conn)
        queue.delete(delete_jobs=True)


# --------------------------------------------------------------------------- factories

@pytest.fixture
def make_user(app):
    from helpdesk.accounts import service as accounts
    from helpdesk.actors import SYSTEM

    counter = iter(range(1, 10_000))

    def factory(role="customer", email=None, full_name=None, password="correct horse battery", **kwargs):
        n = next(counter)
        return accounts.create_user(SYSTEM, email=email or f"{role}{n}@example.test",
                                    full_name=full_name or f"{role.title()} {n}", role=role,
                                    password=password, **kwargs)

    return factory


@pytest.fixture
def department(app):
    from helpdesk.actors import SYSTEM
    from helpdesk.tickets import departments

    return departments.create_department(SYSTEM, name="Technical", inbound_address="support@example.test",
                                         reply_from_address="support@example.test", signature="The support team")


@pytest.fixture
def agent(make_user, department):
    from helpdesk.actors import SYSTEM
    from helpdesk.tickets import departments

    user = make_user("agent", email="agent@example.test", full_name="Alex Agent")
    departments.add_agent_to_department(SYSTEM, department, user)
    return user


@pytest.fixture
def customer(make_user):
    return make_user("customer", email="carla@example.test", full_name="Carla Customer")
