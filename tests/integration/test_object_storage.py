"""The storage contract, the same on both stores: local folders and an S3-compatible bucket (moto's S3 server on
loopback, a real HTTP server speaking the S3 protocol, so boto3 runs exactly as against AWS or MinIO)."""
import hashlib
import io
import multiprocessing
import pickle
import uuid

import boto3
import pytest
from flask import has_app_context

from helpdesk import storage

S3 = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test",
      "S3_ADDRESSING_STYLE": "path", "S3_PREFIX": "desk/"}


@pytest.fixture(params=["local", "s3"])
def store(request, app, app_factory):
    """An app context on each store; on S3 a bucket of this test's own, and its boto3 client to look inside."""
    if request.param == "local":
        yield None
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    name = f"contract-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket=name)
    on_s3 = app_factory(STORAGE_BACKEND="s3", S3_BUCKET=name, S3_ENDPOINT_URL=endpoint, **S3)
    with on_s3.app_context():
        yield client, name


def _objects(store):
    client, name = store
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", []))


def test_put_stores_bytes_under_their_sha256_and_get_returns_them(store):
    data = b"a customer's screenshot " * 100
    key, size = storage.put(data)
    assert key == hashlib.sha256(data).hexdigest() and size == len(data)
    assert storage.get(key) == data
    assert storage.exists(key)
    if store is not None:
        assert _objects(store) == [f"desk/attachments/{key[:2]}/{key[2:4]}/{key}"]


def test_putting_the_same_bytes_twice_keeps_one_file(store):
    first = storage.put(b"raw mail\r\n\r\nbody")
    assert storage.put(b"raw mail\r\n\r\nbody") == first
    assert storage.get(first[0]) == b"raw mail\r\n\r\nbody"
    if store is not None:
        assert len(_objects(store)) == 1


def test_a_large_file_is_read_as_a_stream_in_chunks_with_its_size(store):
    data = bytes(range(256)) * 12_000  # about 3 MB
    key, _ = storage.put(data)
    with storage.open(key) as stream:
        assert stream.size == len(data)
        chunks = list(stream)
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= storage.CHUNK
    assert b"".join(chunks) == data


def test_a_large_upload_is_stored_from_a_file_object(store):
    data = b"video frame " * 800_000  # about 9.6 MB: past the spool and boto3's multipart threshold
    key, size = storage.put_file(io.BytesIO(data))
    assert key == hashlib.sha256(data).hexdigest() and size == len(data)
    with storage.open(key) as stream:
        assert hashlib.sha256(b"".join(stream)).hexdigest() == key


def test_a_missing_key_is_missing_and_an_invalid_key_refused(store):
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not storage.exists(absent)
    with pytest.raises(FileNotFoundError):
        storage.get(absent)
    for bad in ("../../etc/passwd", "ABCD" * 16, absent[:-1], absent + "0"):
        with pytest.raises(ValueError):
            storage.open(bad)


def test_identity_documents_live_apart_and_can_be_deleted(store):
    key = uuid.uuid4().hex * 2
    storage.put_as(key, b"%PDF-1.7 an ID card", storage.DOCUMENTS)
    assert storage.get(key, storage.DOCUMENTS) == b"%PDF-1.7 an ID card"
    assert not storage.exists(key, storage.ATTACHMENTS)
    if store is not None:
        assert _objects(store) == [f"desk/documents/{key[:2]}/{key[2:4]}/{key}"]
    storage.delete(key, storage.DOCUMENTS)
    assert not storage.exists(key, storage.DOCUMENTS)


def _put_in_a_parser_process(where, data):
    """Run in a spawned process: no app, no Flask context, only the plain-data location it was handed."""
    assert not has_app_context()
    return storage.put(data, base=where)


def test_a_process_without_the_app_writes_through_the_pickled_location(store):
    where = storage.location()
    assert pickle.loads(pickle.dumps(where)) == where  # noqa: S301 -- our own bytes, as multiprocessing does
    data = b"mail parsed in another process"
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # a fresh interpreter, as MAIL_PARSE_PROCESSES
        written = pool.apply(_put_in_a_parser_process, (where, data))
    assert written == (hashlib.sha256(data).hexdigest(), len(data))
    assert storage.get(written[0]) == data
    if store is not None:
        assert _objects(store) == [f"desk/attachments/{written[0][:2]}/{written[0][2:4]}/{written[0]}"]


def test_the_store_answers_the_readiness_check(store):
    assert storage.check() is None


def test_the_same_key_holds_different_bytes_in_each_area_and_delete_removes_only_one(store):
    key = uuid.uuid4().hex * 2
    storage.put_as(key, b"an attachment's bytes", storage.ATTACHMENTS)
    storage.put_as(key, b"an identity document's bytes", storage.DOCUMENTS)
    assert storage.get(key, storage.ATTACHMENTS) == b"an attachment's bytes"
    assert storage.get(key, storage.DOCUMENTS) == b"an identity document's bytes"
    storage.delete(key, storage.DOCUMENTS)
    assert not storage.exists(key, storage.DOCUMENTS)
    assert storage.get(key, storage.ATTACHMENTS) == b"an attachment's bytes"
    with pytest.raises(storage.Missing):
        storage.open(key, storage.DOCUMENTS)


class _Reads:
    """Wraps what a Stream reads from and records every size asked for."""

    def __init__(self, raw):
        self.raw, self.asked = raw, []

    def read(self, n=-1):
        self.asked.append(n)
        return self.raw.read(n)

    def close(self):
        self.raw.close()


def test_five_megabytes_are_read_64_kb_at_a_time_never_whole(store):
    data = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32)  # 5 MB
    key, _ = storage.put(data)
    stream = storage.open(key)
    assert stream.size == len(data)
    stream._raw = reads = _Reads(stream._raw)
    sizes = [len(chunk) for chunk in stream]
    assert sizes[:-1] == [64 * 1024] * (len(sizes) - 1) and 0 < sizes[-1] <= 64 * 1024
    assert sum(sizes) == len(data) and len(sizes) == 80
    assert all(0 < n <= 64 * 1024 for n in reads.asked)  # never read(-1), never more than a chunk


def test_the_readiness_check_names_a_bucket_that_does_not_exist(app_factory, s3_endpoint):
    on_s3 = app_factory(STORAGE_BACKEND="s3", S3_BUCKET=f"absent-{uuid.uuid4().hex[:12]}",
                        S3_ENDPOINT_URL=s3_endpoint, **S3)
    with on_s3.app_context():
        problem = storage.check()
    assert problem is not None and problem.startswith("ClientError") and "404" in problem, problem
