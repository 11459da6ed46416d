"""The ``helpdesk`` command: serve, worker, scheduler, mailgateway, db upgrade, user create, demo, outbox, search."""
import getpass
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo, with_appcontext

from helpdesk import create_app
from helpdesk.actors import CLI
from helpdesk.billing.reconciliation import reconcile_gateways
from helpdesk.errors import HelpdeskError, ValidationFailed
from helpdesk.jobs import sweep_pending
from helpdesk.notify.tasks import sweep as sweep_outbox
from helpdesk.tickets.sla_tasks import flag_breaches


def _make_app():
    from helpdesk import logs

    # A command that serves no page builds the app without the HTTP doors (see create_app).
    command = click.get_current_context(silent=True)
    app = create_app(http=getattr(command and command.command, "serves_http", True))
    logs.configure(app)
    return app


@click.group(cls=AppGroup)
@click.version_option(package_name="helpdesk")
@click.pass_context
def main(ctx):
    """helpdesk: a helpdesk-first ticketing system. Settings come from config/default.py and
    HELPDESK_* environment variables (see the README)."""
    ctx.obj = ScriptInfo(create_app=_make_app, set_debug_flag=False, load_dotenv_defaults=False)


def _fail(exc):
    if isinstance(exc, ValidationFailed):
        for field, message in exc.errors.items():
            click.echo(f"error: {field}: {message}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def upgrade_database():
    """Create or upgrade the database schema to the newest migration."""
    from flask_migrate import upgrade

    upgrade()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--demo", is_flag=True, help="Load the demo data first (once) and list its logins.")
@with_appcontext
def serve(host, port, demo):
    """Run the web app (embedded use; production runs gunicorn, see the Procfile)."""
    from werkzeug.serving import make_server

    from helpdesk.jobs import Periodic

    app = current_app._get_current_object()
    upgrade_database()
    if demo:  # billing settings to try billing with, where the configuration has none
        from helpdesk.demo import demo_settings

        app.config.update(demo_settings(app.config))
    logins = _load_demo() if demo else []
    # Bind first: a port in use fails here, before any background thread starts.
    server = make_server(host, port, app, threaded=True)
    if not app.config["REDIS_URL"]:
        # No workers in the embedded setup: retry due mail from here.
        Periodic(app, sweep_outbox, app.config["OUTBOX_SWEEP_INTERVAL"]).start()
        Periodic(app, sweep_pending, app.config["OUTBOX_SWEEP_INTERVAL"]).start()
        Periodic(app, flag_breaches, app.config["SLA_BREACH_CHECK_INTERVAL"]).start()
        Periodic(app, reconcile_gateways, app.config["BILLING_RECONCILE_INTERVAL"]).start()
    if app.config["SCHEDULER_ENABLED"]:
        # Periodic jobs (the daily billing run); safe beside a `helpdesk scheduler` process: a period runs once.
        from helpdesk import scheduler

        scheduler.start_thread(app)
    if _embedded_maildrop(app):
        # The embedded default reads the Maildir drop folder itself; real mailboxes get `helpdesk mailgateway`.
        from helpdesk.mailgateway import daemon

        # The drop folder of a one-machine setup: parsed in this process (no parser process beside the web server).
        threading.Thread(target=daemon.run, args=(app, threading.Event()), kwargs={"parse_processes": 0},
                         name="maildrop", daemon=True).start()
        click.echo(f"mail dropped into {app.config['MAILDROP_PATH']}/new becomes tickets")
    click.echo(f"database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    if not app.config["SMTP_HOST"]:
        click.echo(f"outgoing mail is written to {app.config['OUTGOING_MAIL_PATH']} "
                   "(set HELPDESK_SMTP_HOST to send it)")
    # The last lines are the ones a newcomer needs: where to go and how to log in.
    click.echo(f"\nhelpdesk is running at http://{host}:{server.port}/  (Ctrl+C stops)")
    if logins:
        _echo_logins(logins)
    else:
        click.echo("log in with an account from `helpdesk demo` or `helpdesk user create`.")
    server.serve_forever()


def _embedded_maildrop(app) -> bool:
    mailboxes = app.config["MAIL_MAILBOXES"]
    return len(mailboxes) == 1 and mailboxes[0].get("path") == app.config["MAILDROP_PATH"]


@main.command("worker")
@click.option("--queue", "queues", multiple=True, default=("mail", "default"), show_default=True,
              help="Queue to serve (repeat for several).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues, burst):
    """Run a background worker (needs HELPDESK_REDIS_URL)."""
    from helpdesk.jobs import run_worker

    app = current_app._get_current_object()
    if not app.config["REDIS_URL"]:
        click.echo("error: HELPDESK_REDIS_URL is not set. Without Redis, jobs run inside `helpdesk serve`.", err=True)
        sys.exit(2)
    click.echo(f"worker serving queues: {', '.join(queues)}")
    run_worker(app, queues, periodic=[(sweep_outbox, app.config["OUTBOX_SWEEP_INTERVAL"]),
                                      (sweep_pending, app.config["OUTBOX_SWEEP_INTERVAL"]),
                                      (flag_breaches, app.config["SLA_BREACH_CHECK_INTERVAL"]),
                                      (reconcile_gateways, app.config["BILLING_RECONCILE_INTERVAL"])], burst=burst)


@main.command("scheduler")
@click.option("--once", is_flag=True, help="Look once at what is due, start it, say what, and stop.")
@click.option("--status", is_flag=True, help="Show each job's latest run (and its error) and stop.")
@with_appcontext
def scheduler_command(once, status):
    """Run periodic jobs (the daily billing run) when they are due; each period runs once, however many
    schedulers run (one leads on PostgreSQL). With Redis the jobs go to the workers."""
    from helpdesk import scheduler

    app = current_app._get_current_object()
    if status:
        for job, run in scheduler.latest_runs(app.config):
            if run is None:
                state = "never ran"
            elif run.finished_at is not None:
                state = f"{run.period} done at {run.finished_at:%Y-%m-%d %H:%M} UTC"
            elif run.error:
                state = f"{run.period} FAILED (attempt {run.attempts}): {run.error.splitlines()[-1]}"
            else:
                state = f"{run.period} running since {run.claimed_at:%Y-%m-%d %H:%M} UTC"
            click.echo(f"{job.name}\t{state}")
        return
    if once:
        for job, period in scheduler.tick():
            click.echo(f"started {job} for {period}")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    names = ", ".join(job.name for job in scheduler.registered_jobs(app.config)) or "none"
    click.echo(f"scheduler started; jobs: {names}")
    scheduler.run(app, stop)
    click.echo("scheduler stopped.")


@main.command("mailgateway")
@with_appcontext
def mailgateway():
    """Run the mail ingestion daemon (every mailbox in MAIL_MAILBOXES; a Maildir drop folder by default)."""
    from helpdesk.mailgateway import daemon

    app = current_app._get_current_object()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    names = ", ".join(m.get("name", "?") + f" ({m.get('type', 'imap')})" for m in app.config["MAIL_MAILBOXES"])
    click.echo(f"mail gateway started; mailboxes: {names}")
    if not app.config["REDIS_URL"]:
        # Without workers, acknowledgements and index updates left undone by a crash are retried from here.
        from helpdesk.jobs import Periodic

        Periodic(app, sweep_outbox, app.config["OUTBOX_SWEEP_INTERVAL"]).start()
        Periodic(app, sweep_pending, app.config["OUTBOX_SWEEP_INTERVAL"]).start()
    daemon.run(app, stop)
    click.echo("mail gateway stopped.")


@main.group("mail")
def mail_group():
    """Inbound mail by hand: ingest files, list and retry quarantined mail."""


@mail_group.command("ingest", with_appcontext=False)  # it builds its app itself, see below
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
@click.option("--department", help="Department for new tickets (default: by recipient address).")
@click.pass_context
def mail_ingest(ctx, paths, as_json, department):
    """Feed .eml files, mbox files or Maildir folders through the mail pipeline."""
    from helpdesk import logs, settings
    from helpdesk.mailgateway import pipeline
    from helpdesk.mailgateway.daemon import GivenMessages, Runner
    from helpdesk.mailgateway.sources import read_paths

    try:
        items = read_paths(paths)
    except OSError as exc:
        _fail(exc)
    # The parser processes start before the app is built, as copies of this process (it has no connection
    # and no thread yet), and prepare the first batches meanwhile: settings as create_app will load them.
    # (Run from code that has an app already, the command uses that one, as with_appcontext does.)
    app = current_app._get_current_object() if current_app else None
    config = app.config if app is not None else settings.read()
    logs.configure(config)
    processes = pipeline.Parser.processes_for(config) if len(items) > config["MAIL_BATCH_SIZE"] else 0
    parser = pipeline.Parser(processes, wait=False, copy=True) if processes else None
    runner = Runner(GivenMessages(items, department), config["MAIL_BATCH_SIZE"], parser)
    if parser is not None and app is None:
        runner.prime(2, config)
    try:
        if app is not None:
            _ingest(runner, parser, as_json)
        else:
            with ctx.ensure_object(ScriptInfo).load_app().app_context():
                _ingest(runner, parser, as_json)
    finally:
        if parser is not None:
            parser.close()
        _no_collection_at_exit()


def _ingest(runner, parser, as_json):
    from helpdesk import jobs

    config = current_app.config
    elsewhere = None
    if parser is not None:
        settings = {key: value for key, value in config.items() if key.isupper() and _picklable(value)}

        def elsewhere(task, args):
            return parser.run_job(settings, task, args)

        if not config.get("REDIS_URL"):
            parser.prepare_jobs(settings)  # the index is written there at the end
    # Without Redis this process also sends the acknowledgements and writes the search index: once,
    # for everything, when the last batch is in, the index in the parser process (see jobs.held).
    with jobs.held(elsewhere):
        while outcomes := runner.run_once():
            for outcome in outcomes:
                _echo_outcome(outcome, as_json)


def _no_collection_at_exit():
    """Let the process end without the interpreter's last garbage collection. With create_app's thresholds
    (see ``tune_gc``) an import's rows and parsed mail pile up in the oldest generation, and
    the collection at exit walked them all, a fifth of a second for 2,000 mails, only for the operating system
    to free the memory anyway. Frozen objects are not walked; nothing the command wrote depends on it (files
    and connections are closed, the logs flushed by their own exit handler). In a test process it runs at
    that process's exit, once however often the command ran."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


mail_ingest.serves_http = False  # it starts for every run: a 2,000-message Maildir spent a third of its time starting


def _picklable(value):
    import pickle

    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _echo_outcome(outcome, as_json):
    import json

    if as_json:
        click.echo(json.dumps({"file": outcome.label, "outcome": outcome.outcome,
                               "ticket": outcome.ticket_number, "message_id": outcome.message_id,
                               "inbound_id": outcome.inbound_id, "reason": outcome.reason or None},
                              ensure_ascii=False))
    else:
        from helpdesk.mailgateway.reasons import outcome_label

        said = outcome_label(outcome.outcome)
        ticket = f" #{outcome.ticket_number}" if outcome.ticket_number else ""
        reason = outcome.reason.splitlines()[0] if outcome.reason else ""
        reason = f" ({reason})" if reason and reason != said else ""
        click.echo(f"{outcome.label}: {said}{ticket}{reason}")


@mail_group.command("quarantine")
@with_appcontext
def mail_quarantine():
    """List quarantined messages with the step they were held at and the reason (in the desk's language)."""
    import sqlalchemy as sa
    from flask_babel import gettext as _

    from helpdesk.extensions import db
    from helpdesk.mailgateway import quarantine
    from helpdesk.mailgateway.models import QUARANTINED, InboundMessage
    from helpdesk.mailgateway.reasons import step_label

    rows = db.session.scalars(sa.select(InboundMessage).where(InboundMessage.status == QUARANTINED)
                              .order_by(InboundMessage.id)).all()
    for row in rows:
        reason = quarantine.reason(row)
        step = step_label(row.step) or "-"
        click.echo(f"{row.id}\t{row.received_at:%Y-%m-%d %H:%M}\t{row.sender or '-'}\t{step}\t{reason}")
    if not rows:
        click.echo(_("No quarantined messages."))


@mail_group.command("retry")
@click.argument("inbound_id", type=int)
@with_appcontext
def mail_retry(inbound_id):
    """Run a quarantined message through the pipeline again."""
    from helpdesk.mailgateway import quarantine
    from helpdesk.mailgateway.reasons import outcome_label

    try:
        outcome = quarantine.retry(CLI, inbound_id)
    except HelpdeskError as exc:
        _fail(exc)
    ticket = f" #{outcome.ticket_number}" if outcome.ticket_number else ""
    click.echo(f"{inbound_id}: {outcome_label(outcome.outcome)}{ticket}")


@main.group("search")
def search_group():
    """The ticket search index."""


@search_group.command("rebuild")
@with_appcontext
def search_rebuild():
    """Index every ticket and knowledge base article again (e.g. after restoring a backup or deleting an index)."""
    from helpdesk.search import index

    count = index.rebuild()
    click.echo(f"search index rebuilt: {count} ticket(s) in {index.status()['location']}")
    from helpdesk.search import articles as kb_index

    articles = kb_index.rebuild()
    click.echo(f"knowledge base index rebuilt: {articles} article(s) in {kb_index.index_path()}")


@search_group.command("status")
@with_appcontext
def search_status():
    """How many index updates are waiting, how old the oldest is, and whether an index needs a rebuild."""
    from helpdesk.db import utcnow
    from helpdesk.jobs import pending_status
    from helpdesk.search import articles, index

    count, oldest = pending_status("helpdesk.search.")
    kb_count, kb_oldest = pending_status("helpdesk.kb.tasks.")
    count, oldest = count + kb_count, min(filter(None, (oldest, kb_oldest)), default=None)
    if not count:
        click.echo("search index: up to date (no updates pending).")
    else:
        age = int((utcnow() - oldest).total_seconds())
        click.echo(f"search index: {count} update(s) pending, the oldest queued {age} s ago.")
    for name, state in (("tickets", index.status()), ("knowledge base", articles.status())):
        if state.get("rebuild_needed") and state.get("documents"):
            click.echo(f"{name}: {state['documents']} document(s) indexed by an earlier release; "
                       "run `helpdesk search rebuild` once.")


@main.group("db")
def db_group():
    """Database schema commands."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Create the database or bring it to the newest schema."""
    upgrade_database()
    click.echo("database is up to date.")


@main.group("user")
def user_group():
    """Manage users."""


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice(["admin", "agent", "customer"]), default="agent", show_default=True)
@click.option("--password", help="Omit to be prompted (safer: it stays out of shell history).")
@click.option("--username", help="Optional login name (customers created by staff).")
@click.option("--locale", type=click.Choice(["en", "de", "tr", "hu", "fa"]))
@click.option("--invite", is_flag=True,
              help="Customers: mail the welcome with a link to choose their password (none is asked for here).")
@with_appcontext
def user_create(email, full_name, role, password, username, locale, invite):
    """Create a user who can log in."""
    from helpdesk.accounts import service as accounts

    if invite and (role != "customer" or password is not None):
        _fail(HelpdeskError("--invite is for customers, without --password (they choose their own)"))
    if password is None and not invite:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            _fail(HelpdeskError("the passwords differ"))
    try:
        user = accounts.create_user(CLI, email=email, full_name=full_name, role=role, password=password,
                                    username=username, locale=locale, welcome=invite)
    except HelpdeskError as exc:
        _fail(exc)
    click.echo(f"created {user.role} {user.email}" + (" and mailed the welcome with a set-password link"
                                                       if invite else ""))


@user_group.command("set-email")
@click.argument("current")
@click.argument("new")
@with_appcontext
def user_set_email(current, new):
    """Change a user's email address (customers cannot change their own)."""
    from helpdesk.accounts import service as accounts
    from helpdesk.tickets import customers

    user = accounts.get_by_email(current)
    if user is None:
        _fail(HelpdeskError(f"no user with the address {current}"))
    try:
        customers.change_customer_email(CLI, user, new)
    except HelpdeskError as exc:
        _fail(exc)
    click.echo(f"{current} is now {user.email}")


@user_group.command("kb-editor")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the right away instead.")
@with_appcontext
def user_kb_editor(email, revoke):
    """Give an agent the right to edit the knowledge base (admins always have it)."""
    from helpdesk.accounts import service as accounts
    from helpdesk.kb import service as kb

    user = accounts.get_by_email(email)
    if user is None:
        _fail(HelpdeskError(f"no user with the address {email}"))
    try:
        kb.set_editor(CLI, user, not revoke)
    except HelpdeskError as exc:
        _fail(exc)
    click.echo(f"{email} {'may no longer' if revoke else 'may now'} edit the knowledge base")


@user_group.command("billing-staff")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the right away instead.")
@with_appcontext
def user_billing_staff(email, revoke):
    """Give an agent the right to change billing: accept orders, book and approve transfers, credit invoices, edit
    the catalogue (admins always have it; other agents read billing only)."""
    from helpdesk.accounts import service as accounts
    from helpdesk.billing.access import grant_billing

    user = accounts.get_by_email(email)
    if user is None:
        _fail(HelpdeskError(f"no user with the address {email}"))
    try:
        grant_billing(CLI, user, not revoke)
    except HelpdeskError as exc:
        _fail(exc)
    click.echo(f"{email} {'may no longer' if revoke else 'may now'} change billing")


@main.group("billing")
def billing_group():
    """Billing: payments at the card gateways, the daily run (renewals, reminders, suspensions)."""


@billing_group.command("reconcile")
@with_appcontext
def billing_reconcile():
    """Book payments a card gateway took but the helpdesk never confirmed (the customer closed the window before
    coming back): each is verified with the provider for the invoice's amount and recorded once. The periodic
    sweep runs this every BILLING_RECONCILE_INTERVAL seconds; exits 1 when a provider could not be reached."""
    booked = reconcile_gateways()
    if not booked:
        click.echo("no enabled gateway reconciles payments (BILLING_GATEWAYS)")
    for name, count in booked.items():
        click.echo(f"{name}: could not reach the provider (see the log)" if count is None
                   else f"{name}: {count} payment(s) booked")
    if None in booked.values():
        sys.exit(1)


@billing_group.command("run")
@click.option("--date", "day", default=None, help="The day to run (YYYY-MM-DD; today in BUSINESS_TIMEZONE).")
@click.option("--dry-run", is_flag=True, help="Report what would be done and change nothing.")
@with_appcontext
def billing_run(day, dry_run):
    """The billing day's work by hand (the scheduler runs it daily): renewal invoices, paying them from credit,
    reminders, late fees, suspensions and terminations; each thing once, however often it runs."""
    from datetime import date

    from flask_babel import force_locale
    from flask_babel import gettext as _

    from helpdesk.billing import renewals

    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("YYYY-MM-DD", param_hint="--date") from None
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        report = renewals.run_day(chosen or renewals.today(), dry_run=dry_run)
        for line in renewals.report_lines(report):
            click.echo(line)
        if dry_run:
            click.echo(_("Dry run: nothing was changed."))


@main.group("storage")
def storage_group():
    """Where attachments, raw mail and identity documents are kept (STORAGE_BACKEND)."""


@storage_group.command("migrate")
@click.option("--to", "target", type=click.Choice(["s3"]), required=True, help="The store to copy every file into.")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
@with_appcontext
def storage_migrate(target, dry_run):
    """Copy every local file (attachments, raw mail, identity documents) into the S3 bucket of the S3_* settings,
    streamed and checked; files already there are skipped, so run it again after an interruption, and once more
    just before switching STORAGE_BACKEND to "s3". Local files are kept. Exits 1 when a file is damaged."""
    from flask_babel import gettext as _

    from helpdesk import storage

    def progress(report):
        click.echo(_("%(seen)s files looked at: %(copied)s copied, %(present)s already there.",
                     seen=report.seen, copied=report.copied, present=report.present))

    try:
        report = storage.migrate_to_s3(dry_run=dry_run, progress=progress)
    except Exception as exc:  # the bucket or the endpoint refused: say so, without a traceback
        _fail(exc)
    if dry_run:
        click.echo(_("Dry run: %(copied)s files (%(megabytes)s MB) would be copied, %(present)s are there already.",
                     copied=report.copied, megabytes=round(report.copied_bytes / 1_000_000, 1),
                     present=report.present))
    else:
        click.echo(_("%(copied)s files (%(megabytes)s MB) copied, %(present)s were there already.",
                     copied=report.copied, megabytes=round(report.copied_bytes / 1_000_000, 1),
                     present=report.present))
    for path in report.damaged:
        click.echo(_("Damaged (its content does not match its name; not copied): %(path)s", path=path), err=True)
    if report.damaged:
        sys.exit(1)
    if not dry_run:
        click.echo(_("Now set STORAGE_BACKEND to \"s3\" on every machine and restart the processes."))


@main.group("vault")
def vault_group():
    """The credential vault (VAULT_KEYS)."""


@vault_group.command("rotate-key")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Entries per transaction.")
@with_appcontext
def vault_rotate_key(batch_size):
    """Seal again with the current key (the first of VAULT_KEYS) every vault value still under an older key, in
    small transactions; the vault stays usable meanwhile, and a run stopped half way is simply run again. Exits 1
    when some value did not open (its key is missing); when none is left under an old key, that key can go."""
    from helpdesk.vault import rotation

    try:
        report = rotation.rotate_key(batch_size, progress=lambda r: click.echo(
            f"batch {r.batches}: {r.entries} entries looked at, {sum(r.resealed.values())} value(s) sealed again"))
    except rotation.VaultKeyError as exc:
        _fail(exc)
    for line in rotation.report_lines(report):
        click.echo(line)
    sys.exit(0 if report.done else 1)


@main.command("demo")
@with_appcontext
def demo():
    """Load demo data: departments, an admin, an agent, a customer and a few tickets."""
    upgrade_database()
    _echo_logins(_load_demo())


def _load_demo():
    from helpdesk.demo import load_demo

    created, logins = load_demo()
    click.echo("demo data loaded." if created else "demo data was already there.")
    return logins


def _echo_logins(logins):
    click.echo("demo logins:")
    for role, login, password in logins:
        click.echo(f"  {role:<9} {login}  password: {password}")


@main.group("outbox")
def outbox_group():
    """Outgoing mail."""


@outbox_group.command("sweep")
@with_appcontext
def outbox_sweep():
    """Queue every message that is due (normally done by workers every OUTBOX_SWEEP_INTERVAL s)."""
    from helpdesk.notify.tasks import sweep

    click.echo(f"{sweep()} message(s) queued for delivery.")


@outbox_group.command("status")
@with_appcontext
def outbox_status():
    """Count outgoing messages by status."""
    import sqlalchemy as sa

    from helpdesk.extensions import db
    from helpdesk.notify.models import OutboxEmail

    rows = db.session.execute(sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)).all()
    for status, count in rows or [("(none)", 0)]:
        click.echo(f"{status:<8} {count}")
