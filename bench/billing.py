"""Billing throughput: payments recorded per second through billing.payments.record_payment, each paying a proforma in
full, so each one also makes the invoice final with the next number of its series (under the counter's row lock),
activates the order's service and writes its audit rows. Orders are placed first (not timed).

    .venv/bin/python bench/billing.py [--count 1000] [--backend postgresql|sqlite|both] [--processes 4]

The payments are recorded by N processes at once (as gateway webhooks and staff bookings arrive in several web
processes), each with its own app and connection; the invoice-number counter is the one row they all wait for, and
each holds it only from taking its number to its commit. --processes 1 shows one process alone.
Issue 16's target: at least 200 payments per second on PostgreSQL.

Then the portal's pages (--part pages; --part payments skips them): a customer with 1,000 invoices (half of them
paid) reads their invoice list (the first page, unpaid, paid, an older page; target p95 < 50 ms) and downloads
invoice PDFs (target p95 < 300 ms), timed around the Flask test client's GET (database and rendering, no network)."""
import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.databases import throwaway_database
from helpdesk import create_app
from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.billing import catalogue, customers, orders, payments
from helpdesk.billing.models import FINAL, Invoice
from helpdesk.billing.pricing import CartItem
from helpdesk.extensions import db

TARGET = 200  # payments per second on PostgreSQL, with invoice finalisation
LIST_TARGET_MS, PDF_TARGET_MS = 50, 300  # p95 of the portal's invoice list and of an invoice PDF
PASSWORD = "bench password 123"  # noqa: S105 (a user of a throwaway database)
SETTINGS = {"SECRET_KEY": "bench-secret", "REDIS_URL": "", "SMTP_HOST": "",
            "BILLING_BANK_ACCOUNTS": {"EUR": {"iban": "DE89370400440532013000", "bank": "Bank", "holder": "Bench"}},
            "BILLING_SELLER": {"name": "Bench Hosting", "country": "DE"}}


def _shop(count):
    """A product, ten customers with billing accounts, and ``count`` unpaid orders; their (invoice id, total)."""
    group = catalogue.create_group(SYSTEM, code="hosting", texts={"en": {"name": "Hosting"}})
    product = catalogue.create_product(SYSTEM, group=group, code="web", texts={"en": {"name": "Web hosting"}})
    catalogue.set_price(SYSTEM, product, cycle="monthly", currency="EUR", amount=990, setup_fee=495)
    catalogue.set_tax_rule(SYSTEM, country="DE", name="USt.", rate_bp=1900)
    buyers = []
    for n in range(10):
        user = accounts.create_user(SYSTEM, email=f"buyer{n}@example.test", full_name=f"Buyer {n}", role="customer")
        account = customers.open_account(SYSTEM, user)
        customers.update_details(SYSTEM, account, country="DE", address="Hauptstraße 1\n10115 Berlin")
        buyers.append(account)
    unpaid = []
    for n in range(count):
        order = orders.place_order(SYSTEM, buyers[n % len(buyers)], [CartItem(product.id, "monthly")],
                                   payment_method="bank_transfer")
        unpaid.append((order.invoice.id, order.invoice.total))
    return unpaid


def _worker(url, instance, chunk, ready, go, done):
    app = create_app(None, {**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": instance})
    with app.app_context():
        db.session.execute(sa.select(1))  # connected before the clock starts
        ready.release()
        go.wait()
        for invoice_id, total in chunk:
            payments.record_payment(SYSTEM, invoice=invoice_id, amount=total, currency="EUR", source="manual",
                                    external_id=f"bench-{invoice_id}")
        db.session.remove()
    done.put(len(chunk))


def _pay(url, instance, unpaid, processes):
    """Record one payment per invoice, shared out among ``processes`` processes; the seconds it took."""
    context = multiprocessing.get_context("spawn")
    ready, go, done = context.Semaphore(0), context.Event(), context.Queue()
    workers = [context.Process(target=_worker, args=(url, instance, unpaid[i::processes], ready, go, done))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    for _worker_ready in workers:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    recorded = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    assert recorded == len(unpaid)
    return elapsed


def run(backend, count, processes):
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-billing-{backend}-"))
    with throwaway_database(backend, workdir) as url:
        app = create_app(None, {**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance")})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            unpaid = _shop(count)
            db.session.remove()
        elapsed = _pay(url, str(workdir / "instance"), unpaid, processes)
        with app.app_context():
            numbers = sorted(db.session.scalars(sa.select(Invoice.sequence).where(Invoice.status == FINAL)))
            gapless = numbers == list(range(1, count + 1))
            db.session.remove()
            db.engine.dispose()
    rate = count / elapsed
    target = f"(target ≥ {TARGET}/s: {'met' if rate >= TARGET else 'NOT met'})" if backend == "postgresql" else ""
    print(f"{backend:<10} processes={processes} {count} payments with invoice finalisation in {elapsed:.2f} s = "
          f"{rate:,.0f} payments/s {target}  numbers 1..{count} gapless: {'yes' if gapless else 'NO'}")
    return rate


# --------------------------------------------------------------------------- the portal's pages

def _customer_with_invoices(count):
    """A customer who logs in, with ``count`` invoices of their own (every other one paid); their invoice ids."""
    user = accounts.create_user(SYSTEM, email="many@example.test", full_name="Many Invoices", role="customer",
                                password=PASSWORD)
    account = customers.open_account(SYSTEM, user)
    customers.update_details(SYSTEM, account, country="DE", address="Hauptstraße 1\n10115 Berlin")
    product = catalogue.get_product(1)
    ids = []
    for n in range(count):
        order = orders.place_order(SYSTEM, account, [CartItem(product.id, "monthly", identifier=f"shop{n}.example")],
                                   payment_method="bank_transfer")
        if n % 2:
            payments.record_payment(SYSTEM, invoice=order.invoice, amount=order.invoice.total, currency="EUR",
                                    source="manual", external_id=f"page-bench-{n}")
        ids.append(order.invoice.id)
    return ids


def _timed_get(client, url, expected_type):
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200 and response.mimetype == expected_type, (url, response.status_code)
    return elapsed


def _figure(name, times, target):
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "PASS" if p95 < target else "FAIL"
    print(f"  {name:<40} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
          f"(target p95 < {target} ms: {verdict})", flush=True)


def pages(backend, count=1000, requests=200, warmup=20):
    """The portal's invoice list and invoice PDFs for a customer with ``count`` invoices: median and p95."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-billing-pages-{backend}-"))
    with throwaway_database(backend, workdir) as url:
        app = create_app(None, {**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
                                "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            _shop(0)
            ids = _customer_with_invoices(count)
            db.session.remove()
        client = app.test_client()
        response = client.post("/login", data={"login": "many@example.test", "password": PASSWORD})
        assert response.status_code == 302, "login failed"
        first = client.get("/billing/invoices").get_data(as_text=True)
        older = first.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        lists = ["/billing/invoices", "/billing/invoices?state=unpaid", "/billing/invoices?state=paid", older]
        rng = random.Random(16)
        pdfs = [f"/billing/invoices/{rng.choice(ids)}/pdf" for _ in range(requests + warmup)]
        print(f"{backend}: a customer with {count:,} invoices, {requests} requests each after {warmup} warm-up",
              flush=True)
        for name, urls, kind, target in (("portal invoice list (4 views)", lists, "text/html", LIST_TARGET_MS),
                                         ("invoice PDF (random invoices)", pdfs, "application/pdf", PDF_TARGET_MS)):
            for i in range(warmup):
                _timed_get(client, urls[i % len(urls)], kind)
            _figure(name, [_timed_get(client, urls[(warmup + i) % len(urls)], kind) for i in range(requests)], target)
        with app.app_context():
            db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="postgresql")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--part", choices=("payments", "pages", "all"), default="all")
    args = parser.parse_args()
    for backend in (("postgresql", "sqlite") if args.backend == "both" else (args.backend,)):
        if args.part in ("payments", "all"):
            run(backend, args.count, args.processes)
        if args.part in ("pages", "all"):
            pages(backend)


if __name__ == "__main__":
    main()
