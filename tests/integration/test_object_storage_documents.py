"""Identity documents on a desk with STORAGE_BACKEND "s3" (moto's S3 server on loopback): uploaded into the
bucket's documents area (not among the attachments, not on local disk) and read back by the verifier."""
from pathlib import Path

import pytest

from helpdesk.accounts import verification
from tests.integration.billing_shop import billing_app, build_shop, person

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")
S3 = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test",
      "S3_ADDRESSING_STYLE": "path", "S3_PREFIX": "desk/"}


@pytest.fixture
def bucket(s3_bucket):
    return s3_bucket


@pytest.fixture
def app(app_factory, bucket, s3_endpoint):
    yield from billing_app(app_factory, IDENTITY_VERIFICATION="staff", STORAGE_BACKEND="s3", S3_BUCKET=bucket[1],
                           S3_ENDPOINT_URL=s3_endpoint, **S3)


def test_an_identity_document_is_stored_in_the_bucket_and_viewed_by_the_verifier(app, bucket):
    shop = build_shop()
    verifier = person("agent", "vera@example.test")
    verification.grant_verification(shop.admin, verifier)
    account_id = shop.carla_account.customer_account_id
    verification.request_verification(shop.admin, account_id)

    document = verification.submit_document(shop.carla, account_id, filename="id.png", data=PNG)

    client, name = bucket
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith("desk/documents/")
    assert client.get_object(Bucket=name, Key=keys[0])["Body"].read() == PNG
    folder = Path(app.config["INSTANCE_PATH"]) / "identity-documents"
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]
    row, data = verification.open_document(verifier, document.id)
    assert (row.id, data) == (document.id, PNG)
