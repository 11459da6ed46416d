"""400 days of the billing daily run with the clock moved by time-machine: services on monthly, quarterly, yearly and
two-year cycles, customers who pay on time, late, never, or from credit. The invoices, reminders, late fees,
suspensions, resumptions and terminations must be exactly those worked out here day by day from the rules as
configured (independently of billing's code), with the run done once a day, twice a day, and (PostgreSQL) by two
workers at the same moment.

Sizes: 400 days are some 2,000 transactions a day's run and the customers' payments make, most of the time of the
test; to keep it short it runs 200 services on SQLite (each of the 16 pairs of cycle and behaviour nine times or
more) and 120 on PostgreSQL (a third of that twice a day, 60 with two workers). RENEWALS_SIMULATION_SERVICES=1000
runs the issue's 1,000 (about four minutes on SQLite)."""
import calendar
import os
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from helpdesk import jobs
from helpdesk.actors import SYSTEM
from helpdesk.billing import credit, payments, renewals
from helpdesk.billing.models import PROFORMA, SERVICE_ACTIVE, SERVICE_CANCELLED, Invoice, Service, ServicePeriod
from helpdesk.billing.renewal_models import BillingReminder, LateFee, ServiceHold
from helpdesk.extensions import db
from tests.integration.billing_shop import at_once, billing_app, build_shop, person

LEAD, SUSPEND, TERMINATE, FEE_AFTER = 14, 15, 45, 7
REMINDER_DAYS = {"before": 7, "due": 0, "overdue_1": 3, "overdue_2": 7, "overdue_3": 14}
SETTINGS = {"BILLING_RENEWAL_LEAD_DAYS": LEAD, "BILLING_REMINDER_DAYS": REMINDER_DAYS,
            "BILLING_LATE_FEES": {"EUR": 500}, "BILLING_LATE_FEE_AFTER_DAYS": FEE_AFTER,
            "BILLING_SUSPEND_AFTER_DAYS": SUSPEND, "BILLING_TERMINATE_AFTER_DAYS": TERMINATE, "BILLING_MAIL_FROM": "",
            "BILLING_NUMBER_YEARLY_RESET": False,
            "BILLING_NUMBER_FORMATS": {"invoice": "{sequence:07d}", "credit_note": "CN-{sequence:07d}"}}
FIRST_DAY, DAYS = date(2027, 1, 1), 400
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
CYCLES = {"monthly": 1, "quarterly": 3, "yearly": 12, "biennial": 24}
BEHAVIOURS = ("on_time", "late", "never", "credit")
PAY_ON_TIME, PAY_LATE = -3, 20  # days from the due date the customers pay (after that day's run)
# Services per backend; RENEWALS_SIMULATION_SERVICES overrides both (1,000 passes on either, in minutes).
SIZES = {"sqlite": 200, "postgresql": 120}
if os.environ.get("RENEWALS_SIMULATION_SERVICES"):
    SIZES = dict.fromkeys(SIZES, int(os.environ["RENEWALS_SIMULATION_SERVICES"]))


pytestmark = pytest.mark.slow  # minutes, not seconds: scheduled first so it does not make the run's tail


@pytest.fixture
def app(app_factory):
    yield from billing_app(app_factory, **SETTINGS)


def months_later(day, months):
    """``day`` + ``months`` calendar months (the test's own arithmetic; the start days are all <= 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan(count, seed=17):
    """The services: (behaviour of their account, cycle, first due date within the simulation), and the accounts."""
    rng = random.Random(seed)
    services = []
    for index in range(count):
        behaviour = BEHAVIOURS[index % 20 % len(BEHAVIOURS)] if index % 20 < 16 else rng.choice(BEHAVIOURS)
        cycle = rng.choice(tuple(CYCLES))
        span = min(CYCLES[cycle] * 30, DAYS - 30)
        due = FIRST_DAY + timedelta(days=rng.randrange(1, span))
        due = due.replace(day=min(due.day, 28))
        services.append((behaviour, cycle, due))
    return services


def expected(services):
    """What must happen to each service, worked out from the rules: invoices, reminder kinds sent, late fees,
    suspensions, resumptions, termination. Each day the run happens first, the customers' payments after it."""
    offsets = sorted((-days if kind == "before" else days, kind) for kind, days in REMINDER_DAYS.items())
    outcome = {}
    for index, (behaviour, cycle, due) in enumerate(services):
        got = {"invoices": 0, "reminders": Counter(), "fees": 0, "suspended": 0, "resumed": 0, "terminated": False}
        paid_day = None
        while True:
            made = max(due - timedelta(days=LEAD), FIRST_DAY if paid_day is None else paid_day + timedelta(days=1))
            if made > LAST_DAY:
                break
            got["invoices"] += 1
            if behaviour == "credit":
                paid = made  # paid by the run itself, before any mail
            else:
                paid = {"on_time": max(due + timedelta(days=PAY_ON_TIME), made),
                        "late": due + timedelta(days=PAY_LATE), "never": None}[behaviour]
                unpaid_until = min(paid or LAST_DAY, LAST_DAY)  # the last run that sees it unpaid
                terminated_on = due + timedelta(days=TERMINATE)
                if terminated_on <= unpaid_until:
                    unpaid_until = terminated_on
                got["reminders"]["invoice"] += 1
                for offset, kind in offsets:
                    if made < due + timedelta(days=offset) <= unpaid_until:
                        got["reminders"][kind] += 1
                if due + timedelta(days=FEE_AFTER) <= unpaid_until and not terminated_on <= due + timedelta(
                        days=FEE_AFTER):
                    got["fees"] += 1
                if due + timedelta(days=SUSPEND) <= unpaid_until:
                    got["suspended"] += 1
                    if paid is not None and paid <= LAST_DAY:
                        got["resumed"] += 1
                if terminated_on <= unpaid_until:
                    got["terminated"] = True
                    break
            if paid is None or paid > LAST_DAY:
                break
            paid_day, due = paid, months_later(due, CYCLES[cycle])
        outcome[index] = got
    return outcome


def build(services):
    """Accounts (ten services each, one behaviour per account) and the services, active, their current period paid
    (made as rows: what an order and its payment leave behind, without 1,000 checkouts)."""
    shop = build_shop()
    accounts, rows = {}, []
    for index, (behaviour, cycle, due) in enumerate(services):
        key = (index // 10, behaviour)
        if key not in accounts:
            user = person("customer", f"c{index}@example.test")
            from helpdesk.billing import customers

            account = customers.open_account(user, user)
            if behaviour == "credit":
                credit.adjust_credit(shop.admin, account, currency="EUR", amount=10**9, note="prepaid")
            accounts[key] = account
        start = months_later(due, -CYCLES[cycle])
        rows.append(Service(account_id=accounts[key].id, product_id=shop.web.id, cycle=cycle, quantity=1,
                            currency="EUR", recurring_amount=1000 + 100 * CYCLES[cycle], includes_tax=False,
                            status=SERVICE_ACTIVE, activated_at=datetime(2026, 1, 1, tzinfo=UTC),
                            period_start=start, period_end=due, next_due_date=due, identifier=f"s{index}"))
    db.session.add_all(rows)
    db.session.commit()
    return {service.id: index for index, service in enumerate(rows)}


def pay_the_day(day, behaviours):
    """The customers who pay today pay their open renewal invoices (through record_payment, as a booking would)."""
    open_invoices = db.session.execute(
        sa.select(Invoice.id, Invoice.due_date, Invoice.total, ServicePeriod.service_id)
        .join(ServicePeriod, ServicePeriod.invoice_id == Invoice.id)
        .where(Invoice.status == PROFORMA)).all()
    for invoice_id, due, total, service_id in open_invoices:
        behaviour = behaviours[service_id]
        on = {"on_time": due + timedelta(days=PAY_ON_TIME), "late": due + timedelta(days=PAY_LATE)}.get(behaviour)
        if on is not None and on <= day:
            payments.record_payment(SYSTEM, invoice=invoice_id, amount=total, currency="EUR", source="manual",
                                    external_id=f"bank-{invoice_id}")


def simulate(app, services, runs_per_day=1, workers=1):
    index_of = build(services)
    behaviours = {service_id: services[index][0] for service_id, index in index_of.items()}
    # The mail the run queues is delivered once at the end (jobs.held), as `helpdesk mail ingest` does: the test
    # counts what was decided, and 400 days of one delivery per commit would be most of its time.
    with jobs.held(), time_machine.travel(datetime(FIRST_DAY.year, 1, 1, 9, tzinfo=UTC), tick=False) as clock:
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            clock.move_to(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
            for _ in range(runs_per_day):
                if workers == 1:
                    renewals.run_day(day)
                else:
                    _results, errors = at_once(app, workers, lambda _i, day=day: renewals.run_day(day))
                    assert errors == []
            pay_the_day(day, behaviours)
    db.session.expire_all()
    return index_of


def observed(index_of):
    """What happened to each service, read from the database."""
    got = {index: {"invoices": 0, "reminders": Counter(), "fees": 0, "suspended": 0, "resumed": 0,
                   "terminated": False} for index in index_of.values()}
    for service_id, count in db.session.execute(sa.select(ServicePeriod.service_id, sa.func.count())
                                                .group_by(ServicePeriod.service_id)):
        got[index_of[service_id]]["invoices"] = count
    for service_id, kind, count in db.session.execute(
            sa.select(ServicePeriod.service_id, BillingReminder.kind, sa.func.count())
            .join(ServicePeriod, ServicePeriod.invoice_id == BillingReminder.invoice_id)
            .group_by(ServicePeriod.service_id, BillingReminder.kind)):
        got[index_of[service_id]]["reminders"][kind] = count
    for service_id, count in db.session.execute(
            sa.select(ServicePeriod.service_id, sa.func.count())
            .join(LateFee, LateFee.invoice_id == ServicePeriod.invoice_id).group_by(ServicePeriod.service_id)):
        got[index_of[service_id]]["fees"] = count
    for service_id, lifted in db.session.execute(sa.select(ServiceHold.service_id, ServiceHold.lifted_at)
                                                 .where(ServiceHold.kind == "overdue")):
        got[index_of[service_id]]["suspended"] += 1
        got[index_of[service_id]]["resumed"] += lifted is not None
    for service_id, status in db.session.execute(sa.select(Service.id, Service.status)
                                                 .where(Service.id.in_(index_of))):
        got[index_of[service_id]]["terminated"] = status == SERVICE_CANCELLED
    return got


def assert_as_expected(services, index_of):
    want, got = expected(services), observed(index_of)
    wrong = {index: (want[index], got[index]) for index in want if want[index] != got[index]}
    assert not wrong, f"{len(wrong)} services differ, e.g. {services[next(iter(wrong))]}: {next(iter(wrong.values()))}"
    # the simulation covers every kind of event
    totals = {key: sum((g[key] for g in got.values()), Counter() if key == "reminders" else 0) for key in want[0]}
    assert totals["invoices"] > len(services) and totals["fees"] and totals["suspended"] > totals["resumed"] > 0
    assert totals["terminated"] and set(totals["reminders"]) == {"invoice", *REMINDER_DAYS}
    # and the invoices that were paid are final, numbered without a gap
    numbers = sorted(int(n) for n in db.session.scalars(sa.select(Invoice.number).where(Invoice.number.is_not(None))))
    assert numbers == list(range(1, len(numbers) + 1))


def test_400_days_of_renewals_do_exactly_what_the_rules_say(app, backend):
    services = plan(SIZES[backend])
    index_of = simulate(app, services)
    assert_as_expected(services, index_of)


def test_running_the_day_twice_changes_nothing_more(app, backend):
    services = plan(SIZES[backend] // 3, seed=5)
    index_of = simulate(app, services, runs_per_day=2)
    assert_as_expected(services, index_of)


def test_two_workers_running_each_day_at_once_do_each_thing_once(app, backend):
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite has one writer at a time)")
    services = plan(SIZES[backend] // 2, seed=11)
    index_of = simulate(app, services, workers=2)
    assert_as_expected(services, index_of)
