"""The billing daily run for 100,000 services (issue 17's target: under 60 seconds on PostgreSQL).

    .venv/bin/python bench/renewals.py [--services 100000] [--backend postgresql|sqlite] [--warmup-days 35]

A throwaway database gets 2,000 customers (a tenth of them with credit that pays their renewals) and their services
(70 % monthly, 15 % quarterly, 10 % yearly, 5 % every two years), each due on a day spread over the 60 days around the
timed day D (from D-10 to D+49), none of them paid by their customers. The runs of the 24 days before D (not timed;
their mail is not delivered) leave what a day finds in a desk where nobody pays: open renewal invoices, reminders
sent, late fees charged, services suspended. The dunning days are shortened (reminders 7 days before, on the day, 3,
5 and 7 days after; late fee after 5, suspension after 7, termination after 10) so that 24 days reach every step.
Then run_day(D) is timed: it invoices the services that come within 14 days of their due date, pays those it can
from credit, mails the reminders of the day, charges the day's late fees, suspends and terminates. The mail it
queues is delivered after the clock stops (by workers, in production); that delivery is timed separately."""
import argparse
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
import time_machine

from bench.databases import throwaway_database
from helpdesk import create_app, jobs
from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, credit, customers, renewals
from helpdesk.billing.models import SERVICE_ACTIVE, Service
from helpdesk.extensions import db
from helpdesk.notify.models import OutboxEmail

TARGET = 60  # seconds for one day's run of 100,000 services on PostgreSQL
DAY = date(2027, 3, 1)
CYCLES = (("monthly", 1, 70), ("quarterly", 3, 15), ("yearly", 12, 10), ("biennial", 24, 5))
SETTINGS = {"SECRET_KEY": "bench-secret", "REDIS_URL": "", "SMTP_HOST": "",
            "BILLING_SELLER": {"name": "Bench Hosting", "country": "DE"},
            "BILLING_RENEWAL_LEAD_DAYS": 14,
            "BILLING_REMINDER_DAYS": {"before": 7, "due": 0, "overdue_1": 3, "overdue_2": 5, "overdue_3": 7},
            "BILLING_LATE_FEES": {"EUR": 500}, "BILLING_LATE_FEE_AFTER_DAYS": 5,
            "BILLING_SUSPEND_AFTER_DAYS": 7, "BILLING_TERMINATE_AFTER_DAYS": 10}


def _months_before(day, months):
    index = day.month - 1 - months
    return date(day.year + index // 12, index % 12 + 1, day.day)


def _populate(count, customers_count=2000):
    """The catalogue, the customers and ``count`` active services (rows written in bulk: what orders leave)."""
    group = catalogue.create_group(SYSTEM, code="hosting", texts={"en": {"name": "Hosting"}})
    product = catalogue.create_product(SYSTEM, group=group, code="web", texts={"en": {"name": "Web hosting"},
                                                                                 "de": {"name": "Webhosting"}})
    for cycle, months, _share in CYCLES:
        catalogue.set_price(SYSTEM, product, cycle=cycle, currency="EUR", amount=990 * months)
    catalogue.set_tax_rule(SYSTEM, country="DE", name="USt.", rate_bp=1900)
    account_ids = []
    for n in range(customers_count):
        user = accounts.create_user(SYSTEM, email=f"c{n}@example.test", full_name=f"Customer {n}", role="customer",
                                    locale=("de", "en", "tr", "hu", "fa")[n % 5])
        account = customers.open_account(SYSTEM, user)
        customers.update_details(SYSTEM, account, country="DE")
        if n % 10 == 0:
            credit.adjust_credit(SYSTEM, account, currency="EUR", amount=10**8, note="prepaid")
        account_ids.append(account.id)
    rng = random.Random(7)
    weights = [share for _cycle, _months, share in CYCLES]
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        cycle, months, _share = rng.choices(CYCLES, weights)[0]
        due = DAY + timedelta(days=rng.randrange(-10, 50))
        due = due.replace(day=min(due.day, 28))
        rows.append({"account_id": account_ids[n % customers_count], "product_id": product.id,
                     "identifier": f"site{n}.example", "options": [], "cycle": cycle, "quantity": 1,
                     "currency": "EUR", "recurring_amount": 990 * months, "includes_tax": False,
                     "status": SERVICE_ACTIVE, "created_at": now, "activated_at": now,
                     "period_start": _months_before(due, months), "period_end": due, "next_due_date": due})
    for start in range(0, len(rows), 10_000):
        db.session.execute(sa.insert(Service), rows[start:start + 10_000])
    db.session.commit()


def _not_delivered(*outbox_ids):
    """The days before D mail nobody: their outbox rows are dropped instead of rendered and sent."""
    db.session.execute(sa.delete(OutboxEmail).where(OutboxEmail.id.in_(outbox_ids)))
    db.session.commit()


def _at(day):
    return datetime(day.year, day.month, day.day, 3, tzinfo=UTC)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--warmup-days", type=int, default=24)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # a line per mail sent would bury the figures
    with tempfile.TemporaryDirectory() as folder, throwaway_database(args.backend, Path(folder)) as url:
        app = create_app(None, {**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(Path(folder) / "instance")})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            started = time.perf_counter()
            _populate(args.services)
            print(f"{args.services:,} services in {time.perf_counter() - started:.1f} s (not timed)")
            started = time.perf_counter()
            with time_machine.travel(_at(DAY - timedelta(days=args.warmup_days)), tick=False) as clock:
                for offset in range(args.warmup_days, 0, -1):
                    day = DAY - timedelta(days=offset)
                    clock.move_to(_at(day))
                    with jobs.held(), mock.patch("helpdesk.notify.tasks.deliver_many", _not_delivered):
                        renewals.run_day(day)
                print(f"{args.warmup_days} days before it run in {time.perf_counter() - started:.1f} s (not timed)")
                clock.move_to(_at(DAY))
                with jobs.held():
                    started = time.perf_counter()
                    report = renewals.run_day(DAY)
                    seconds = time.perf_counter() - started
                    delivery = time.perf_counter()
                delivery = time.perf_counter() - delivery
        counts = report.counts()
        verdict = "within" if seconds < TARGET else "OVER"
        print(f"daily run of {args.services:,} services on {args.backend}: {seconds:.1f} s "
              f"(target < {TARGET} s: {verdict})")
        print("  " + ", ".join(f"{name.replace('_', ' ')}: {count:,}" for name, count in counts.items()))
        print(f"  the {counts['reminders']:,} mails it queued were rendered and handed to the (absent) SMTP server "
              f"afterwards in {delivery:.1f} s")


if __name__ == "__main__":
    main()
