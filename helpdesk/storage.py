"""Stored files: attachments and raw mail (content-addressed: the key is the sha256 of the bytes) and identity
documents (keys of their own), in one of two stores chosen by STORAGE_BACKEND:

- ``"local"`` (the default): files under ATTACHMENTS_PATH and <instance>/identity-documents, two folder levels
  from the key (``ab/cd/abcd…``), each written to a temporary name, synced (STORAGE_FSYNC) and renamed;
- ``"s3"``: objects in an S3-compatible bucket (S3_BUCKET, S3_ENDPOINT_URL, …) under
  ``<S3_PREFIX><area>/ab/cd/abcd…``, so any number of web, worker and gateway processes on any machine share them.
  A write is durable when S3 has answered it; boto3's client does the retries.

Files are read as streams (``open``: 64 KB at a time), so a download never holds a large file in memory.
``location()`` describes the current app's store in a form that pickles, for the mail gateway's parser
processes, which have no app: they pass it as ``base`` to ``put``."""
import hashlib
import os
import tempfile
import threading
from pathlib import Path

from flask import current_app, has_app_context

ATTACHMENTS = "attachments"  # attachments, raw mail, chat files, KB videos, transfer proofs
DOCUMENTS = "documents"  # identity documents: kept apart, deleted after their retention
AREAS = (ATTACHMENTS, DOCUMENTS)
CHUNK = 64 * 1024
_HEX = frozenset("0123456789abcdef")


class Missing(FileNotFoundError):
    """No file under this key (a FileNotFoundError, so callers catching OSError see it as before)."""


def _check(key: str) -> str:
    if not isinstance(key, str) or len(key) != 64 or not _HEX.issuperset(key):
        raise ValueError("invalid storage key")
    return key


def _relative(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{key}"


# --------------------------------------------------------------------------- where: the current store

def location(config=None) -> dict:
    """The current app's store (or the one ``config`` describes) as plain data (picklable): ``{"backend":
    "local", "roots": {area: folder}}`` or ``{"backend": "s3", ...S3 settings}``."""
    config = current_app.config if config is None else config
    if config.get("STORAGE_BACKEND", "local") == "s3":
        return {"backend": "s3", **{name: config.get(name, "") for name in S3_SETTINGS}}
    return {"backend": "local", "roots": location_of_local(config), "durable": bool(config.get("STORAGE_FSYNC", True))}


def root() -> Path:
    """The local attachment folder of the current app (ATTACHMENTS_PATH)."""
    return Path(current_app.config["ATTACHMENTS_PATH"])


def path_for(key: str, base=None) -> Path:
    """Where a local store keeps ``key`` (under ``base``, else ATTACHMENTS_PATH)."""
    return Path(base or root()) / _relative(_check(key))


def _store_for(base=None):
    if isinstance(base, dict):
        described = base
    elif base is not None:  # a folder, for a process without the app (older callers)
        described = {"backend": "local", "roots": {ATTACHMENTS: str(base)}, "durable": True}
    elif has_app_context():
        described = location()
    else:
        raise RuntimeError("storage needs the app or a location()")
    if described["backend"] == "s3":
        return S3Store.for_settings(described)
    return LocalStore(described["roots"], described.get("durable", True))


# --------------------------------------------------------------------------- the interface

def put(data: bytes, base=None, durable=None) -> tuple[str, int]:
    """Store ``data`` under its sha256 (idempotently) among the attachments and return (key, size). ``base``:
    a ``location()`` (or a folder), for a process without the app. The bytes are durable when this returns
    (unless ``durable=False`` on a local store, for a batch that calls ``flush_to_disk`` once): the database row
    that names them is committed next, and then the mail server is told the mail is processed."""
    key = hashlib.sha256(data).hexdigest()
    _store_for(base).write(ATTACHMENTS, key, data, durable=durable, if_absent=True)
    return key, len(data)


def put_file(fileobj) -> tuple[str, int]:
    """``put`` for a large upload (a KB video): read from ``fileobj`` in chunks, hashed on the way, never held
    in memory whole; returns (key, size)."""
    return _store_for().write_file(ATTACHMENTS, fileobj)


def put_as(key: str, data: bytes, area: str = DOCUMENTS):
    """Store ``data`` under a key of the caller's (identity documents: a random key per upload)."""
    _store_for().write(area, _check(key), data, durable=None, if_absent=False)


def open(key: str, area: str = ATTACHMENTS):
    """The file under ``key`` as a stream (``read(n)``, iteration by chunks, ``size``, ``close``); Missing if
    there is none."""
    return _store_for().open(area, _check(key))


def get(key: str, area: str = ATTACHMENTS) -> bytes:
    """The whole file (for small ones: mail to parse, an attachment to mail); Missing if there is none."""
    with open(key, area) as stream:
        return stream.read()


def exists(key: str, area: str = ATTACHMENTS) -> bool:
    return _store_for().exists(area, _check(key))


def delete(key: str, area: str = DOCUMENTS):
    """Remove the file under ``key`` (nothing if it is gone already)."""
    _store_for().delete(area, _check(key))


def flush_to_disk(where=None):
    """Make every file written so far durable in one go (a local store with STORAGE_FSYNC): for a batch of files
    stored with ``durable=False``, one flush of the file systems costs far less than a sync per file and folder.
    Nothing to do on S3. ``where``: a ``location()`` or a folder (in a process without the app: the mail
    parser's), else the current app's store."""
    if where is not None:
        if not isinstance(where, dict) or (where["backend"] == "local" and where.get("durable", True)):
            os.sync()
        return
    if not has_app_context():
        os.sync()
        return
    config = current_app.config
    if config.get("STORAGE_BACKEND", "local") != "s3" and config.get("STORAGE_FSYNC", True):
        os.sync()


def check() -> str | None:
    """None when the store answers, else what is wrong (for /readyz): cheap, with short timeouts."""
    try:
        return _store_for().check()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]


# --------------------------------------------------------------------------- moving a desk to S3

class Migration:
    """What ``migrate_to_s3`` did: files copied (and their bytes), found there already, and damaged ones (an
    attachment whose bytes no longer have the sha256 it is named by: left where it is, for a person to look at)."""

    def __init__(self):
        self.copied = self.copied_bytes = self.present = 0
        self.damaged = []

    @property
    def seen(self):
        return self.copied + self.present + len(self.damaged)


def migrate_to_s3(dry_run=False, progress=None, every=500) -> Migration:
    """Copy every file of the local store (ATTACHMENTS_PATH and the identity documents' folder) into the S3 bucket
    of the S3_* settings, whatever STORAGE_BACKEND says now: streamed, each attachment's sha256 checked on the
    way, each upload's size checked after it. Files already in the bucket with the same size are left alone, so
    a run stopped half way is simply run again. Local files stay (remove them once the desk runs on S3)."""
    config = current_app.config
    source = LocalStore(location_of_local(config), durable=True)
    target = S3Store.for_settings({name: config.get(name, "") for name in S3_SETTINGS})
    report = Migration()
    for area in AREAS:
        for key in source.keys(area):
            path = source.path(area, key)
            size = path.stat().st_size
            if target.size(area, key) == size:
                report.present += 1
            elif area == ATTACHMENTS and _sha256_of(path) != key:
                report.damaged.append(str(path))
            else:
                if not dry_run:
                    with path.open("rb") as fh:
                        target.upload(area, key, fh, size)
                    if target.size(area, key) != size:
                        raise OSError(f"{area}/{key}: the bucket holds a different size after the upload")
                report.copied += 1
                report.copied_bytes += size
            if progress is not None and report.seen % every == 0:
                progress(report)
    return report


def location_of_local(config) -> dict:
    return {ATTACHMENTS: str(config["ATTACHMENTS_PATH"]),
            DOCUMENTS: str(Path(config["INSTANCE_PATH"]) / "identity-documents")}


def _sha256_of(path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- streams

class Stream:
    """A stored file being read: ``read(n)``, iteration in CHUNK pieces (a Response body), ``size`` (bytes, or
    None when the store does not say), ``close`` (also at the end of iteration)."""

    def __init__(self, raw, size):
        self._raw, self.size = raw, size

    def read(self, n=-1):
        return self._raw.read() if n is None or n < 0 else self._raw.read(n)

    def __iter__(self):
        try:
            while chunk := self._raw.read(CHUNK):
                yield chunk
        finally:
            self.close()

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- local folders

_made = set()  # folders known to exist: saves a mkdir per file on the mail gateway's hot path


class LocalStore:
    def __init__(self, roots: dict, durable: bool = True):
        self.roots, self.durable = roots, durable

    def path(self, area, key) -> Path:
        if area not in self.roots:
            raise ValueError(f"unknown storage area {area!r}")
        return Path(self.roots[area]) / _relative(key)

    def write(self, area, key, data, *, durable=None, if_absent):
        target = self.path(area, key)
        if if_absent and target.exists():
            return
        durable = self.durable if durable is None else durable
        folder = target.parent
        if str(folder) not in _made:
            folder.mkdir(mode=0o700 if area == DOCUMENTS else 0o777, parents=True, exist_ok=True)
            _made.add(str(folder))
        # Write then rename, so a reader never sees half a file and a crash leaves only a temp file.
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        except FileNotFoundError:  # the folder went away since we made it
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        if durable:
            _sync_folder(folder)

    def write_file(self, area, fileobj):
        base = Path(self.roots[area])
        base.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=base, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                key, size = _copy_hashing(fileobj, fh)
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            target = self.path(area, key)
            if target.exists():
                return key, size
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            if self.durable:
                _sync_folder(target.parent)
            return key, size
        finally:
            Path(tmp).unlink(missing_ok=True)

    def open(self, area, key) -> Stream:
        path = self.path(area, key)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            raise Missing(key) from None
        return Stream(fh, os.fstat(fh.fileno()).st_size)

    def exists(self, area, key) -> bool:
        return self.path(area, key).exists()

    def delete(self, area, key):
        self.path(area, key).unlink(missing_ok=True)

    def keys(self, area):
        """Every key stored in ``area`` (for ``helpdesk storage migrate``)."""
        base = Path(self.roots[area])
        if not base.is_dir():
            return
        for first in sorted(base.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for item in sorted(second.iterdir()):
                    if len(item.name) == 64 and _HEX.issuperset(item.name):
                        yield item.name

    def check(self):
        base = Path(self.roots[ATTACHMENTS])
        base.mkdir(parents=True, exist_ok=True)
        return None if os.access(base, os.W_OK) else f"{base} is not writable"


def _copy_hashing(source, target) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


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


# --------------------------------------------------------------------------- S3-compatible object storage

S3_SETTINGS = ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_PREFIX",
               "S3_ADDRESSING_STYLE")


class S3Store:
    """Objects in S3_BUCKET. One boto3 client per process and set of settings (boto3's clients are thread-safe);
    credentials from the settings, else boto3's own chain (environment, instance role). Secrets never reach a
    log: boto3 logs none, and errors are reported by code and key."""

    _clients = {}
    _lock = threading.Lock()

    def __init__(self, settings: dict, client):
        self.bucket = settings["S3_BUCKET"]
        self.prefix = settings.get("S3_PREFIX") or ""
        self.client = client

    @classmethod
    def for_settings(cls, settings: dict):
        if not settings.get("S3_BUCKET"):
            raise RuntimeError("STORAGE_BACKEND is \"s3\" but S3_BUCKET is empty")
        identity = tuple(str(settings.get(name) or "") for name in S3_SETTINGS)
        with cls._lock:
            client = cls._clients.get(identity)
            if client is None:
                client = cls._clients[identity] = _s3_client(settings)
        return cls(settings, client)

    def name(self, area, key) -> str:
        if area not in AREAS:
            raise ValueError(f"unknown storage area {area!r}")
        return f"{self.prefix}{area}/{_relative(key)}"

    def write(self, area, key, data, *, durable=None, if_absent):
        # Content-addressed keys hold the same bytes whoever writes them: writing again is harmless, and one
        # PUT costs less than a HEAD and a PUT.
        self.client.put_object(Bucket=self.bucket, Key=self.name(area, key), Body=data,
                               ContentLength=len(data), ContentType="application/octet-stream")

    def write_file(self, area, fileobj):
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            key, size = _copy_hashing(fileobj, spool)
            spool.seek(0)
            self.upload(area, key, spool, size)
        return key, size

    def upload(self, area, key, fileobj, size):
        """Upload from a file (``helpdesk storage migrate``): multipart for large files, streamed."""
        self.client.upload_fileobj(fileobj, self.bucket, self.name(area, key),
                                   ExtraArgs={"ContentType": "application/octet-stream"})

    def open(self, area, key) -> Stream:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.name(area, key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise Missing(key) from None
            raise
        return Stream(answer["Body"], answer.get("ContentLength"))

    def size(self, area, key) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.name(area, key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def exists(self, area, key) -> bool:
        return self.size(area, key) is not None

    def delete(self, area, key):
        self.client.delete_object(Bucket=self.bucket, Key=self.name(area, key))

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)
        return None


def _s3_client(settings):
    import boto3
    from botocore.config import Config

    options = {"region_name": settings.get("S3_REGION") or None,
               "endpoint_url": settings.get("S3_ENDPOINT_URL") or None,
               "config": Config(s3={"addressing_style": settings.get("S3_ADDRESSING_STYLE") or "auto"},
                                retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                                max_pool_connections=32)}
    if settings.get("S3_ACCESS_KEY_ID"):
        options.update(aws_access_key_id=settings["S3_ACCESS_KEY_ID"],
                       aws_secret_access_key=settings.get("S3_SECRET_ACCESS_KEY") or None)
    return boto3.session.Session().client("s3", **options)
