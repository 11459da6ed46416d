"""`helpdesk storage migrate --to s3` as an operator runs it: a desk with files on local disk (attachments, raw
mail, identity documents) copied into an S3-compatible bucket (moto's server on loopback), after which the desk
runs on S3 and every file is still there."""
import hashlib
import uuid

import pytest
from click.testing import CliRunner

from helpdesk import storage
from helpdesk.cli import main
from helpdesk.extensions import db

S3 = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test",
      "S3_ADDRESSING_STYLE": "path"}


@pytest.fixture
def bucket(s3_bucket):
    return s3_bucket


def run(app, *args, **settings):
    """The command in this test's app (as the other CLI tests run it), with the S3 settings an operator adds."""
    db.session.commit()
    app.config.update(settings)
    return CliRunner().invoke(main, list(args))


def test_a_local_desk_moves_to_s3_and_every_file_is_read_from_the_bucket_afterwards(app, app_factory, bucket,
                                                                                    s3_endpoint):
    client, name = bucket
    files = [b"the customer's screenshot " * 1000, b"Received: from mx.example\r\n\r\nraw mail", b"x" * 3_000_000]
    keys = [storage.put(data)[0] for data in files]
    document_key = uuid.uuid4().hex * 2
    storage.put_as(document_key, b"%PDF-1.7 an ID card", storage.DOCUMENTS)
    settings = {"S3_BUCKET": name, "S3_ENDPOINT_URL": s3_endpoint, "S3_PREFIX": "desk/", **S3}

    dry = run(app, "storage", "migrate", "--to", "s3", "--dry-run", **settings)
    assert dry.exit_code == 0, dry.output
    assert "4 files" in dry.output and "Dry run" in dry.output
    assert client.list_objects_v2(Bucket=name).get("KeyCount") == 0

    done = run(app, "storage", "migrate", "--to", "s3", **settings)
    assert done.exit_code == 0, done.output
    assert "4 files" in done.output and "STORAGE_BACKEND" in done.output
    listed = {item["Key"] for item in client.list_objects_v2(Bucket=name)["Contents"]}
    assert listed == {f"desk/attachments/{k[:2]}/{k[2:4]}/{k}" for k in keys} | {
        f"desk/documents/{document_key[:2]}/{document_key[2:4]}/{document_key}"}

    again = run(app, "storage", "migrate", "--to", "s3", **settings)
    assert again.exit_code == 0 and "0 files" in again.output and "4 were there already" in again.output

    on_s3 = app_factory(STORAGE_BACKEND="s3", **settings)
    with on_s3.app_context():
        assert [storage.get(key) for key in keys] == files
        assert storage.get(document_key, storage.DOCUMENTS) == b"%PDF-1.7 an ID card"
        with storage.open(keys[2]) as stream:
            assert stream.size == 3_000_000
            assert hashlib.sha256(b"".join(stream)).hexdigest() == keys[2]


def test_a_damaged_file_is_named_and_left_behind_and_the_command_fails(app, bucket, s3_endpoint):
    client, name = bucket
    good, _size = storage.put(b"a good attachment")
    bad, _size = storage.put(b"an attachment the disk will damage")
    storage.path_for(bad).write_bytes(b"an attachment the disk has damaged")

    result = run(app, "storage", "migrate", "--to", "s3", S3_BUCKET=name, S3_ENDPOINT_URL=s3_endpoint, **S3)

    assert result.exit_code == 1
    assert bad in result.output and "Damaged" in result.output
    assert [item["Key"] for item in client.list_objects_v2(Bucket=name)["Contents"]] == [
        f"attachments/{good[:2]}/{good[2:4]}/{good}"]


def test_a_bucket_that_does_not_exist_is_a_clear_error(app, s3_endpoint):
    storage.put(b"anything")
    result = run(app, "storage", "migrate", "--to", "s3", S3_BUCKET="no-such-bucket", S3_ENDPOINT_URL=s3_endpoint,
                 **S3)
    assert result.exit_code == 2
    assert result.output.startswith("error:") and "NoSuchBucket" in result.output
    assert "test" not in result.output.replace("error:", "")  # no credentials in the message


def test_after_the_switch_a_customer_downloads_a_migrated_attachment_through_the_web(app, app_factory, bucket,
                                                                                   s3_endpoint, customer):
    from helpdesk.tickets import service
    from helpdesk.tickets.service import NewAttachment
    from tests.conftest import log_in

    data = b"an attachment written on local disk\n" * 300
    ticket = service.open_ticket(customer, subject="Old file", body_text="Before the move.",
                                 attachments=[NewAttachment("old.txt", "text/plain", data)])
    attachment_id = ticket.messages[0].attachments[0].id
    settings = {"S3_BUCKET": bucket[1], "S3_ENDPOINT_URL": s3_endpoint, **S3}
    done = run(app, "storage", "migrate", "--to", "s3", **settings)
    assert done.exit_code == 0, done.output

    storage.path_for(ticket.messages[0].attachments[0].sha256).unlink()  # served from the bucket, not the disk
    on_s3 = app_factory(STORAGE_BACKEND="s3", **settings)
    browser = on_s3.test_client()
    log_in(browser, "carla@example.test")
    response = browser.get(f"/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == data
