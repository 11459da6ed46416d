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


def test_a_batch_a_parser_process_prepared_reached_the_disk_there_before_the_gateway_commits_it(
        app, smtp, department, monkeypatch):
    # The parser process writes the raw mail and flushes before it hands the batch back (here the same pure
    # function runs in this process): the gateway then commits the rows without a flush of its own.
    happened, stop = _watch(monkeypatch, app)
    try:
        prepared = pipeline._prepare_in_worker([RAW], storage.location(), app.config["MAX_ATTACHMENT_BYTES"])
        happened.append("handed back")
        stored = pipeline.store_batch([pipeline.Fetched("file", RAW, label="d")], prepared=prepared)
    finally:
        stop()

    ((_item, row),) = stored
    assert storage.get(row.raw_key) == RAW
    assert happened[:3] == ["disk flushed", "handed back", "commit"]


def test_a_parser_process_flushes_nothing_without_storage_fsync(app_factory, smtp, monkeypatch):
    quick = app_factory(STORAGE_FSYNC=False)
    with quick.app_context():
        happened, stop = _watch(monkeypatch, quick)
        try:
            pipeline._prepare_in_worker([RAW], storage.location(), quick.config["MAX_ATTACHMENT_BYTES"])
        finally:
            stop()
        db.session.remove()
    assert happened == []
