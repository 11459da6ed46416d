"""IMAP IDLE latency: from APPEND on a real Dovecot (started on loopback) to the ticket existing, and to
the acknowledgement reaching a real SMTP server. Prints median and p95.

    .venv/bin/python bench/imap_latency.py [--count 100] [--backend sqlite|postgresql|both]

The gateway runs as in production (one IDLE connection per mailbox, in-process here) with in-process
jobs, so the acknowledgement is sent by the gateway right after each batch commits."""
import argparse
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.databases import throwaway_database
from helpdesk import create_app
from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.mailgateway import daemon
from helpdesk.tickets import departments
from helpdesk.tickets.models import Message
from tests.conftest import SMTPServer
from tests.integration.imap.conftest import Dovecot, Mailbox


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(backend, count):
    root = Path(tempfile.mkdtemp(prefix="bench-imap-", dir="/tmp"))
    root.chmod(0o755)
    server = Dovecot(root)
    server.start()
    server.add_user("support", "secret")
    mailbox = Mailbox(server, "support", "secret")
    smtp = SMTPServer()
    smtp.start()
    try:
        with throwaway_database(backend, root) as url:
            _measure(url, root, backend, count, mailbox, smtp)
    finally:
        smtp.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _measure(url, root, backend, count, mailbox, smtp):
    app = create_app(None, {
        "DATABASE_URL": url, "INSTANCE_PATH": str(root / "instance"), "REDIS_URL": "", "SECRET_KEY": "bench",
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "LOG_LEVEL": "WARNING",
        "MAIL_MAILBOXES": [mailbox.spec()], "MAIL_POLL_INTERVAL": 300,
        "MAIL_SENDER_SOFT_LIMIT": 10_000, "MAIL_SENDER_HARD_LIMIT": 10_000,
    })
    stop = threading.Event()
    gateway = None
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            departments.create_department(SYSTEM, name="Support", inbound_address="support@example.com")
        gateway = threading.Thread(target=daemon.run, args=(app, stop), daemon=True)
        gateway.start()
        time.sleep(1.0)  # connected and idling
        to_ticket, to_ack = [], []
        gaps = random.Random(7)
        with mailbox.client() as client:
            for i in range(count):
                # Mail arrives at random moments, not the instant the gateway finished the last one.
                time.sleep(gaps.uniform(0.05, 0.5))
                message_id = f"<latency-{i}-{uuid.uuid4().hex[:6]}@customer.example>"
                raw = (f"From: Customer {i} <c{i}@customer.example>\r\nTo: support@example.com\r\n"
                       f"Subject: Latency probe {i}\r\nMessage-ID: {message_id}\r\n\r\nHello\r\n").encode()
                started = time.perf_counter()
                client.append("INBOX", raw)
                ticket_at = ack_at = None
                deadline = started + 10
                while time.perf_counter() < deadline and (ticket_at is None or ack_at is None):
                    if ticket_at is None:
                        with app.app_context():
                            if db.session.scalar(sa.select(Message.id).where(Message.message_id == message_id)):
                                ticket_at = time.perf_counter()
                            db.session.remove()
                    if ack_at is None and any(m["In-Reply-To"] == message_id for m in smtp.messages[-5:]):
                        ack_at = time.perf_counter()
                    time.sleep(0.002)
                if ticket_at is None or ack_at is None:
                    raise RuntimeError(f"message {i} not done within 10 s (ticket={ticket_at}, ack={ack_at})")
                to_ticket.append(ticket_at - started)
                to_ack.append(ack_at - started)
        for name, values in (("APPEND -> ticket", to_ticket), ("APPEND -> acknowledgement at SMTP", to_ack)):
            print(f"{backend:<10} {name:<36} median {statistics.median(values) * 1000:6.1f} ms   "
                  f"p95 {percentile(values, 0.95) * 1000:6.1f} ms   ({count} messages)")
    finally:
        stop.set()
        if gateway is not None:
            gateway.join(timeout=30)  # let it log out before the server goes away
        with app.app_context():
            db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.count)


if __name__ == "__main__":
    main()
