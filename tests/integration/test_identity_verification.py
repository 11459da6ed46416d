"""Identity verification of individual accounts (issue 18): staff, or the first order, ask an individual account to
verify; its orders wait on billing's manual hold; the customer uploads an ID document (checked by its content), which
opens a ticket in the verification queue; staff download it through an audited view and approve (the held orders
proceed, the ticket closes) or reject with a reason (the orders stay held, the customer may upload again); the
customer is told by mail; the file is deleted after its retention (even once verification is switched off) and its
record stays."""
import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpdesk import scheduler
from helpdesk.accounts import verification
from helpdesk.accounts.verification_models import IdentityDocument
from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import payments
from helpdesk.billing.models import ORDER_ACTIVE, ORDER_ON_HOLD, ORDER_PENDING
from helpdesk.db import utcnow
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail
from helpdesk.tickets.models import CLOSED, INTERNAL_NOTE, Department, Ticket
from tests.integration.billing_shop import billing_app, build_shop, order, person

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, IDENTITY_VERIFICATION="staff")


@pytest.fixture
def shop(app):
    shop = build_shop()
    shop.verifier = person("agent", "vera@example.test")
    verification.grant_verification(shop.admin, shop.verifier)
    shop.carla_id = shop.carla_account.customer_account_id
    return shop


def mails_to(address):
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.recipient == address)
                              .order_by(OutboxEmail.id)).all()


def actions(account_id):
    return [row.action for row in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "customer-account", AuditEvent.entity_id == account_id)
        .order_by(AuditEvent.id))]


def stored_files(app):
    folder = Path(app.config["INSTANCE_PATH"]) / "identity-documents"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def paid_order(shop):
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency=invoice.currency,
                            source="manual", external_id=f"paid-{placed.id}")
    db.session.refresh(placed)
    return placed


def test_an_order_waits_for_the_identity_and_the_approval_lets_it_proceed(app, shop):
    verification.request_verification(shop.verifier, shop.carla_id)
    asked = mails_to("carla@example.test")[-1]
    assert "verify your identity" in asked.subject and "/account/identity" in asked.body_text

    placed = paid_order(shop)
    # Paid, but held: payments never lift the hold, and nothing is activated.
    assert placed.status == ORDER_ON_HOLD and [s.status for s in placed.services] == ["pending"]

    document = verification.submit_document(shop.carla, shop.carla_id, filename="ausweis.png", data=PNG)
    assert verification.standing(shop.carla, shop.carla_id).label == "Awaiting review"
    ticket = db.session.get(Ticket, document.ticket_id)
    assert ticket.department.name == "Identity verification" and ticket.requester_id == shop.carla.id
    assert [d.id for d in verification.pending_reviews(shop.verifier)] == [document.id]

    verification.approve(shop.verifier, shop.carla_id)

    db.session.rollback()
    placed = db.session.get(type(placed), placed.id)
    assert placed.status == ORDER_ACTIVE and [s.status for s in placed.services] == ["active"]
    standing = verification.standing(shop.carla, shop.carla_id)
    assert standing.status == "verified" and not standing.may_upload
    ticket = db.session.get(Ticket, document.ticket_id)
    assert ticket.status == CLOSED
    assert any(m.kind == INTERNAL_NOTE and "Identity verified by Vera" in m.body_text for m in ticket.messages)
    subjects = [m.subject for m in mails_to("carla@example.test")]
    assert any("Your identity is verified" in subject for subject in subjects)
    assert any("Your request was closed: Identity verification" in subject for subject in subjects)
    assert actions(shop.carla_id) == ["identity-requested", "identity-document-uploaded", "identity-verified"]
    assert verification.pending_reviews(shop.verifier) == []


def test_an_unpaid_held_order_is_accepted_by_the_approval_and_waits_for_its_payment(shop):
    verification.request_verification(shop.admin, shop.carla_id)
    placed, invoice = order(shop.carla, shop.carla_account, shop.web)
    verification.submit_document(shop.carla, shop.carla_id, filename="id.pdf", data=PDF)
    verification.approve(shop.admin, shop.carla_id)

    db.session.rollback()
    placed = db.session.get(type(placed), placed.id)
    assert placed.status == ORDER_PENDING and placed.accepted_at is not None
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency=invoice.currency,
                            source="manual", external_id="later")
    db.session.refresh(placed)
    assert placed.status == ORDER_ACTIVE


def test_a_rejection_keeps_the_orders_held_and_the_customer_uploads_again(shop):
    verification.request_verification(shop.verifier, shop.carla_id)
    placed = paid_order(shop)
    first = verification.submit_document(shop.carla, shop.carla_id, filename="blurry.jpg", data=JPEG)

    with pytest.raises(ValidationFailed) as no_reason:
        verification.reject(shop.verifier, shop.carla_id, "   ")
    assert "reason" in no_reason.value.errors
    verification.reject(shop.verifier, shop.carla_id, "The photo is blurred; the name cannot be read.")

    standing = verification.standing(shop.carla, shop.carla_id)
    assert (standing.status, standing.reason, standing.may_upload) == (
        "rejected", "The photo is blurred; the name cannot be read.", True)
    [told] = [m for m in mails_to("carla@example.test") if "not accepted" in m.subject]
    assert "The photo is blurred" in told.body_text
    db.session.rollback()
    assert db.session.get(type(placed), placed.id).status == ORDER_ON_HOLD
    assert db.session.get(Ticket, first.ticket_id).status == CLOSED

    second = verification.submit_document(shop.carla, shop.carla_id, filename="sharp.png", data=PNG)
    assert second.ticket_id != first.ticket_id
    verification.approve(shop.verifier, shop.carla_id)
    db.session.rollback()
    assert db.session.get(type(placed), placed.id).status == ORDER_ACTIVE


def test_before_first_order_asks_an_individual_account_and_holds_that_order(app, shop):
    app.config["IDENTITY_VERIFICATION"] = "before_first_order"
    bora_id = shop.bora_account.customer_account_id
    assert verification.standing(shop.bora, bora_id).may_upload  # may verify before anything is ordered

    placed, _invoice = order(shop.bora, shop.bora_account, shop.web, currency="TRY")

    assert placed.status == ORDER_ON_HOLD
    assert verification.standing(shop.bora, bora_id).status == "requested"
    assert "verify your identity" in mails_to("bora@example.test")[-1].subject


def test_before_first_order_leaves_accounts_that_ordered_before_it_was_switched_on(app, shop):
    earlier, _invoice = order(shop.carla, shop.carla_account, shop.web)
    app.config["IDENTITY_VERIFICATION"] = "before_first_order"

    later, _invoice = order(shop.carla, shop.carla_account, shop.web)

    assert (earlier.status, later.status) == (ORDER_PENDING, ORDER_PENDING)
    assert verification.standing(shop.carla, shop.carla_id).status == "none"


def test_with_verification_off_nothing_waits_and_nothing_is_asked(app, shop):
    app.config["IDENTITY_VERIFICATION"] = "off"
    placed, _invoice = order(shop.carla, shop.carla_account, shop.web)
    assert placed.status == ORDER_PENDING
    assert not verification.standing(shop.carla, shop.carla_id).may_upload
    with pytest.raises(Conflict):
        verification.request_verification(shop.admin, shop.carla_id)


def test_documents_are_recognised_by_their_content_not_their_name(app, shop):
    verification.request_verification(shop.admin, shop.carla_id)
    refused = {"program.png": b"MZ\x90\x00" + bytes(64), "page.pdf": b"<html><script>", "empty.jpg": b""}
    for name, data in refused.items():
        with pytest.raises(ValidationFailed) as caught:
            verification.submit_document(shop.carla, shop.carla_id, filename=name, data=data)
        assert "document" in caught.value.errors
    app.config["IDENTITY_DOCUMENT_MAX_BYTES"] = 100
    with pytest.raises(ValidationFailed) as too_big:
        verification.submit_document(shop.carla, shop.carla_id, filename="big.pdf", data=PDF + bytes(100))
    assert "larger than the limit" in str(too_big.value.errors["document"])
    assert stored_files(app) == []
    app.config["IDENTITY_DOCUMENT_MAX_BYTES"] = 1024

    document = verification.submit_document(shop.carla, shop.carla_id, filename="../../scan\u202egpj.exe",
                                            data=PDF)
    assert document.content_type == "application/pdf"
    assert "/" not in document.original_name and "\u202e" not in document.original_name


def test_documents_are_stored_apart_from_attachments_and_each_download_is_audited(app, shop):
    verification.request_verification(shop.admin, shop.carla_id)
    document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)

    [stored] = stored_files(app)
    assert stored.read_bytes() == PNG
    assert Path(app.config["ATTACHMENTS_PATH"]) not in stored.parents
    for _ in range(2):
        row, data = verification.open_document(shop.verifier, document.id)
        assert (row.id, data) == (document.id, PNG)
    assert actions(shop.carla_id).count("identity-document-downloaded") == 2
    downloads = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "identity-document-downloaded"))
    assert {row.actor_id for row in downloads} == {shop.verifier.id}


def test_the_file_is_deleted_after_the_retention_and_its_record_stays(app, shop):
    verification.request_verification(shop.admin, shop.carla_id)
    document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    verification.approve(shop.admin, shop.carla_id)
    now = utcnow()

    assert verification.delete_expired_documents(now + timedelta(days=29)) == 0
    assert verification.delete_expired_documents(now + timedelta(days=31)) == 1
    assert verification.delete_expired_documents(now + timedelta(days=32)) == 0

    assert stored_files(app) == []
    db.session.rollback()
    kept = db.session.get(IdentityDocument, document.id)
    assert kept.deleted_at is not None and kept.original_name == "id.png"
    with pytest.raises(NotFound):
        verification.open_document(shop.admin, document.id)
    assert "identity-document-deleted" in actions(shop.carla_id)


def test_the_scheduler_runs_the_retention_daily(app, shop):
    verification.request_verification(shop.admin, shop.carla_id)
    document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    verification.approve(shop.admin, shop.carla_id)
    db.session.execute(sa.update(IdentityDocument).values(decided_at=utcnow() - timedelta(days=40)))
    db.session.commit()
    [job] = [job for job in scheduler.registered_jobs(app.config) if job.name == "identity.retention"]

    claimed = scheduler.tick(utcnow(), jobs=[job])

    assert [name for name, _period in claimed] == ["identity.retention"]
    db.session.rollback()
    assert db.session.get(IdentityDocument, document.id).deleted_at is not None and stored_files(app) == []


def test_documents_past_their_retention_are_deleted_after_verification_was_switched_off(app, shop):
    verification.request_verification(shop.admin, shop.carla_id)
    document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    verification.reject(shop.admin, shop.carla_id, "Blurred")
    app.config["IDENTITY_VERIFICATION"] = "off"  # an admin switched verification off since
    db.session.execute(sa.update(IdentityDocument).values(decided_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    [job] = [job for job in scheduler.registered_jobs(app.config) if job.name == "identity.retention"]

    claimed = scheduler.tick(utcnow(), jobs=[job])

    assert [name for name, _period in claimed] == ["identity.retention"]
    assert stored_files(app) == []
    db.session.rollback()
    kept = db.session.get(IdentityDocument, document.id)
    assert kept.deleted_at is not None and kept.original_name == "id.png"
    assert actions(shop.carla_id)[-1] == "identity-document-deleted"


def test_the_audit_trail_tells_each_step_in_words(shop):
    from helpdesk.audit.sentences import tell

    verification.request_verification(shop.verifier, shop.carla_id)
    document = verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    verification.open_document(shop.verifier, document.id)
    verification.reject(shop.verifier, shop.carla_id, "Expired")
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "customer-account")
                              .order_by(AuditEvent.id)).all()

    told = [" ".join(str(sentence) for sentence in entry.sentences) for entry in tell(rows)]

    assert told == ["Asked Carla to verify its identity.", "Uploaded an ID document for Carla.",
                    "Downloaded an ID document of Carla.", "Rejected the ID document of Carla: Expired"]


def test_the_verification_queue_department_is_made_once(shop):
    for customer, account in ((shop.carla, shop.carla_account), (shop.bora, shop.bora_account)):
        verification.request_verification(shop.admin, account.customer_account_id)
        verification.submit_document(customer, account.customer_account_id, filename="id.png", data=PNG)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Department)
                             .where(Department.name == "Identity verification")) == 1


def test_only_admins_grant_the_verification_permission_and_customers_never_hold_it(shop):
    with pytest.raises(NotAllowed):
        verification.grant_verification(shop.verifier, shop.agent)
    with pytest.raises(NotAllowed):
        verification.grant_verification(shop.admin, shop.carla)
    assert not verification.is_verification_staff(shop.agent)
    verification.grant_verification(shop.admin, shop.agent)
    assert verification.is_verification_staff(shop.agent)
    verification.grant_verification(shop.admin, shop.agent, granted=False)
    assert not verification.is_verification_staff(shop.agent)
    assert verification.is_verification_staff(shop.admin)
    assert ("user", "verification-granted") in {(r.entity, r.action) for r in db.session.scalars(sa.select(AuditEvent))}


def test_staff_decide_only_on_a_document_awaiting_review(shop):
    with pytest.raises(Conflict):
        verification.approve(shop.verifier, shop.carla_id)
    verification.request_verification(shop.verifier, shop.carla_id)
    with pytest.raises(Conflict):
        verification.reject(shop.verifier, shop.carla_id, "No document")
    with pytest.raises(NotFound):
        verification.approve(shop.agent, shop.carla_id)  # an agent without the permission


def test_a_member_with_the_billing_permission_uploads_for_the_account_and_is_told(shop):
    from helpdesk.accounts.models import Membership

    bookkeeper = person("customer", "ben@example.test")
    db.session.add(Membership(account_id=shop.carla_id, user_id=bookkeeper.id, can_billing=True))
    db.session.commit()
    verification.request_verification(shop.admin, shop.carla_id)

    document = verification.submit_document(bookkeeper, shop.carla_id, filename="id.pdf", data=PDF)
    verification.reject(shop.admin, shop.carla_id, "Wrong person")

    assert document.uploaded_by_id == bookkeeper.id
    assert [m.subject for m in mails_to("ben@example.test") if "not accepted" in m.subject]
    assert not [m for m in mails_to("carla@example.test") if "not accepted" in m.subject]


def test_a_customer_cannot_upload_when_no_document_is_asked_for(shop):
    with pytest.raises(Conflict):
        verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    verification.request_verification(shop.admin, shop.carla_id)
    verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    with pytest.raises(Conflict):  # one awaits review already
        verification.submit_document(shop.carla, shop.carla_id, filename="again.png", data=PNG)


# --------------------------------------------------------------------------- the pages

@pytest.fixture
def web(app):
    from tests.integration.billing_web import web_shop

    shop = web_shop()
    shop.carla_id = shop.carla_account.customer_account_id
    return shop


def test_the_portal_shows_the_status_and_takes_the_upload_and_the_console_decides(client, web):
    from tests.integration.billing_web import login, post, text_of, token

    login(client, web.admin)
    asked = post(client, "/agent/verifications/ask", {"email": "carla@example.test"}, page="/agent/verifications/")
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"/accounts/{web.carla_id}")

    login(client, web.carla)
    assert "Identity verification" in text_of(client.get("/profile").text)
    own = client.get("/account/identity")
    assert own.status_code == 302 and own.headers["Location"].endswith(f"/accounts/{web.carla_id}/identity")
    path = f"/accounts/{web.carla_id}/identity"
    assert "Please verify your identity" in text_of(client.get(path).text)
    refused = client.post(path, data={"csrf_token": token(client, path), "document": (io.BytesIO(b"MZ" + bytes(9)),
                                                                                      "id.jpg")})
    assert refused.status_code == 400 and "Upload a photo (JPEG or PNG) or a PDF" in text_of(refused.text)
    sent = client.post(path, data={"csrf_token": token(client, path), "document": (io.BytesIO(PNG), "id.png")})
    assert sent.status_code == 302
    page = text_of(client.get(path).text)
    assert "Awaiting review" in page and "Upload your ID document" not in page

    login(client, web.admin)
    review = f"/agent/verifications/accounts/{web.carla_id}"
    assert "id.png" in text_of(client.get("/agent/verifications/").text)
    empty = post(client, f"{review}/reject", {"reason": ""}, page=review)
    assert empty.status_code == 400 and "Tell the customer why" in text_of(empty.text)
    assert post(client, f"{review}/reject", {"reason": "Expired passport"}, page=review).status_code == 302

    login(client, web.carla)
    page = text_of(client.get(path).text)
    assert "Rejected: Expired passport" in page and "Upload your ID document" in page
    client.post(path, data={"csrf_token": token(client, path), "document": (io.BytesIO(PDF), "new.pdf")})

    login(client, web.admin)
    console = client.get(f"/agent/accounts/{web.carla_id}").text  # the console's page of the customer account
    assert f'href="{review}"' in console and "Awaiting review" in text_of(console)
    assert post(client, f"{review}/approve", page=review).status_code == 302
    login(client, web.carla)
    page = text_of(client.get(path).text)
    assert "Verified" in page and "Upload your ID document" not in page


# --------------------------------------------------------------------------- at once, and without an account

@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite has one writer at a time)")


def test_two_staff_deciding_at_once_make_one_decision_and_release_the_order_once(app, shop, postgresql_only):
    from helpdesk.accounts.models import User
    from tests.integration.billing_shop import at_once

    verification.request_verification(shop.admin, shop.carla_id)
    placed = paid_order(shop)
    verification.submit_document(shop.carla, shop.carla_id, filename="id.png", data=PNG)
    deciders, account_id, order_id = [shop.admin.id, shop.verifier.id], shop.carla_id, placed.id
    db.session.commit()

    results, errors = at_once(app, 2, lambda i: verification.approve(
        db.session.get(User, deciders[i]), account_id).verification_status)

    assert results == ["verified"] and [type(e) for e in errors] == [Conflict]
    db.session.expire_all()
    assert actions(account_id).count("identity-verified") == 1
    accepted = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "billing-order",
                                                              AuditEvent.entity_id == order_id,
                                                              AuditEvent.action == "accepted")).all()
    assert len(accepted) == 1


def test_a_customer_without_an_account_gets_one_with_their_upload(app, shop):
    from helpdesk.accounts.models import Membership

    app.config["IDENTITY_VERIFICATION"] = "before_first_order"
    newcomer = person("customer", "nora@example.test")
    db.session.execute(sa.delete(Membership).where(Membership.user_id == newcomer.id))
    db.session.commit()
    assert verification.standing(newcomer, None).may_upload

    document = verification.submit_document(newcomer, None, filename="id.png", data=PNG)

    standing = verification.standing(newcomer, document.account_id)
    assert standing.status == "pending" and standing.account.name == "Nora"


def test_two_uploads_at_once_keep_one_document_and_one_ticket(app, shop, postgresql_only):
    from helpdesk.accounts.models import User
    from tests.integration.billing_shop import at_once

    verification.request_verification(shop.admin, shop.carla_id)
    carla_id, account_id = shop.carla.id, shop.carla_id
    db.session.commit()

    both_read = threading.Barrier(2)

    def upload(i):
        carla = db.session.get(User, carla_id)
        seen = verification.standing(carla, account_id)  # each holds the account read as "requested"
        both_read.wait(timeout=30)
        document = verification.submit_document(carla, account_id, filename=f"id{i}.png", data=PNG)
        return document.id, seen.status

    results, errors = at_once(app, 2, upload)

    assert len(results) == 1 and [type(e) for e in errors] == [Conflict]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityDocument)) == 1
    assert len(stored_files(app)) == 1  # the refused upload's file is gone
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 1
