"""Attachment storage: content-addressed files under <instance>/attachments, keyed by sha256."""
import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app, has_app_context


def root() -> Path:
    """The storage folder of the current app (ATTACHMENTS_PATH)."""
    return Path(current_app.config["ATTACHMENTS_PATH"])


def path_for(key: str, base=None) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("invalid storage key")
    return Path(base or root()) / key[:2] / key[2:4] / key


_made = set()  # folders known to exist: saves a mkdir per file on the mail gateway's hot path


def put(data: bytes, base=None, durable=None) -> tuple[str, int]:
    """Store ``data`` (idempotently) and return its key (the sha256 hex) and size. ``base`` and ``durable``:
    the storage folder and STORAGE_FSYNC, for a process without the app (the mail gateway's parser process).

    The bytes are on disk when this returns (the file and its folder synced, STORAGE_FSYNC): the database
    row that refers to them is committed next, and then the mail server is told the mail is processed,
    so a power loss in between must not leave a row without its bytes."""
    key = hashlib.sha256(data).hexdigest()
    target = path_for(key, base)
    if not target.exists():
        if durable is None:
            durable = current_app.config.get("STORAGE_FSYNC", True) if has_app_context() else True
        if str(target.parent) not in _made:
            target.parent.mkdir(parents=True, exist_ok=True)
            _made.add(str(target.parent))
        # Write then rename, so a reader never sees half a file and a crash leaves only a temp file.
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except FileNotFoundError:  # the folder went away since we made it
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        if durable:
            _sync_folder(target.parent)
    return key, len(data)


def flush_to_disk():
    """Make every file written so far durable in one go (STORAGE_FSYNC): for a batch of files stored with
    ``durable=False``, one flush of the file systems costs far less than a sync per file and folder."""
    if not has_app_context() or current_app.config.get("STORAGE_FSYNC", True):
        os.sync()


def _sync_folder(folder):
    """Make a rename in ``folder`` durable (POSIX: the folder's entry is data of its own)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the file itself is synced
        pass
    finally:
        os.close(fd)


def get(key: str) -> bytes:
    return path_for(key).read_bytes()
