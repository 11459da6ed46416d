"""A deterministic mixed mail corpus for benchmarks: new tickets, replies by signed token and by
headers, HTML, attachments and RFC 2047 subjects in our users' languages."""
import random
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime

SUBJECTS = [
    ("utf-8", "Drucker druckt nicht – Fehler 0x42"),
    ("utf-8", "Sunucuya erişemiyorum, acil yardım"),
    ("iso-8859-2", "Számla hibás összeggel érkezett"),
    ("utf-8", "مشکل در ورود به حساب کاربری"),
    ("us-ascii", "VPN drops every 10 minutes"),
]
BODY = ("Hello,\n\nsince this morning the service does not respond. We tried restarting it twice.\n"
        "Error: connection reset by peer (code {n}).\n\nBest regards\n{name}\n")


def build(count, reply_address, seed=42, start_number=1000):
    """Return ``count`` raw messages (bytes) in arrival order. ``reply_address(number)`` gives the
    helpdesk's signed reply address for a ticket number (the corpus assumes tickets are numbered
    from ``start_number`` in the order new-ticket mails arrive)."""
    rng = random.Random(seed)
    opened = []  # (number, message_id, sender, subject)
    messages = []
    when = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    for i in range(count):
        when += timedelta(seconds=17)
        kind = rng.random()
        msg = EmailMessage()
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<bench-{seed}-{i}@customer.example>"
        if opened and kind < 0.2:  # reply through the signed token address
            number, parent_id, sender, subject = rng.choice(opened)
            msg["From"] = sender
            msg["To"] = reply_address(number)
            msg["Subject"] = f"Re: {subject}"
            msg.set_content(f"Thanks, here is more information (#{i}).\n\n> earlier text\n")
        elif opened and kind < 0.4:  # reply by In-Reply-To/References only
            number, parent_id, sender, subject = rng.choice(opened)
            msg["From"] = sender
            msg["To"] = "support@example.com"
            msg["Subject"] = "Another question about this"
            msg["In-Reply-To"] = parent_id
            msg["References"] = parent_id
            msg.set_content(f"One more detail (#{i}).\n")
        else:  # a new ticket
            charset, text = SUBJECTS[i % len(SUBJECTS)]
            name = f"Customer {i}"
            sender = f"customer{i % 400}@client{i % 37}.example"
            msg["From"] = f"{name} <{sender}>"
            msg["To"] = "support@example.com"
            subject = f"{text} ({i})"
            msg["Subject"] = Header(subject, charset).encode(maxlinelen=10_000) if charset != "us-ascii" else subject
            body = BODY.format(n=i, name=name)
            msg.set_content(body)
            if kind > 0.85:
                msg.add_alternative(f"<html><body><p>{body}</p><img src='https://tracker.example/p.gif'>"
                                    f"<script>alert(1)</script></body></html>", subtype="html")
            if kind > 0.93:
                msg.add_attachment(rng.randbytes(20_000), maintype="application", subtype="pdf",
                                   filename=f"report-{i}.pdf")
            opened.append((start_number + len(opened), msg["Message-ID"], sender, subject))
        messages.append(msg.as_bytes())
    return messages
