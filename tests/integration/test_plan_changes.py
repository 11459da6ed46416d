"""Upgrades and downgrades between plans of a group, prorated by the day over the service's current period: the
figures on several cycles and dates (the expectation computed here with fractions, independently of money.py), an
upgrade's invoice that changes the plan once it is paid, a downgrade's difference put on the credit balance, a form
sent twice (or twice at once) changing the plan once, and the cases that are refused."""
from datetime import UTC, date, datetime
from fractions import Fraction
from math import floor

import pytest
import sqlalchemy as sa
import time_machine

from helpdesk.actors import SYSTEM
from helpdesk.audit import sentences
from helpdesk.audit.models import AuditEvent
from helpdesk.billing import catalogue, credit, payments, plan_changes
from helpdesk.billing.models import CANCELLED, FINAL, PROFORMA, CreditEntry, Invoice, Service
from helpdesk.billing.plan_change_models import (
    CHANGE_APPLIED,
    CHANGE_CANCELLED,
    CHANGE_PENDING,
    CREDIT_PLAN_CHANGE,
    PlanChange,
)
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from tests.integration.billing_shop import at_once, billing_app, build_shop, order

GERMAN_VAT_BP = 1900  # Carla is in Germany (build_shop's tax rule DE 19 %)
SMALL = {"monthly": 1000, "quarterly": 2700, "yearly": 9900, "biennial": 17_900}
BIG = {"monthly": 2500, "quarterly": 7100, "yearly": 24_900, "biennial": 45_900}


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory)


@pytest.fixture
def shop(app):
    """build_shop, plus two plans of its hosting group (Small and Big) on four cycles, net prices in EUR."""
    shop = build_shop()
    shop.small = catalogue.create_product(shop.admin, group=shop.web.group, code="small",
                                          texts={"en": {"name": "Small plan"}})
    shop.big = catalogue.create_product(shop.admin, group=shop.web.group, code="big",
                                        texts={"en": {"name": "Big plan"}})
    for product, prices in ((shop.small, SMALL), (shop.big, BIG)):
        for cycle, amount in prices.items():
            catalogue.set_price(shop.admin, product, cycle=cycle, currency="EUR", amount=amount)
    return shop


def at(day):
    """The clock at noon UTC on ``day`` (the business day is UTC in the tests)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def active_service(shop, product, cycle, day):
    """Carla's service of ``product`` on ``cycle``, ordered and paid on ``day``."""
    with at(day):
        placed, invoice = order(shop.carla, shop.carla_account, product, cycle=cycle, identifier="carla.example")
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                                external_id=f"order-{placed.id}")
    return db.session.get(Service, placed.services[0].id)


def half_up(value: Fraction) -> int:
    """To the nearest integer, halves away from zero (what an accountant does by hand)."""
    return floor(value + Fraction(1, 2)) if value >= 0 else -floor(-value + Fraction(1, 2))


def gross(net_amount: int) -> int:
    return net_amount + half_up(Fraction(net_amount * GERMAN_VAT_BP, 10_000))


def expected_difference(old_price, new_price, days_left, days):
    charge = gross(half_up(Fraction(new_price * days_left, days)))
    unused = gross(half_up(Fraction(old_price * days_left, days)))
    return charge, unused, charge - unused


# (cycle, ordered on, the period's end (written out by hand), the day of the change)
CASES = [
    ("monthly", date(2026, 1, 31), date(2026, 2, 28), date(2026, 2, 10)),  # a month clamped to February
    ("monthly", date(2026, 3, 10), date(2026, 4, 10), date(2026, 3, 10)),  # on the period's first day: all of it
    ("monthly", date(2026, 3, 10), date(2026, 4, 10), date(2026, 4, 9)),  # its last day: one day of 31
    ("quarterly", date(2026, 11, 30), date(2027, 2, 28), date(2027, 1, 1)),
    ("yearly", date(2027, 3, 1), date(2028, 3, 1), date(2027, 12, 15)),  # 366 days: a leap day inside
    ("biennial", date(2026, 5, 15), date(2028, 5, 15), date(2027, 8, 2)),
]


@pytest.mark.parametrize("cycle, ordered, period_end, changed", CASES)
def test_an_upgrade_is_prorated_by_the_day_over_the_current_period(shop, cycle, ordered, period_end, changed):
    service = active_service(shop, shop.small, cycle, ordered)
    days, days_left = (period_end - ordered).days, (period_end - changed).days
    charge, unused, difference = expected_difference(SMALL[cycle], BIG[cycle], days_left, days)

    with at(changed):
        figures = plan_changes.preview(shop.carla, service, shop.big.id)

    assert (figures.period_start, figures.period_end) == (ordered, period_end)
    assert (figures.days_left, figures.days_in_period) == (days_left, days)
    assert (figures.new_charge, figures.unused_credit, figures.difference) == (charge, unused, difference)
    assert sum(line.gross for line in figures.quote.lines) == difference
    assert figures.new_amount == BIG[cycle] and figures.old_amount == SMALL[cycle]


@pytest.mark.parametrize("cycle, ordered, period_end, changed", CASES[:1] + CASES[4:5])
def test_a_downgrade_is_prorated_the_same_way(shop, cycle, ordered, period_end, changed):
    service = active_service(shop, shop.big, cycle, ordered)
    days, days_left = (period_end - ordered).days, (period_end - changed).days
    _charge, _unused, difference = expected_difference(BIG[cycle], SMALL[cycle], days_left, days)

    with at(changed):
        figures = plan_changes.preview(shop.carla, service, shop.small.id)

    assert figures.difference == difference < 0


def test_forint_prices_are_prorated_in_whole_forints(shop):
    for product, amount in ((shop.small, 3990), (shop.big, 9990)):
        catalogue.set_price(shop.admin, product, cycle="monthly", currency="HUF", amount=amount)
    with at(date(2026, 1, 10)):
        placed, invoice = order(shop.bora, shop.bora_account, shop.small, currency="HUF")
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="HUF", source="manual",
                                external_id="bora-order")
    service = db.session.get(Service, placed.services[0].id)
    with at(date(2026, 1, 21)):  # 20 of the period's 31 days left; Bora is in Turkey (KDV 20 %)
        figures = plan_changes.preview(shop.bora, service, shop.big.id)

    charge_net, unused_net = half_up(Fraction(9990 * 20, 31)), half_up(Fraction(3990 * 20, 31))
    taxed = [net + half_up(Fraction(net * 2000, 10_000)) for net in (charge_net, unused_net)]
    assert figures.difference == taxed[0] - taxed[1]
    assert all(isinstance(line.gross, int) for line in figures.quote.lines)


def test_the_plans_offered_are_the_groups_other_products_of_its_kind_on_the_services_cycle(shop):
    service = active_service(shop, shop.small, "quarterly", date(2026, 1, 10))
    monthly = active_service(shop, shop.small, "monthly", date(2026, 1, 10))
    with at(date(2026, 1, 20)):
        offered = {option.product.code for option in plan_changes.plan_options(shop.carla, service)}
        monthly_offered = {option.product.code for option in plan_changes.plan_options(shop.carla, monthly)}
    assert offered == {"big"}  # web hosting, the domain, the package and the contract have no quarterly price
    assert monthly_offered == {"big", "web-hosting"}  # not the Start package: products move to products


def test_a_packages_contents_do_not_change_plan_alone(shop):
    with at(date(2026, 1, 10)):
        placed, invoice = order(shop.carla, shop.carla_account, shop.start)
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                                external_id="start-package")
    domain = next(s for s in placed.services if s.parent_id is not None)
    with at(date(2026, 1, 20)), pytest.raises(plan_changes.PlanNotChangeable):
        plan_changes.plan_options(shop.carla, db.session.get(Service, domain.id))


def test_an_upgrade_asks_for_the_difference_and_changes_the_plan_when_paid(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    due = service.next_due_date
    with at(date(2026, 3, 20)):
        change = plan_changes.change_plan(shop.carla, service, shop.big.id, key="form-1")

    invoice = db.session.get(Invoice, change.invoice_id)
    assert change.status == CHANGE_PENDING and invoice.status == PROFORMA
    assert invoice.total == change.difference > 0 and invoice.account_id == shop.carla_account.id
    db.session.refresh(service)
    assert service.product_id == shop.small.id  # not before it is paid

    with at(date(2026, 3, 21)):
        payments.record_payment(SYSTEM, invoice=invoice, amount=invoice.total, currency="EUR", source="manual",
                                external_id="upgrade-paid")

    db.session.expire_all()
    service, change = db.session.get(Service, service.id), db.session.get(PlanChange, change.id)
    assert change.status == CHANGE_APPLIED and db.session.get(Invoice, invoice.id).status == FINAL
    assert service.product_id == shop.big.id and service.recurring_amount == BIG["monthly"]
    assert service.next_due_date == due and service.status == "active"
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity == "billing-service", AuditEvent.entity_id == service.id)).all()
    assert "plan-change-invoiced" in actions and actions.count("plan-changed") == 1


def test_an_upgrade_paid_after_its_period_ended_goes_to_credit_instead(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        change = plan_changes.change_plan(shop.carla, service, shop.big.id, key="form-late-pay")
    with at(date(2026, 4, 10)):  # the period it was priced for ended on 9 April
        payments.record_payment(SYSTEM, invoice=change.invoice_id, amount=change.difference, currency="EUR",
                                source="manual", external_id="late-upgrade")

    db.session.expire_all()
    assert db.session.get(PlanChange, change.id).status == CHANGE_CANCELLED
    assert db.session.get(Service, service.id).product_id == shop.small.id
    assert credit.balance(shop.carla_account.id, "EUR") == change.difference


def test_an_upgrade_paid_from_credit_changes_the_plan(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    credit.adjust_credit(shop.admin, shop.carla_account, currency="EUR", amount=10_000, note="Goodwill")
    with at(date(2026, 3, 20)):
        change = plan_changes.change_plan(shop.carla, service, shop.big.id, key="form-credit")
        credit.pay_from_credit(shop.carla, change.invoice_id, key="pay-1")

    db.session.expire_all()
    assert db.session.get(Service, service.id).product_id == shop.big.id
    assert credit.balance(shop.carla_account.id, "EUR") == 10_000 - change.difference


def test_a_downgrade_puts_the_difference_on_the_credit_balance_at_once(shop):
    service = active_service(shop, shop.big, "yearly", date(2026, 1, 1))
    due = service.next_due_date
    with at(date(2026, 7, 1)):
        change = plan_changes.change_plan(shop.carla, service, shop.small.id, key="form-down")

    db.session.expire_all()
    service = db.session.get(Service, service.id)
    assert change.status == CHANGE_APPLIED and change.invoice_id is None and change.difference < 0
    assert service.product_id == shop.small.id and service.recurring_amount == SMALL["yearly"]
    assert service.next_due_date == due
    assert credit.balance(shop.carla_account.id, "EUR") == -change.difference
    entry = db.session.scalars(sa.select(CreditEntry).where(CreditEntry.account_id == shop.carla_account.id)).one()
    assert entry.kind == CREDIT_PLAN_CHANGE and entry.amount == -change.difference
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(
        Invoice.account_id == shop.carla_account.id)) == 1  # the order's only: no invoice, no cash


def test_the_same_form_sent_twice_changes_the_plan_once(shop):
    service = active_service(shop, shop.big, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        first = plan_changes.change_plan(shop.carla, service, shop.small.id, key="form-twice")
        again = plan_changes.change_plan(shop.carla, service, shop.small.id, key="form-twice")

    assert again.id == first.id
    assert credit.balance(shop.carla_account.id, "EUR") == -first.difference
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 1


def test_an_upgrade_sent_twice_makes_one_invoice(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        first = plan_changes.change_plan(shop.carla, service, shop.big.id, key="up-twice")
        again = plan_changes.change_plan(shop.carla, service, shop.big.id, key="up-twice")

    assert again.id == first.id and again.invoice_id == first.invoice_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(
        Invoice.account_id == shop.carla_account.id, Invoice.order_id.is_(None))) == 1


@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite has one writer at a time)")


def test_the_same_form_sent_three_times_at_once_changes_the_plan_once(app, shop, postgresql_only):
    service = active_service(shop, shop.big, "monthly", date(2026, 3, 10))
    service_id, small_id, carla_id = service.id, shop.small.id, shop.carla.id
    db.session.commit()

    def confirm(_):
        from helpdesk.accounts.models import User

        carla = db.session.get(User, carla_id)
        return plan_changes.change_plan(carla, service_id, small_id, key="racing-form").id

    with at(date(2026, 3, 20)):
        results, errors = at_once(app, 3, confirm)

    assert errors == [] and len(set(results)) == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditEntry).where(
        CreditEntry.kind == CREDIT_PLAN_CHANGE)) == 1


def test_a_new_change_replaces_an_unpaid_upgrade(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        upgrade = plan_changes.change_plan(shop.carla, service, shop.big.id, key="form-a")
        web = plan_changes.change_plan(shop.carla, service, shop.web.id, key="form-b")

    db.session.expire_all()
    assert db.session.get(PlanChange, upgrade.id).status == CHANGE_CANCELLED
    assert db.session.get(Invoice, upgrade.invoice_id).status == CANCELLED
    assert db.session.get(PlanChange, web.id).status in (CHANGE_PENDING, CHANGE_APPLIED)


def test_changed_figures_are_not_confirmed_unseen(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        seen = plan_changes.preview(shop.carla, service, shop.big.id).difference
    with at(date(2026, 3, 21)), pytest.raises(plan_changes.FiguresChanged):
        plan_changes.change_plan(shop.carla, service, shop.big.id, key="form-late", expect_difference=seen)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_what_cannot_change_plan(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    other_group = catalogue.create_group(shop.admin, code="contracts", texts={"en": {"name": "Contracts"}})
    elsewhere = catalogue.create_product(shop.admin, group=other_group, code="elsewhere",
                                         texts={"en": {"name": "Elsewhere"}})
    catalogue.set_price(shop.admin, elsewhere, cycle="monthly", currency="EUR", amount=100)
    with at(date(2026, 3, 20)):
        for product in (elsewhere, shop.small):  # another group's product; the plan it has
            with pytest.raises(ValidationFailed):
                plan_changes.change_plan(shop.carla, service, product.id, key=f"x-{product.id}")
        with pytest.raises(NotFound):  # another customer's service
            plan_changes.change_plan(shop.bora, service, shop.big.id, key="bora")
        with pytest.raises(NotAllowed):  # an agent without the billing permission
            plan_changes.change_plan(shop.agent, service, shop.big.id, key="alex")
    with at(date(2026, 4, 12)), pytest.raises(plan_changes.PlanNotChangeable):  # its period is over, unpaid
        plan_changes.preview(shop.carla, service, shop.big.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_staff_change_a_customers_plan(shop):
    service = active_service(shop, shop.big, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        change = plan_changes.change_plan(shop.admin, service, shop.small.id, key="staff-form")
    assert change.requested_by_id == shop.admin.id and change.status == CHANGE_APPLIED
    assert credit.balance(shop.carla_account.id, "EUR") == -change.difference


def test_the_audit_trail_tells_each_change_in_words(shop):
    service = active_service(shop, shop.small, "monthly", date(2026, 3, 10))
    with at(date(2026, 3, 20)):
        up = plan_changes.change_plan(shop.carla, service, shop.big.id, key="told-up")
        payments.record_payment(SYSTEM, invoice=up.invoice_id, amount=up.difference, currency="EUR",
                                source="manual", external_id="told-paid")
        plan_changes.change_plan(shop.admin, service, shop.small.id, key="told-down")

    rows = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "billing-service", AuditEvent.entity_id == service.id,
        AuditEvent.action.like("plan-%")).order_by(AuditEvent.id)).all()
    told = [" ".join(str(s) for s in row.sentences) for row in sentences.tell(rows)]
    invoice = db.session.get(Invoice, up.invoice_id)
    assert told[0].startswith("Asked €") and f"invoice {invoice.number or invoice.reference}" in told[0]
    assert "to Big plan" in told[0]
    assert "from Small plan to Big plan." in told[1]
    assert "from Big plan to Small plan;" in told[2] and "went to the customer’s credit" in told[2]

