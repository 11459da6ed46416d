"""One gateway process per mailbox at a time: a PostgreSQL advisory lock, or a file lock on SQLite."""
import fcntl
import hashlib
from pathlib import Path

import sqlalchemy as sa

from helpdesk.extensions import db


class MailboxLock:
    """Try to become the one reader of ``name``; hold it until ``release``."""

    def __init__(self, name, instance_path):
        self.name = name
        self.instance_path = Path(instance_path)
        self._conn = None
        self._file = None

    def acquire(self) -> bool:
        if db.engine.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(f"helpdesk-mailbox:{self.name}".encode()).digest()[:8], "big",
                                 signed=True)
            self._conn = db.engine.connect()
            if self._conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar():
                self._conn.commit()
                self._key = key
                return True
            self._conn.close()
            self._conn = None
            return False
        folder = self.instance_path / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)
        self._file = open(folder / f"mailbox-{safe}.lock", "w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            return False
        return True

    def release(self):
        if self._conn is not None:
            # Closing alone returns the connection to the pool, where its session and the lock live on.
            try:
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self._key)))
                self._conn.commit()
            except sa.exc.DBAPIError:
                self._conn.invalidate()  # the connection is broken: dropping it ends the session and its lock
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
