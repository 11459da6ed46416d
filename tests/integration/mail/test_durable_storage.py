"""Raw mail reaches the disk before the database row that refers to it is committed (and so before the
mail server is told the message is processed): a power loss in between cannot leave a row without bytes."""
import os

from sqlalchemy import event

from helpdesk import storage
from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline

RAW = (b"From: kim@customer.test\r\nTo: support@example.test\r\nSubject: Durable\r\n"
       b"Message-ID: <d-1@c.test>\r\n\r\nHi\r\n")


def _watch(monkeypatch, app):
    happened = []
    real_sync = os.sync
    monkeypatch.setattr(storage.os, "sync", lambda: (happened.append("disk flushed"), real_sync()))
    listener = lambda session: happened.append("commit")  # noqa: E731
    event.listen(db.session, "before_commit", listener)
    return happened, lambda: event.remove(db.session, "before_commit", listener)


def test_raw_mail_is_flushed_to_disk_before_its_row_is_committed(app, smtp, department, monkeypatch):
    happened, stop = _watch(monkeypatch, app)
    try:
        stored = pipeline.store_batch([pipeline.Fetched("file", RAW, label="d")])
    finally:
        stop()

    ((_item, row),) = stored
    assert storage.get(row.raw_key) == RAW
    assert happened[:2] == ["disk flushed", "commit"]


def test_without_storage_fsync_nothing_is_flushed(app_factory, smtp, monkeypatch):
    quick = app_factory(STORAGE_FSYNC=False)
    with quick.app_context():
        happened, stop = _watch(monkeypatch, quick)
        try:
            pipeline.store_batch([pipeline.Fetched("file", RAW, label="d")])
        finally:
            stop()
        db.session.remove()
    assert "disk flushed" not in happened
