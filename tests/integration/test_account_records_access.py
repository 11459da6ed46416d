"""Who reaches an account's billing and tickets through the portal (issue 18): an agency login acting for account A
sees A's invoices and tickets and never B's; a member without the billing permission gets 403 on every billing page
of the account (one without services on its services), and nothing changes; an account id forged into the session,
or a record id of another account, answers 404 and shows nothing of it; guests are asked to log in; the console
shows which account a ticket and a billing account belong to."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts.models import CustomerAccount, Membership
from helpdesk.actors import GUEST_FORM
from helpdesk.billing.models import BillingAccount, Invoice, PaymentProof
from helpdesk.extensions import db
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Ticket
from tests.conftest import csrf_token
from tests.integration.billing_shop import billing_app
from tests.integration.billing_web import PASSWORD, login, post
from tests.integration.test_account_records import agency_world, share_tickets

# The session key the portal's account switcher keeps the chosen account under (web/account_context.py).
ACTING = "acting_account"

# One account's billing pages: its lists, then the pages of its records.
BILLING_PAGES = ["/billing/invoices", "/billing/orders", "/billing/balance", "/billing/details",
                 "/billing/invoices/{invoice}", "/billing/invoices/{invoice}/pdf", "/billing/orders/{order}"]
SERVICE_PAGES = ["/billing/services", "/billing/services/{service}", "/billing/services/{service}/plan"]
RECORD_PAGES = [page for page in BILLING_PAGES + SERVICE_PAGES if "{" in page]


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def world(app):
    world = agency_world()
    for user in (world.carla, world.bora, world.agnes, world.mia, world.sam, world.agent):
        user.password_hash = _hashed()
    share_tickets(world.a)
    world.ids = {name: {"invoice": invoice.id, "order": placed.id, "service": placed.services[0].id}
                 for name, placed, invoice in (("a", world.carla_order, world.carla_invoice),
                                               ("b", world.bora_order, world.bora_invoice))}
    world.numbers = {"a": world.carla_ticket.number, "b": world.bora_ticket.number}
    world.billing_a = world.carla_account.id
    world.refs = {"a": world.carla_invoice.reference, "b": world.bora_invoice.reference}
    db.session.commit()
    return world


def _hashed():
    from helpdesk.accounts.service import hash_password

    return hash_password(PASSWORD)


def act_for(client, account_id):
    """The portal's switcher's choice, as the session keeps it (checked against memberships on every request)."""
    with client.session_transaction() as session:
        session[ACTING] = account_id


def pages(templates, ids, ticket_number):
    """The pages of ``templates`` for one account's records (``ids``), and its ticket's page."""
    return [*(page.format(**ids) for page in templates), f"/tickets/{ticket_number}"]


# --------------------------------------------------------------------------- an agency acting for one account

def test_an_agency_acting_for_a_sees_as_invoices_and_tickets_and_never_bs(client, world):
    login(client, world.agnes)
    act_for(client, world.a)
    invoices = client.get("/billing/invoices").text
    assert world.refs["a"] in invoices and world.refs["b"] not in invoices
    assert "Mailbox of Carla is full" in client.get("/tickets").text
    for page in pages(BILLING_PAGES + SERVICE_PAGES, world.ids["a"], world.numbers["a"]):
        assert client.get(page).status_code == 200, page
    for page in pages(RECORD_PAGES, world.ids["b"], world.numbers["b"]):
        response = client.get(page)
        assert response.status_code == 404, page
        assert "Bora Müşteri" not in response.text and world.refs["b"] not in response.text
    assert "DNS of Bora" not in client.get("/tickets").text

    act_for(client, world.b)
    invoices = client.get("/billing/invoices").text
    assert world.refs["b"] in invoices and world.refs["a"] not in invoices
    assert client.get(f"/billing/invoices/{world.ids['a']['invoice']}").status_code == 404
    assert client.get(f"/tickets/{world.numbers['a']}").status_code == 404


def test_an_agencys_ticket_opened_for_b_belongs_to_b(client, world):
    login(client, world.agnes)
    act_for(client, world.b)
    response = post(client, "/tickets/new", {"subject": "Mail of Bora bounces", "description": "Since noon.",
                                             "priority": "normal", "department": "",
                                             "problem_timezone": "Europe/Berlin"},
                    content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.rollback()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.subject == "Mail of Bora bounces"))
    assert ticket.customer_account_id == world.b and ticket.requester_id == world.agnes.id


# --------------------------------------------------------------------------- members without a permission

@pytest.mark.parametrize("page", BILLING_PAGES)
def test_a_member_without_billing_gets_403_on_the_accounts_billing_pages(client, world, page):
    login(client, world.sam)  # tickets and services, no billing
    act_for(client, world.a)
    response = client.get(page.format(**world.ids["a"]))
    assert response.status_code == 403
    assert world.refs["a"] not in response.text and "Carla Kunde" not in response.text


@pytest.mark.parametrize("page", SERVICE_PAGES)
def test_a_member_without_services_gets_403_on_the_accounts_services(client, world, page):
    login(client, world.mia)  # tickets only
    act_for(client, world.a)
    assert client.get(page.format(**world.ids["a"])).status_code == 403


def test_a_member_without_billing_cannot_pay_send_a_proof_or_change_the_details(client, world):
    login(client, world.sam)
    act_for(client, world.a)
    invoice = world.ids["a"]["invoice"]
    token = csrf_token(client.get("/tickets/new").text)
    for path, data in ((f"/billing/invoices/{invoice}/pay-from-credit", {}),
                       (f"/billing/invoices/{invoice}/proof", {"note": "paid"}),
                       ("/billing/details", {"name": "Sam's takeover", "currency": "EUR", "country": "DE",
                                             "customer_type": "individual"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    db.session.rollback()
    assert db.session.get(Invoice, invoice).status == "proforma"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentProof)) == 0
    assert db.session.get(BillingAccount, world.billing_a).name == "Carla Kunde"


def test_a_member_without_tickets_cannot_open_a_ticket_for_the_account(client, world):
    db.session.execute(sa.update(Membership).where(Membership.user_id == world.sam.id).values(can_tickets=False))
    db.session.commit()
    login(client, world.sam)
    act_for(client, world.a)
    response = post(client, "/tickets/new", {"subject": "Let me in", "description": "x", "priority": "normal",
                                             "department": "", "problem_timezone": "Europe/Berlin"},
                    content_type="multipart/form-data")
    assert response.status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(Ticket.id).where(Ticket.subject == "Let me in")) is None
    assert client.get(f"/tickets/{world.numbers['a']}").status_code == 404  # nor reads the shared ones


# --------------------------------------------------------------------------- forged ids, outsiders and guests

def test_an_account_id_forged_into_the_session_reaches_nothing_of_that_account(client, world):
    login(client, world.mia)  # a member of A only
    act_for(client, world.b)
    for page in pages(RECORD_PAGES, world.ids["b"], world.numbers["b"]):
        response = client.get(page)
        assert response.status_code == 404, page
        assert world.refs["b"] not in response.text
    assert world.refs["b"] not in client.get("/billing/invoices").text
    assert "DNS of Bora" not in client.get("/tickets").text


def test_an_outsider_gets_404_for_every_record_of_the_account(client, world):
    login(client, world.bora)
    for page in pages(RECORD_PAGES, world.ids["a"], world.numbers["a"]):
        response = client.get(page)
        assert response.status_code == 404, page
        assert "Carla" not in response.text


def test_guests_are_asked_to_log_in(client, world):
    for page in pages(BILLING_PAGES + SERVICE_PAGES, world.ids["a"], world.numbers["a"]):
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page


# --------------------------------------------------------------------------- the console

def test_the_console_shows_the_account_a_ticket_and_a_billing_account_belong_to(client, world):
    db.session.get(CustomerAccount, world.a).name = "Bakery Carla GmbH"
    db.session.commit()
    guest = tickets.open_ticket(GUEST_FORM, subject="From the form", body_text="x",
                                requester_email="walk-in@example.test", acknowledge=False).number
    login(client, world.agent)
    link = f'<a href="/agent/accounts/{world.a}"><bdi dir="auto">Bakery Carla GmbH</bdi></a>'
    assert link in client.get(f"/agent/tickets/{world.numbers['a']}").text
    assert link in client.get(f"/agent/billing/customers/{world.billing_a}").text
    assert '<dd class="customer-account">—</dd>' in client.get(f"/agent/tickets/{guest}").text
