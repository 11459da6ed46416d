"""The billing daily run (issue 17): renewal invoices before the due date, paid from credit when it covers them,
reminders on their days in the customer's language, late fees, suspension for an unpaid invoice and resumption when
it is paid, termination; manual holds never lifted by automation; each thing once, however often the run runs."""
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from helpdesk.actors import SYSTEM
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import credit, payments, renewals, suspensions
from helpdesk.billing.models import (
    CANCELLED,
    FINAL,
    PROFORMA,
    SERVICE_ACTIVE,
    SERVICE_CANCELLED,
    SERVICE_SUSPENDED,
    Invoice,
    Service,
    ServicePeriod,
)
from helpdesk.billing.renewal_models import BillingReminder, LateFee, ServiceHold
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail
from tests.integration.billing_shop import billing_app, build_shop, order

RENEWAL_SETTINGS = {
    "BILLING_RENEWAL_LEAD_DAYS": 14,
    "BILLING_REMINDER_DAYS": {"before": 7, "due": 0, "overdue_1": 3, "overdue_2": 7, "overdue_3": 14},
    "BILLING_LATE_FEES": {},
    "BILLING_LATE_FEE_AFTER_DAYS": 7,
    "BILLING_SUSPEND_AFTER_DAYS": 15,
    "BILLING_TERMINATE_AFTER_DAYS": 45,
    "BILLING_MAIL_FROM": "billing@example.test",
}
START = date(2027, 1, 4)


def at(day):
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, **RENEWAL_SETTINGS)


@pytest.fixture
def clock(app):
    with time_machine.travel(at(START), tick=False) as traveller:
        yield traveller


@pytest.fixture
def shop(app, clock):
    return build_shop()


def run(clock, day, **kwargs):
    clock.move_to(at(day))
    return renewals.run_day(day, **kwargs)


def active_web(shop, customer=None, account=None):
    """Carla's monthly web hosting, ordered and paid on START: its first period runs to 4 February."""
    placed, invoice = order(customer or shop.carla, account or shop.carla_account, shop.web)
    payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency=invoice.currency,
                            source="manual", external_id=f"first-{invoice.id}")
    return db.session.get(Service, placed.services[0].id)


def renewal_invoices(service):
    return db.session.scalars(sa.select(Invoice).join(ServicePeriod, ServicePeriod.invoice_id == Invoice.id)
                              .where(ServicePeriod.service_id == service.id, Invoice.order_id.is_(None))
                              .order_by(Invoice.id)).all()


def reminders(invoice):
    return db.session.scalars(sa.select(BillingReminder.kind).where(BillingReminder.invoice_id == invoice.id)
                              .order_by(BillingReminder.id)).all()


def pay(invoice, key="bank-1"):
    return payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total - invoice.amount_paid,
                                   currency=invoice.currency, source="manual", external_id=key)


def test_the_renewal_invoice_is_made_lead_days_before_the_due_date_once(shop, clock):
    service = active_web(shop)
    assert service.next_due_date == date(2027, 2, 4)

    assert run(clock, date(2027, 1, 20)).invoices == []
    report = run(clock, date(2027, 1, 21))
    again = run(clock, date(2027, 1, 21))
    later = run(clock, date(2027, 1, 22))

    [invoice] = renewal_invoices(service)
    assert len(report.invoices) == 1 and again.invoices == [] and later.invoices == []
    assert invoice.status == PROFORMA and invoice.number is None and invoice.due_date == date(2027, 2, 4)
    # 9.90 € net, 19 % German VAT, as the order's own invoice had it
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (990, 188, 1178)
    assert invoice.lines[0].service_id == service.id and "Web hosting" in invoice.lines[0].description
    assert invoice.buyer_name == "Carla Kunde"


def test_paying_the_renewal_invoice_makes_it_final_and_moves_the_service_on(shop, clock):
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    [invoice] = renewal_invoices(service)

    pay(invoice)

    db.session.refresh(invoice)
    db.session.refresh(service)
    assert invoice.status == FINAL and invoice.number == "2027-000002"
    assert service.next_due_date == date(2027, 3, 4) and service.period_start == date(2027, 2, 4)
    assert service.status == SERVICE_ACTIVE
    # the next period is invoiced 14 days before 4 March, once
    assert run(clock, date(2027, 2, 17)).invoices == []
    assert len(run(clock, date(2027, 2, 18)).invoices) == 1
    assert len(renewal_invoices(service)) == 2


def test_a_product_may_invoice_its_renewals_earlier(shop, clock):
    shop.web.renewal_lead_days = 30
    db.session.commit()
    service = active_web(shop)

    assert run(clock, date(2027, 1, 4)).invoices == []
    assert len(run(clock, date(2027, 1, 5)).invoices) == 1
    assert renewal_invoices(service)[0].due_date == date(2027, 2, 4)


def test_credit_that_covers_the_invoice_pays_it_unless_the_customer_said_no(shop, clock):
    service = active_web(shop)
    bora_service = active_web(shop, shop.bora, shop.bora_account)
    credit.adjust_credit(shop.admin, shop.carla_account, currency="EUR", amount=5000, note="goodwill")
    credit.adjust_credit(shop.admin, shop.bora_account, currency="TRY", amount=10_000_000, note="goodwill")
    shop.bora_account.auto_pay_from_credit = False
    db.session.commit()

    report = run(clock, date(2027, 1, 21))

    [carla_invoice] = renewal_invoices(service)
    [bora_invoice] = renewal_invoices(bora_service)
    assert carla_invoice.status == FINAL and report.paid_from_credit == [carla_invoice.id]
    assert credit.balance(shop.carla_account.id, "EUR") == 5000 - 1178
    assert bora_invoice.status == PROFORMA and credit.balance(shop.bora_account.id, "TRY") == 10_000_000
    db.session.refresh(service)
    assert service.next_due_date == date(2027, 3, 4)
    # a paid invoice is not mailed as due; the unpaid one is
    assert reminders(carla_invoice) == [] and reminders(bora_invoice) == ["invoice"]
    assert run(clock, date(2027, 1, 21)).paid_from_credit == []


def test_reminders_go_out_on_their_days_once_in_the_customers_language(shop, clock):
    shop.carla.locale = "de"
    db.session.commit()
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    [invoice] = renewal_invoices(service)
    sent = {}
    day = date(2027, 1, 21)
    while day <= date(2027, 2, 25):
        for _ in range(2):  # run twice a day: still once each
            for _invoice_id, kind in run(clock, day).reminders:
                sent.setdefault(kind, []).append(day)
        day += timedelta(days=1)

    assert sent == {"before": [date(2027, 1, 28)], "due": [date(2027, 2, 4)], "overdue_1": [date(2027, 2, 7)],
                    "overdue_2": [date(2027, 2, 11)], "overdue_3": [date(2027, 2, 18)]}
    assert reminders(invoice) == ["invoice", "before", "due", "overdue_1", "overdue_2", "overdue_3"]
    # the invoice itself is written in her language too
    assert invoice.language == "de" and invoice.lines[0].description.startswith("Webhosting")
    mails = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.recipient == "carla@example.test",
                                                            OutboxEmail.ticket_id.is_(None))
                               .order_by(OutboxEmail.id)).all()
    reminder_mails = [m for m in mails if invoice.reference in (m.subject or "")]
    assert len(reminder_mails) == 6
    # German dates and amounts: the due date and 11,78 €
    assert "04.02.2027" in reminder_mails[0].body_text and "11,78\xa0€" in reminder_mails[0].body_text
    assert f"/billing/invoices/{invoice.id}" in reminder_mails[-1].body_text


def test_an_unpaid_invoice_suspends_the_service_and_paying_it_resumes_it(shop, clock):
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    [invoice] = renewal_invoices(service)

    assert run(clock, date(2027, 2, 18)).suspensions == []
    report = run(clock, date(2027, 2, 19))
    assert report.suspensions == [service.id] and run(clock, date(2027, 2, 19)).suspensions == []
    db.session.refresh(service)
    assert service.status == SERVICE_SUSPENDED
    [hold] = suspensions.open_holds(service)
    assert hold.kind == "overdue" and hold.invoice_id == invoice.id
    states = suspensions.service_states([service])
    assert states[service.id].state == "overdue" and states[service.id].invoices == (invoice.reference,)

    pay(invoice)

    db.session.refresh(service)
    assert service.status == SERVICE_ACTIVE and suspensions.open_holds(service) == []
    assert service.next_due_date == date(2027, 3, 4)


def test_a_manual_hold_is_never_lifted_by_a_payment(shop, clock):
    service = active_web(shop)
    suspensions.place_manual_hold(shop.admin, service, "awaiting ID verification")
    run(clock, date(2027, 1, 21))
    run(clock, date(2027, 2, 19))
    [invoice] = renewal_invoices(service)

    pay(invoice)

    db.session.refresh(service)
    assert service.status == SERVICE_SUSPENDED
    [hold] = suspensions.open_holds(service)
    assert hold.kind == "manual" and hold.reason == "awaiting ID verification"
    assert suspensions.service_states([service])[service.id].reasons == ("awaiting ID verification",)
    with pytest.raises(NotAllowed):
        suspensions.lift_manual_hold(shop.agent, hold)

    suspensions.lift_manual_hold(shop.admin, hold)

    db.session.refresh(service)
    assert service.status == SERVICE_ACTIVE


def test_an_invoice_unpaid_long_enough_terminates_the_service(shop, clock):
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    [invoice] = renewal_invoices(service)
    run(clock, date(2027, 2, 19))

    assert run(clock, date(2027, 3, 20)).terminations == []
    report = run(clock, date(2027, 3, 21))

    db.session.refresh(service)
    db.session.refresh(invoice)
    assert report.terminations == [service.id] and run(clock, date(2027, 3, 21)).terminations == []
    assert service.status == SERVICE_CANCELLED and service.next_due_date is None
    assert invoice.status == CANCELLED
    # nothing more is invoiced for it
    assert run(clock, date(2027, 4, 30)).invoices == []


def test_a_late_fee_is_charged_once_as_an_invoice_of_its_own(app, shop, clock):
    app.config["BILLING_LATE_FEES"] = {"EUR": 500}
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    [invoice] = renewal_invoices(service)

    assert run(clock, date(2027, 2, 10)).late_fees == []
    report = run(clock, date(2027, 2, 11))
    assert run(clock, date(2027, 2, 12)).late_fees == []

    [fee] = db.session.scalars(sa.select(LateFee)).all()
    fee_invoice = db.session.get(Invoice, fee.fee_invoice_id)
    assert report.late_fees == [(invoice.reference, fee_invoice.reference)]
    assert fee.invoice_id == invoice.id and fee_invoice.total == 500 and fee_invoice.status == PROFORMA
    assert invoice.reference in fee_invoice.lines[0].description
    # the fee is not a renewal: paying the renewal alone keeps the service running
    pay(invoice)
    assert db.session.get(Service, service.id).next_due_date == date(2027, 3, 4)


def test_a_dry_run_reports_and_changes_nothing(shop, clock):
    service = active_web(shop)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    report = run(clock, date(2027, 1, 21), dry_run=True)

    assert report.invoices == [(service.id, None)]
    assert renewal_invoices(service) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_every_change_leaves_an_audit_row(shop, clock):
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    run(clock, date(2027, 2, 19))
    [invoice] = renewal_invoices(service)
    pay(invoice)

    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity == "billing-service",
                                                                    AuditEvent.entity_id == service.id)
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["activated", "renewal-invoiced", "held-overdue", "suspended", "period-paid", "hold-lifted",
                       "resumed"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceHold)) == 1


def test_the_cli_runs_a_day_and_prints_what_it_did(shop, clock, app):
    from click.testing import CliRunner

    from helpdesk.cli import main

    service = active_web(shop)
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_SMTP_HOST": "", "HELPDESK_CONFIG": None}
    db.session.commit()

    dry = CliRunner().invoke(main, ["billing", "run", "--date", "2027-01-21", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "1 renewal invoice\n" in dry.output and "Dry run" in dry.output
    assert renewal_invoices(service) == []

    done = CliRunner().invoke(main, ["billing", "run", "--date", "2027-01-21"], env=env)
    again = CliRunner().invoke(main, ["billing", "run", "--date", "2027-01-21"], env=env)

    assert done.exit_code == 0 and "1 renewal invoice\n" in done.output and "1 reminder\n" in done.output
    assert "0 renewal invoices" in again.output
    db.session.expire_all()
    assert len(renewal_invoices(service)) == 1
    bad = CliRunner().invoke(main, ["billing", "run", "--date", "21.01.2027"], env=env)
    assert bad.exit_code == 2


def test_the_customer_sees_why_a_service_is_suspended(client, clock):
    from tests.integration.billing_web import login, text_of, web_shop

    shop = web_shop()
    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    run(clock, date(2027, 2, 19))
    [invoice] = renewal_invoices(service)
    login(client, shop.carla)

    listed = text_of(client.get("/billing/services").text)
    page = text_of(client.get(f"/billing/services/{service.id}").text)
    assert f"Suspended for non-payment (invoice {invoice.reference})" in listed
    assert f"Suspended for non-payment (invoice {invoice.reference})" in page
    assert invoice.reference not in page.split("Periods paid")[1]  # invoiced, not paid

    db.session.rollback()  # the pages above were other sessions: start from what they left
    suspensions.place_manual_hold(shop.admin, service, "awaiting ID verification")
    pay(invoice)

    page = text_of(client.get(f"/billing/services/{service.id}").text)
    assert "Held: awaiting ID verification" in page and "non-payment" not in page
    assert invoice.number in page.split("Periods paid")[1]
    suspensions.lift_manual_hold(shop.admin, suspensions.open_holds(service)[0])
    assert "Active" in text_of(client.get(f"/billing/services/{service.id}").text)


def test_the_schedulers_task_runs_the_day_it_is_given(shop, clock):
    service = active_web(shop)
    clock.move_to(at(date(2027, 1, 21)))

    counts = renewals.run_day_task("2027-01-21")

    assert counts["invoices"] == 1 and counts["reminders"] == 1 and counts["suspensions"] == 0
    assert renewals.run_day_task("2027-01-21")["invoices"] == 0
    assert len(renewal_invoices(service)) == 1


def test_a_service_staff_cancelled_is_not_dunned(shop, clock):
    from helpdesk.billing import services

    service = active_web(shop)
    run(clock, date(2027, 1, 21))
    services.change_status(shop.admin, service, "cancel", reason="customer left")

    later = [run(clock, date(2027, 1, 21) + timedelta(days=n)) for n in range(1, 40)]

    assert [r for report in later for r in report.reminders + report.suspensions + report.terminations] == []
    assert reminders(renewal_invoices(service)[0]) == ["invoice"]
