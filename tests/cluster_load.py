"""Simulated customers and agents for tests/cluster_harness.py's desk (threads and httpx through the balancer),
what they did (a Record of every request, every mail dropped, every form sent, every file uploaded), and the
checks run on it afterwards. Our own code rather than Locust: Locust would bring gevent and a web UI of its own
into the lock for what these few hundred lines do."""
import hashlib
import random
import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime

import httpx

from tests.chat_client import PASSWORD
from tests.cluster_harness import LOST_HEADER, drop_mail
from tests.conftest import csrf_token

WORDS = "printer vpn invoice mailbox backup certificate domain database firewall server".split()
_TICKET_LINK = re.compile(r'href="/agent/tickets/(\d+)"')
_MY_TICKET_LINK = re.compile(r'href="/tickets/(\d+)"')
_ATTACHMENT_LINK = re.compile(r'href="/attachments/(\d+)"')
_SEEN_UP_TO = re.compile(r'name="seen_up_to"[^>]*value="(\d*)"')


def token() -> str:
    """A word no language has, so a search for it finds one ticket: letters only (no stemmer splits it)."""
    return "zq" + "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))


@dataclass
class Record:
    kind: str
    method: str
    status: int  # 0: no answer (connection error)
    ms: float
    lost_in_flight: bool = False  # the balancer's 502 for a POST whose process died with it in hand
    error: str = ""


@dataclass
class Journal:
    """Everything the simulated people did, shared by their threads."""

    records: list = field(default_factory=list)
    mails: list = field(default_factory=list)  # {"message_id", "kind": "new"|"reply", "parent", "token"}
    forms: list = field(default_factory=list)  # {"token", "ok": bool, "lost": bool}
    uploads: dict = field(default_factory=dict)  # sha256 -> bytes of every file sent
    tokens: list = field(default_factory=list)  # subject words of tickets opened (searched by agents)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name, item):
        with self.lock:
            getattr(self, name).append(item)


class Person(threading.Thread):
    def __init__(self, base_url, email, journal, until, think, seed):
        super().__init__(name=f"person:{email}", daemon=True)
        self.client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(60.0, connect=10.0))
        self.email, self.journal, self.until, self.think = email, journal, until, think
        self.rng = random.Random(seed)

    def request(self, kind, method, url, **kwargs):
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.journal.add("records", Record(kind, method, 0, (time.perf_counter() - started) * 1000,
                                               error=type(exc).__name__))
            return None
        self.journal.add("records", Record(kind, method, response.status_code,
                                           (time.perf_counter() - started) * 1000,
                                           lost_in_flight=response.headers.get(LOST_HEADER) == "lost-in-flight"))
        return response

    def log_in(self):
        for _ in range(5):
            page = self.request("login", "GET", "/login")
            if page is not None and page.status_code == 200:
                answer = self.request("login", "POST", "/login", data={
                    "login": self.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
                if answer is not None and answer.status_code in (302, 303):
                    return True
            time.sleep(1)
        return False

    def run(self):
        try:
            if not self.log_in():
                return
            while time.monotonic() < self.until:
                self.act()
                time.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        finally:
            self.client.close()

    def upload(self):
        data = b"%PDF-1.4\n" + self.rng.randbytes(self.rng.randint(2_000, 60_000))
        with self.journal.lock:
            self.journal.uploads[hashlib.sha256(data).hexdigest()] = data
        return data


class Customer(Person):
    """Opens tickets by form (some with a file), mails new tickets and replies into the drop folder, replies on
    the portal and looks at their tickets."""

    def __init__(self, *args, maildir, **kwargs):
        super().__init__(*args, **kwargs)
        self.maildir, self.sent, self.numbers = maildir, [], []  # sent: (time, Message-ID) of new-ticket mails

    def act(self):
        roll = self.rng.random()
        if roll < 0.25:
            self.open_by_form()
        elif roll < 0.45:
            self.mail_new()
        elif roll < 0.55 and any(when < time.monotonic() - 15 for when, _ in self.sent):
            self.mail_reply()
        elif roll < 0.8 and self.numbers:
            self.reply_on_portal()
        else:
            self.look()

    def open_by_form(self):
        page = self.request("ticket form", "GET", "/tickets/new")
        if page is None or page.status_code != 200:
            return
        word = token()
        data = {"subject": f"{self.rng.choice(WORDS)} trouble {word}", "description": "It stopped working.",
                "department": "", "priority": "normal", "problem_timezone": "UTC",
                "csrf_token": csrf_token(page.text)}
        files = [("attachments", ("report.pdf", self.upload(), "application/pdf"))] \
            if self.rng.random() < 0.35 else None
        answer = self.request("open ticket (form)", "POST", "/tickets/new", data=data, files=files)
        ok = answer is not None and answer.status_code in (302, 303)
        lost = answer is None or answer.status_code >= 500
        self.journal.add("forms", {"token": word, "ok": ok, "lost": lost, "status": answer and answer.status_code})
        if ok:
            self.journal.add("tokens", word)
            self.look()

    def mail_new(self):
        word = token()
        message = self._mail(f"{self.rng.choice(WORDS)} question {word}", "Please help, it is down again.")
        if self.rng.random() < 0.2:
            message.add_attachment(self.upload(), maintype="application", subtype="pdf", filename="log.pdf")
        drop_mail(self.maildir, message.as_bytes())
        self.sent.append((time.monotonic(), message["Message-ID"]))
        self.journal.add("mails", {"message_id": message["Message-ID"], "kind": "new", "token": word,
                                   "dropped_at": time_now()})
        self.journal.add("tokens", word)

    def mail_reply(self):
        parent = self.rng.choice([mid for when, mid in self.sent if when < time.monotonic() - 15])
        message = self._mail("Re: my question", "One more detail: it happens every hour.")
        message["In-Reply-To"] = message["References"] = parent
        drop_mail(self.maildir, message.as_bytes())
        self.journal.add("mails", {"message_id": message["Message-ID"], "kind": "reply", "parent": parent,
                                   "dropped_at": time_now()})

    def _mail(self, subject, text):
        message = EmailMessage()
        message["From"] = self.email
        message["To"] = "support@desk.cluster.example"
        message["Subject"] = subject
        message["Date"] = format_datetime(time_now())
        # Short enough that no header holding it is folded (the standard library encodes a long In-Reply-To).
        message["Message-ID"] = f"<{uuid.uuid4().hex}@client.cluster.example>"
        message.set_content(text)
        return message

    def look(self):
        page = self.request("my tickets", "GET", "/tickets")
        if page is not None and page.status_code == 200:
            self.numbers = [int(n) for n in _MY_TICKET_LINK.findall(page.text)][:20]

    def reply_on_portal(self):
        number = self.rng.choice(self.numbers)
        page = self.request("ticket page (customer)", "GET", f"/tickets/{number}")
        if page is None or page.status_code != 200 or 'name="body"' not in page.text:
            return
        files = [("reply_attachments", ("more.pdf", self.upload(), "application/pdf"))] \
            if self.rng.random() < 0.15 else None
        self.request("reply (portal)", "POST", f"/tickets/{number}/reply", files=files,
                     data={"body": "Still broken, see above.", "csrf_token": csrf_token(page.text)})


class Agent(Person):
    """Looks at the queue, opens tickets, replies, searches for tickets opened during the run and downloads
    the files on the tickets they open."""

    def act(self):
        queue = self.request("queue", "GET", "/agent/")
        if queue is None or queue.status_code != 200:
            return
        numbers = _TICKET_LINK.findall(queue.text)
        roll = self.rng.random()
        if roll < 0.25 and self.journal.tokens:
            word = self.rng.choice(self.journal.tokens)
            self.request("search", "GET", "/agent/search", params={"q": word})
        elif numbers:
            number = self.rng.choice(numbers[:25])
            page = self.request("ticket page (agent)", "GET", f"/agent/tickets/{number}")
            if page is None or page.status_code != 200:
                return
            for attachment in _ATTACHMENT_LINK.findall(page.text)[:2]:
                self.request("attachment", "GET", f"/attachments/{attachment}")
            seen = _SEEN_UP_TO.search(page.text)
            if self.rng.random() < 0.5 and seen:
                self.request("reply (agent)", "POST", f"/agent/tickets/{number}/reply", data={
                    "body": "We are looking into it.", "reply_status": "answered", "seen_up_to": seen.group(1),
                    "csrf_token": csrf_token(page.text)})


def time_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def run_load(base_url, customers, agents, maildir, seconds, think, journal, events=()):
    """Start every person, run ``events`` ((at second, callable)) on time meanwhile, and wait for the end."""
    until = time.monotonic() + seconds
    people = [Customer(base_url, email, journal, until, think, i, maildir=maildir)
              for i, email in enumerate(customers)]
    people += [Agent(base_url, email, journal, until, think, 10_000 + i) for i, email in enumerate(agents)]
    started = time.monotonic()
    for person in people:
        person.start()
        time.sleep(min(0.05, think / max(1, len(people))))  # not all at once: people arrive
    for at, event in sorted(events, key=lambda item: item[0]):
        time.sleep(max(0.0, started + at - time.monotonic()))
        event()
    for person in people:
        person.join(timeout=max(1.0, until - time.monotonic() + 120))
    return time.monotonic() - started


# --------------------------------------------------------------------------- figures and checks

def figures(records, seconds) -> list[str]:
    lines = [f"requests: {len(records)} in {seconds:.0f} s = {len(records) / seconds:.1f}/s through the balancer",
             f"  {'page type':<26} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'4xx':>5} {'5xx':>5} {'conn':>5}"]
    kinds = sorted({record.kind for record in records})
    for kind in kinds:
        mine = [record for record in records if record.kind == kind]
        times = sorted(record.ms for record in mine if record.status)
        p50 = statistics.median(times) if times else 0
        p95 = statistics.quantiles(times, n=20)[18] if len(times) > 1 else (times[0] if times else 0)
        lines.append(f"  {kind:<26} {len(mine):>6} {p50:>8.0f} {p95:>8.0f} "
                     f"{sum(400 <= r.status < 500 for r in mine):>5} {sum(r.status >= 500 for r in mine):>5} "
                     f"{sum(r.status == 0 for r in mine):>5}")
    return lines


class Checks:
    """PASS/FAIL lines of what an operator wants from a cluster: they print as they are decided."""

    def __init__(self, out=print):
        self.results, self.out = [], out

    def check(self, name, passed, detail=""):
        self.results.append((name, bool(passed), detail))
        self.out(f"{'PASS' if passed else 'FAIL'}  {name}" + (f": {detail}" if detail else ""))

    @property
    def failed(self):
        return [name for name, passed, _ in self.results if not passed]


def check_requests(checks, journal, balancer_figures):
    records = journal.records
    server_errors = [r for r in records if r.status >= 500 and not r.lost_in_flight]
    connection_errors = [r for r in records if r.status == 0]
    lost = [r for r in records if r.lost_in_flight]
    checks.check("no request failed that the balancer could retry", not server_errors and not connection_errors,
                 f"{len(server_errors)} 5xx answers, {len(connection_errors)} connection errors, "
                 f"{balancer_figures['retried']} retried on the other process; {len(lost)} POSTs lost in flight "
                 f"when their process was killed (never sent twice, as nginx)")
    return lost


def check_mail(checks, app, journal):
    """Every mail dropped became exactly one message (a ticket or a reply), replies on their parent's ticket."""
    import sqlalchemy as sa

    from helpdesk.extensions import db

    ids = [mail["message_id"].strip("<>") for mail in journal.mails]
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT trim(both '<>' from message_id) AS mid, count(*), min(ticket_id) FROM messages "
            "WHERE trim(both '<>' from message_id) = ANY(:ids) GROUP BY 1"), {"ids": ids}).all()
        processed = dict(db.session.execute(sa.text(
            "SELECT trim(both '<>' from message_id), processed_at FROM inbound_messages "
            "WHERE trim(both '<>' from message_id) = ANY(:ids) AND processed_at IS NOT NULL"), {"ids": ids}).all())
        db.session.remove()
    lags = sorted((processed[mail["message_id"].strip("<>")] - mail["dropped_at"]).total_seconds()
                  for mail in journal.mails if mail["message_id"].strip("<>") in processed)
    if len(lags) > 1:
        checks.out(f"mail dropped to processed: p50 {statistics.median(lags):.1f} s, "
                   f"p95 {statistics.quantiles(lags, n=20)[18]:.1f} s, max {lags[-1]:.1f} s (polls every second; "
                   f"the max includes the reading gateway's kill and the other's take-over)")
    found = {mid: (count, ticket) for mid, count, ticket in rows}
    missing = [mid for mid in ids if mid not in found]
    doubled = [mid for mid, (count, _) in found.items() if count > 1]
    checks.check("every mail dropped became exactly one ticket or reply", not missing and not doubled,
                 f"{len(ids)} mails, {len(missing)} missing, {len(doubled)} doubled")
    news = [mail for mail in journal.mails if mail["kind"] == "new"]
    tickets = [found.get(mail["message_id"].strip("<>"), (0, None))[1] for mail in news]
    strays = [mail for mail in journal.mails if mail["kind"] == "reply"
              and found.get(mail["message_id"].strip("<>"), (0, None))[1]
              != found.get(mail["parent"].strip("<>"), (0, -1))[1]]
    checks.check("every new-ticket mail opened its own ticket and every reply joined its parent's ticket",
                 len(set(tickets)) == len(tickets) and not strays,
                 f"{len(news)} new tickets by mail, {len(journal.mails) - len(news)} replies, {len(strays)} astray")


def check_forms(checks, app, journal, lost_posts):
    import sqlalchemy as sa

    from helpdesk.extensions import db

    with app.app_context():
        subjects = db.session.scalars(sa.text("SELECT subject FROM tickets")).all()
        db.session.remove()
    counts = {}
    for subject in subjects:
        word = subject.rsplit(" ", 1)[-1]
        counts[word] = counts.get(word, 0) + 1
    done = [form for form in journal.forms if form["ok"]]
    wrong = [form["token"] for form in done if counts.get(form["token"]) != 1]
    lost = [form for form in journal.forms if form["lost"]]
    doubled_lost = [form["token"] for form in lost if counts.get(form["token"], 0) > 1]
    others = [form for form in journal.forms if not form["ok"] and not form["lost"]]
    checks.check("every ticket form answered with success made exactly one ticket", not wrong and not doubled_lost,
                 f"{len(done)} forms, {len(wrong)} not exactly one ticket; of {len(lost)} lost in flight "
                 f"{sum(counts.get(form['token'], 0) == 1 for form in lost)} made their ticket anyway, "
                 f"none twice; {len(others)} refused by the form (4xx)")


def _agent_client(url, email):
    client = httpx.Client(base_url=url, timeout=60.0)
    page = client.get("/login")
    answer = client.post("/login", data={"login": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert answer.status_code in (302, 303), f"agent login on {url}: {answer.status_code}"
    return client


def check_search(checks, app, web_urls, agent_email):
    """Every ticket of the run found by a search for its subject's own word, on every web process."""
    import sqlalchemy as sa

    from helpdesk.extensions import db

    with app.app_context():
        tickets = db.session.execute(sa.text("SELECT number, subject FROM tickets WHERE subject LIKE '%zq%'")).all()
        db.session.remove()
    clients = [_agent_client(url, agent_email) for url in web_urls]

    def found(item):
        index, (number, subject) = item
        page = clients[index % len(clients)].get("/agent/search", params={"q": subject.rsplit(" ", 1)[-1]})
        return page.status_code == 200 and f'/agent/tickets/{number}"' in page.text

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(found, enumerate(tickets)))
    for client in clients:
        client.close()
    checks.check("every ticket found by search for its subject", tickets and all(results),
                 f"{len(tickets)} tickets, {results.count(False)} not found (alternating web processes)")


def check_probes(checks, web_urls):
    """After the kills and restarts, every web process live (/healthz) and ready (/readyz: database, Redis,
    storage), as a load balancer's health check sees it; a note when this checkout has no probes."""
    answers = [(httpx.get(url + "/healthz", timeout=10).status_code, httpx.get(url + "/readyz", timeout=10))
               for url in web_urls]
    if all(live == 404 and ready.status_code == 404 for live, ready in answers):
        checks.out("note: no /healthz or /readyz in this checkout")
        return
    good = [live == 200 and ready.status_code == 200 and ready.json().get("status") == "ok"
            for live, ready in answers]
    checks.check("every web process live and ready after the run (/healthz, /readyz)", all(good),
                 ", ".join(f"{url}: {live}/{ready.status_code}"
                           for url, (live, ready) in zip(web_urls, answers, strict=True)))


def check_attachments(checks, app, web_urls, agent_email, journal):
    """Every attachment downloadable from every web process, the same bytes as sent."""
    import sqlalchemy as sa

    from helpdesk.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.text("SELECT id, sha256 FROM attachments")).all()
        db.session.remove()
    clients = [_agent_client(url, agent_email) for url in web_urls]

    def fetched(row):
        bodies = []
        for client in clients:
            answer = client.get(f"/attachments/{row.id}")
            bodies.append(answer.content if answer.status_code == 200 else None)
        sent = journal.uploads.get(row.sha256)
        same = bodies[0] is not None and all(body == bodies[0] for body in bodies)
        return same and hashlib.sha256(bodies[0]).hexdigest() == row.sha256 and (sent is None or sent == bodies[0])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fetched, rows))
    for client in clients:
        client.close()
    ours = sum(row.sha256 in journal.uploads for row in rows)
    checks.check("every attachment downloadable from every web process, byte-equal", rows and all(results),
                 f"{len(rows)} attachments ({ours} of them files the load sent), {results.count(False)} failed, "
                 f"{len(web_urls)} web processes each")


# --------------------------------------------------------------------------- one run, start to end

@dataclass
class Scenario:
    customers: int
    agents: int
    seconds: float
    think: float  # mean seconds a person waits between actions
    restart_after: float = 20.0  # seconds a killed process stays down (systemd's RestartSec)
    drain_timeout: float = 240.0


def run_scenario(cluster, scenario, out=print):
    """Start ``cluster`` (tests/cluster_harness.Cluster), seed people, run the load while killing one web process,
    one worker and the gateway that reads the mailbox (each restarted ``restart_after`` seconds later), wait for the
    queues to drain and run the checks. Returns (Checks, figure lines, Journal)."""
    from helpdesk import create_app
    from tests.cluster_harness import seed_people, wait_drained

    cluster.start_s3()
    cluster.migrate()
    app = create_app(None, cluster.app_config())
    people = seed_people(app, scenario.customers, scenario.agents)
    cluster.start_processes()
    for line in cluster.fallbacks:
        out(f"note: {line}")
    journal, happenings = Journal(), []
    began = time.monotonic()

    def crash(pick):
        def event():
            process = pick()
            process.kill()
            happenings.append(f"{time.monotonic() - began:5.0f} s  SIGKILL {process.name}")
            timer = threading.Timer(scenario.restart_after, lambda: restart(process))
            timer.daemon = True
            timer.start()
        return event

    def restart(process):
        process.start()
        happenings.append(f"{time.monotonic() - began:5.0f} s  restarted {process.name}")

    events = [(scenario.seconds * 0.25, crash(lambda: cluster.webs[0])),
              (scenario.seconds * 0.40, crash(lambda: cluster.workers[0])),
              (scenario.seconds * 0.55, crash(cluster.reading_gateway))]
    seconds = run_load(cluster.balancer.url, people["customers"], people["agents"], cluster.maildir,
                       scenario.seconds, scenario.think, journal, events)
    for line in happenings:
        out(line)
    for process in [*cluster.webs, *cluster.workers, *cluster.gateways]:
        if not process.running():  # a restart timer still pending: bring it back now
            process.start()
    lines = figures(journal.records, seconds)
    balancer = cluster.balancer.figures()
    lines.append(f"balancer: {balancer['requests']} requests, {balancer['retried']} sent again to the other "
                 f"process ({balancer['reset']} of them GETs cut off by the kill, the rest refused), "
                 f"{balancer['lost_in_flight']} POSTs lost in flight, "
                 f"{balancer['no_upstream']} with no process left")
    lines.append(f"mail: {len(journal.mails)} dropped; forms: {len(journal.forms)}; files sent: "
                 f"{len(journal.uploads)}")
    for line in lines:
        out(line)
    drained_at = time.monotonic()
    left = wait_drained(app, cluster.maildir, scenario.drain_timeout)
    checks = Checks(out)
    checks.check("queues drained after the run", not any(left.values()),
                 f"{time.monotonic() - drained_at:.0f} s; left: {left}")
    lost = check_requests(checks, journal, balancer)
    check_mail(checks, app, journal)
    check_forms(checks, app, journal, lost)
    urls = [web.url for web in cluster.webs]
    check_search(checks, app, urls, people["agents"][0])
    check_attachments(checks, app, urls, people["agents"][0], journal)
    check_probes(checks, urls)
    if cluster.features["s3"]:
        on_disk = [path for path in (cluster.folder / "instance").glob("*/attachments/**/*") if path.is_file()]
        checks.check("no file kept on a process's own disk (all in S3)", not on_disk,
                     f"{len(on_disk)} files in the processes' instance folders")
    with app.app_context():
        from helpdesk.extensions import db

        db.engine.dispose()
    return checks, lines, journal
