"""Attachment storage: content-addressed files under <instance>/attachments, keyed by sha256."""
import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def root() -> Path:
    """The storage folder of the current app (ATTACHMENTS_PATH)."""
    return Path(current_app.config["ATTACHMENTS_PATH"])


def path_for(key: str, base=None) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("invalid storage key")
    return Path(base or root()) / key[:2] / key[2:4] / key


_made = set()  # folders known to exist: saves a mkdir per file on the mail gateway's hot path


def put(data: bytes, base=None) -> tuple[str, int]:
    """Store ``data`` (idempotently) and return its key (the sha256 hex) and size. ``base``: the storage
    folder, for a process without the app (the mail gateway's parser process)."""
    key = hashlib.sha256(data).hexdigest()
    target = path_for(key, base)
    if not target.exists():
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
        os.replace(tmp, target)
    return key, len(data)


def get(key: str) -> bytes:
    return path_for(key).read_bytes()
