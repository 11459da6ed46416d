"""Fixtures shared by the integration tests of one area (the suite-wide ones are in tests/conftest.py)."""
import pytest

from helpdesk.devices import events


@pytest.fixture
def followed():
    """The events the devices package tells its followers (the CRM sync follows them): (kind, device id,
    details) in order."""
    seen = []

    def follower(kind, device, details):
        seen.append((kind, device.id, details))

    events.follow(follower)
    yield seen
    events.unfollow(follower)


S3_CREDENTIALS = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on loopback (a real HTTP server speaking the S3 protocol), one per test process: its URL."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint):
    """A bucket of this test's own on ``s3_endpoint``: (boto3 client, bucket name)."""
    import uuid

    import boto3

    name = f"test-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def s3_settings(s3_endpoint, s3_bucket):
    """The overrides that put ``app_factory(**s3_settings)``'s files into ``s3_bucket``."""
    return {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": s3_endpoint, "S3_BUCKET": s3_bucket[1],
            "S3_ADDRESSING_STYLE": "path", **S3_CREDENTIALS}
