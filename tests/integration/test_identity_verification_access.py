"""Who reaches the identity verification pages, through the test client (on PostgreSQL): no customer downloads an ID
document, not even their own once uploaded; agents without the verification permission get 404 on every console page
and change nothing; guests are asked to log in; another account's status and upload page are unreachable (404), a
member without the billing permission is refused (403); the download is an opaque, uncached, unindexed attachment;
only admins grant the permission; every form needs its CSRF token."""
import io

import pytest
import sqlalchemy as sa

from helpdesk.accounts import verification
from helpdesk.accounts.models import CustomerAccount, Membership
from helpdesk.accounts.verification_models import IdentityDocument
from helpdesk.audit.models import AuditEvent
from helpdesk.extensions import db
from tests.integration.billing_shop import billing_app, person
from tests.integration.billing_web import login, post, settled, text_of, token, web_shop
from tests.integration.test_identity_verification import PNG, stored_files

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, IDENTITY_VERIFICATION="staff")


@pytest.fixture
def world(app):
    """Carla's account asked to verify, with a document awaiting review; Vera may verify, Alex may not; Mia is a
    member of Carla's account without the billing permission."""
    shop = web_shop()
    shop.vera = person("agent", "vera@example.test")
    shop.mia = person("customer", "mia@example.test")
    for user in (shop.vera, shop.mia):
        user.password_hash = shop.carla.password_hash
    verification.grant_verification(shop.admin, shop.vera)
    shop.carla_id = shop.carla_account.customer_account_id
    db.session.add(Membership(account_id=shop.carla_id, user_id=shop.mia.id, can_tickets=True, can_billing=False))
    verification.request_verification(shop.admin, shop.carla_id)
    shop.document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    db.session.commit()
    return shop


def console_paths(world):
    return ["/agent/verifications/", f"/agent/verifications/accounts/{world.carla_id}",
            f"/agent/verifications/documents/{world.document.id}", "/agent/admin/verification-staff"]


def console_posts(world):
    base = f"/agent/verifications/accounts/{world.carla_id}"
    return [(f"{base}/approve", {}), (f"{base}/reject", {"reason": "no"}), (f"{base}/ask", {}),
            ("/agent/verifications/ask", {"email": "carla@example.test"}),
            ("/agent/admin/verification-staff", {"user_id": str(world.agent.id), "granted": "1"})]


def downloads():
    settled()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "identity-document-downloaded"))


def status_of(account_id):
    settled()
    return db.session.get(CustomerAccount, account_id).verification_status


def upload(client, path, data=PNG, name="id.png", page=None):
    return client.post(path, data={"csrf_token": token(client, page or path), "document": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_a_customer_cannot_download_any_document_not_even_their_own(client, world):
    login(client, world.carla)
    page = client.get(f"/accounts/{world.carla_id}/identity")
    assert page.status_code == 200 and "Awaiting review" in text_of(page.text)
    assert "/agent/verifications/documents/" not in page.text and "id.png" not in page.text

    for path in console_paths(world):
        assert client.get(path).status_code == 404, path
    assert downloads() == 0


def test_an_agent_without_the_permission_gets_404_and_changes_nothing(client, world):
    login(client, world.agent)
    for path in console_paths(world):
        assert client.get(path).status_code == 404, path
    for path, data in console_posts(world):
        assert post(client, path, data, page="/agent/").status_code == 404, path
    assert status_of(world.carla_id) == "pending" and downloads() == 0
    assert not verification.is_verification_staff(world.agent)
    assert 'href="/agent/verifications/"' not in client.get("/agent/").text  # no link in the console's menu


def test_guests_are_asked_to_log_in(client, world):
    for path in [*console_paths(world), f"/accounts/{world.carla_id}/identity", "/account/identity"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path, data in [*console_posts(world), (f"/accounts/{world.carla_id}/identity", {}),
                       ("/account/identity", {})]:
        response = post(client, path, data, page="/")
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert downloads() == 0 and status_of(world.carla_id) == "pending"


def test_another_accounts_status_and_upload_are_unreachable(client, world, app):
    login(client, world.bora)
    path = f"/accounts/{world.carla_id}/identity"
    assert client.get(path).status_code == 404
    response = upload(client, path, page="/")
    assert response.status_code == 404
    assert "Carla" not in response.text and "Awaiting review" not in response.text
    assert len(stored_files(app)) == 1  # Carla's own, nothing of Bora's
    settled()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityDocument)) == 1


def test_a_member_without_the_billing_permission_is_refused(client, world):
    login(client, world.mia)
    path = f"/accounts/{world.carla_id}/identity"
    assert client.get(path).status_code == 403
    assert upload(client, path, page="/").status_code == 403
    assert client.get(f"/agent/verifications/documents/{world.document.id}").status_code == 404


def test_a_verifier_downloads_an_opaque_uncached_unindexed_attachment(client, world):
    login(client, world.vera)
    assert 'href="/agent/verifications/"' in client.get("/agent/").text
    queue = client.get("/agent/verifications/")
    assert queue.status_code == 200 and "id.png" in queue.text

    response = client.get(f"/agent/verifications/documents/{world.document.id}")

    assert response.status_code == 200 and response.data == PNG
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in response.headers["Cache-Control"]
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert downloads() == 1


def test_only_admins_reach_the_permission_page(client, world):
    login(client, world.vera)
    assert client.get("/agent/admin/verification-staff").status_code == 404
    login(client, world.admin)
    page = client.get("/agent/admin/verification-staff")
    assert page.status_code == 200 and "Alex" in page.text
    response = post(client, "/agent/admin/verification-staff", {"user_id": str(world.agent.id), "granted": "1"})
    assert response.status_code == 302
    settled()
    assert verification.is_verification_staff(world.agent)


def test_every_form_needs_its_csrf_token(client, world):
    login(client, world.vera)
    base = f"/agent/verifications/accounts/{world.carla_id}"
    assert client.post(f"{base}/approve").status_code == 400
    assert client.post(f"{base}/reject", data={"reason": "no"}).status_code == 400
    login(client, world.carla)
    assert client.post(f"/accounts/{world.carla_id}/identity",
                       data={"document": (io.BytesIO(PNG), "id.png")}).status_code == 400
    assert status_of(world.carla_id) == "pending"
