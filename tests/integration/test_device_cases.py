"""Pay-per-case (issue 19): billing staff keep the case price list and charge cases on pay-per-case devices from the
console; each charge is an invoice on the account and the unpaid ones are its running debt; the charge that takes
the debt to the ceiling warns the account once (portal banner, email, SMS), paying below it and crossing again warns
again; above the ceiling new tickets await staff approval (approved, or refused and closed); nobody reaches another
account's cases or the console's pages without the right."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts import members, memberships
from helpdesk.accounts.identity_models import AccountIdentity
from helpdesk.accounts.models import PERM_TICKETS, CustomerAccount
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import money, payments
from helpdesk.billing.models import PROFORMA, BillingAccount, Invoice
from helpdesk.devices import case_notices, cases
from helpdesk.devices.case_models import CASE_APPROVED, CASE_AWAITING, CASE_OPEN, CaseCharge, DebtCrossing, DeviceCase
from helpdesk.devices.models import DeviceType
from helpdesk.errors import Conflict
from helpdesk.extensions import db
from helpdesk.notify.channels import Notice, Recipient
from helpdesk.notify.sms_models import SmsMessage
from helpdesk.tickets import service
from helpdesk.tickets.models import CLOSED, Ticket
from tests.conftest import csrf_token, log_in
from tests.integration.test_ticket_device_gate import make_device

PHONE = "+989121234567"
CEILING = 250_000


@pytest.fixture
def shop(app, customer, agent, make_user, monkeypatch):
    """Carla's account (phone on file) owns a pay-per-case device and an active one; rials, a small ceiling."""
    monkeypatch.setitem(app.config, "DEVICES_DEBT_CEILING", {"IRR": CEILING})
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_CURRENCY", "IRR")
    account_id = memberships.default_account_id(customer)
    db.session.add(AccountIdentity(account_id=account_id, full_name="Carla Customer", phone=PHONE))
    kind = DeviceType(code="acme-x200", brand="Acme", model="X200")
    db.session.add(kind)
    db.session.commit()
    admin = make_user("admin", email="ada@example.test", full_name="Ada Admin")
    return {"account": account_id, "admin": admin,
            "ppc": make_device(agent, account_id, kind.id, "SN-PPC", "pay_per_case"),
            "active": make_device(agent, account_id, kind.id, "SN-ACT", "active"), "kind": kind.id}


def staff_client(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def open_case(customer, device_id, subject="It beeps"):
    ticket = service.open_ticket(customer, subject=subject, body_text="Since Monday.",
                                 details={"device": str(device_id)})
    return db.session.scalar(sa.select(DeviceCase).where(DeviceCase.ticket_id == ticket.id))


def charge_on_page(client, case, difficulty, volume, note=""):
    page = client.get(f"/agent/devices/cases/{case.id}/charge")
    assert page.status_code == 200
    return client.post(f"/agent/devices/cases/{case.id}/charge", data={
        "csrf_token": csrf_token(page.text), "difficulty": difficulty, "volume": volume, "note": note},
        follow_redirects=True)


def debt_sms():
    db.session.rollback()
    return db.session.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "devices.debt_ceiling")
                              .order_by(SmsMessage.id)).all()



def test_charges_make_the_debt_the_ceiling_warns_once_per_crossing_and_gates_new_cases(app, client, customer,
                                                                                        shop, smtp, followed):
    ada = staff_client(app, "ada@example.test")
    # The price list, typed as the reader writes money; an amount that is not one is refused beside its field.
    page = ada.get("/agent/devices/cases/prices?currency=IRR")
    token = csrf_token(page.text)
    bad = ada.post("/agent/devices/cases/prices?currency=IRR",
                   data={"csrf_token": token, "simple_small": "abc", "standard_medium": "150000"})
    assert bad.status_code == 400 and "Enter an amount such as" in bad.text and 'value="150000"' in bad.text
    saved = ada.post("/agent/devices/cases/prices?currency=IRR", data={
        "csrf_token": token, "simple_small": "100000", "standard_medium": "150000"}, follow_redirects=True)
    assert "The case price list was saved." in saved.text
    db.session.rollback()
    assert cases.price_list("IRR") == {("simple", "small"): 100_000, ("standard", "medium"): 150_000}

    # A case on the pay-per-case device: the console's ticket page shows it and charging it makes an invoice.
    first = open_case(customer, shop["ppc"])
    assert first.state == CASE_OPEN
    number = first.ticket.number
    ticket_page = ada.get(f"/agent/tickets/{number}").text
    assert "Device case" in ticket_page and "Charge this case" in ticket_page
    done = charge_on_page(ada, first, "simple", "small", "Replaced the fuse")
    assert "Charged" in done.text
    db.session.rollback()
    charge = db.session.scalar(sa.select(CaseCharge).where(CaseCharge.case_id == first.id))
    invoice = db.session.get(Invoice, charge.invoice_id)
    billing_account = db.session.get(BillingAccount, invoice.account_id)
    assert (invoice.status, invoice.total, invoice.currency, billing_account.customer_account_id) == (
        PROFORMA, 100_000, "IRR", shop["account"])
    assert f"#{number}" in invoice.lines[0].description
    assert [(kind, device, details["amount"]) for kind, device, details in followed if kind == "case.charged"] == [
        ("case.charged", shop["ppc"], 100_000)]
    assert cases.debts_of(shop["account"]) == {"IRR": 100_000}
    assert debt_sms() == []
    # Charged once only.
    with pytest.raises(Conflict):
        cases.charge_case(shop["admin"], first.ticket_id, difficulty="simple", volume="small")
    db.session.rollback()

    # The second charge takes the debt to the ceiling: one warning, by SMS and email, and the portal's banner.
    second = open_case(customer, shop["ppc"], "Again")
    charge_on_page(ada, second, "standard", "medium")
    texts = debt_sms()
    assert [(m.phone, "250,000" in m.text) for m in texts] == [(PHONE, True)]
    # A Persian reader's text counts rials in Toman with Persian digits (billing's money formatting).
    persian = case_notices.sms_text(Notice("devices.debt_ceiling", (), {"debt": 250_000, "ceiling": CEILING,
                                                                        "currency": "IRR"}),
                                    Recipient(email=None, locale="fa", phone=PHONE))
    assert money.format_amount(250_000, "IRR", "fa") in persian and "تومان" in persian
    mails = [m for m in smtp.to(customer.email) if "reached the limit" in str(m["Subject"])]
    assert len(mails) == 1 and "250,000" in mails[0].get_body(preferencelist=("plain",)).get_content()
    log_in(client, customer.email)
    panel = client.get(f"/devices/{shop['ppc']}/tickets").text
    assert "at or above the limit" in panel and f"#{number}" in panel and "Replaced" not in panel
    for page in (f"/devices/{shop['ppc']}", "/devices/"):  # the banner is on every device page
        assert "at or above the limit" in client.get(page).text

    # Above the ceiling a new ticket is still created but awaits approval, and the customer is told.
    form = client.get(f"/tickets/new?device={shop['ppc']}").text
    told = client.post("/tickets/new", data={"csrf_token": csrf_token(form), "subject": "Third",
                                             "description": "Still.", "priority": "urgent", "department": "",
                                             "device": str(shop["ppc"])}, follow_redirects=True)
    assert "waits for our staff" in told.text
    db.session.rollback()
    third = db.session.scalars(sa.select(DeviceCase).order_by(DeviceCase.id.desc())).first()
    assert third.state == CASE_AWAITING
    with pytest.raises(Conflict):
        cases.charge_case(shop["admin"], third.ticket_id, difficulty="simple", volume="small")
    db.session.rollback()
    # A covered device is not held back by the debt.
    assert open_case(customer, shop["active"], "Covered").state == CASE_OPEN

    queue = ada.get("/agent/devices/cases/")
    assert "Third" in queue.text
    ada.post(f"/agent/devices/cases/{third.id}/decide",
             data={"csrf_token": csrf_token(queue.text), "decision": "approve", "note": ""})
    db.session.rollback()
    assert db.session.get(DeviceCase, third.id).state == CASE_APPROVED
    charge_on_page(ada, db.session.get(DeviceCase, third.id), "simple", "small")
    assert len(debt_sms()) == 1  # still above: no second warning
    assert cases.debts_of(shop["account"]) == {"IRR": 350_000}

    fourth = open_case(customer, shop["ppc"], "Fourth")
    assert fourth.state == CASE_AWAITING
    queue = ada.get("/agent/devices/cases/")
    ada.post(f"/agent/devices/cases/{fourth.id}/decide",
             data={"csrf_token": csrf_token(queue.text), "decision": "refuse", "note": "Please pay first."})
    db.session.rollback()
    assert db.session.get(Ticket, fourth.ticket_id).status == CLOSED
    panel = client.get(f"/devices/{shop['ppc']}/tickets").text
    assert "Refused" in panel and "Please pay first." in panel and "Closed" in panel

    # Paying every charge clears the debt and the banner; the next crossing warns again.
    for index, row in enumerate(db.session.scalars(sa.select(CaseCharge))):
        payments.record_payment(shop["admin"], invoice=row.invoice_id, amount=row.amount, currency="IRR",
                                source="manual", external_id=f"paid-{index}")
    assert cases.debts_of(shop["account"]) == {}
    assert "at or above the limit" not in client.get(f"/devices/{shop['ppc']}/tickets").text
    fifth = open_case(customer, shop["ppc"], "Fifth")
    assert fifth.state == CASE_OPEN
    charge_on_page(ada, fifth, "standard", "medium")
    assert len(debt_sms()) == 1
    charge_on_page(ada, open_case(customer, shop["ppc"], "Sixth"), "standard", "medium")
    assert len(debt_sms()) == 2
    crossings = db.session.scalars(sa.select(DebtCrossing).order_by(DebtCrossing.id)).all()
    assert [(c.debt, c.cleared_at is not None) for c in crossings] == [(250_000, True), (300_000, False)]
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "device-case")))
    assert {"opened", "charged", "approved", "refused"} <= actions


def test_nobody_reaches_cases_that_are_not_theirs(app, client, customer, agent, make_user, shop):
    """IDOR: the portal's panel for another account's device is 404, for a member without the services permission
    403; the console's pages are 404 to customers, and changes are 403 to agents without billing."""
    case = open_case(customer, shop["ppc"])
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    memberships.ensure_personal_account(dora)
    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    members.join(db.session.get(CustomerAccount, shop["account"]), tom, [PERM_TICKETS])
    db.session.commit()
    panel = f"/devices/{shop['ppc']}/tickets"

    log_in(client, "dora@example.test")
    assert client.get(panel).status_code == 404
    assert client.get("/devices/999999/tickets").status_code == 404
    tom_client = app.test_client()
    log_in(tom_client, "tom@example.test")
    assert tom_client.get(panel).status_code == 403

    console = ("/agent/devices/cases/", "/agent/devices/cases/prices", f"/agent/devices/cases/{case.id}/charge")
    for path in console:
        assert client.get(path).status_code == 404
    token = csrf_token(client.get("/tickets/new").text)
    for path, data in ((f"/agent/devices/cases/{case.id}/decide", {"decision": "approve"}),
                       (f"/agent/devices/cases/{case.id}/charge", {"difficulty": "simple", "volume": "small"}),
                       ("/agent/devices/cases/prices", {"simple_small": "1"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 404

    alex = staff_client(app, agent.email)
    assert alex.get(panel).status_code == 404  # the portal's panel is the customers'
    page = alex.get(f"/agent/devices/cases/{case.id}/charge")
    assert page.status_code == 200 and "Charge the case" not in page.text.split("</h1>", 1)[1]
    token = csrf_token(page.text)
    assert alex.post(f"/agent/devices/cases/{case.id}/charge", data={
        "csrf_token": token, "difficulty": "simple", "volume": "small"}).status_code == 403
    assert alex.post("/agent/devices/cases/prices", data={"csrf_token": token, "simple_small": "1"}).status_code \
        == 403
    assert alex.post(f"/agent/devices/cases/{case.id}/decide", data={"csrf_token": token,
                                                                      "decision": "approve"}).status_code == 403
    assert alex.get("/agent/devices/cases/999999/charge").status_code == 404
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CaseCharge.id))) == 0
    assert cases.price_list("IRR") == {}
