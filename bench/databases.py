"""Throwaway databases for benchmarks: a file in a folder for SQLite, a fresh database for PostgreSQL."""
import os
import uuid
from contextlib import contextmanager

import psycopg

PG_ADMIN = os.environ.get("HELPDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def throwaway_database(backend, folder):
    """Yield a database URL for ``backend``; a PostgreSQL database is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'helpdesk.db'}"
        return
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
