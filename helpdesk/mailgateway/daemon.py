"""The gateway daemon: one thread per mailbox, each holding that mailbox's lock, fetching in batches,
storing before marking on the server, then processing in arrival order. SIGTERM finishes the message
in hand and stops."""
import logging
import threading

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.locks import MailboxLock
from helpdesk.mailgateway.sources import MaildirSource, sources_from_config

log = logging.getLogger("helpdesk.mailgateway")


def run_once(source, batch_size, should_stop=lambda: False):
    """Process what a crash may have left, then fetch, store, mark and process one batch.
    Returns the outcomes; an empty list means the mailbox had nothing new."""
    outcomes = pipeline.process_pending(source.name, should_stop=should_stop, department_name=source.department)
    if should_stop():
        return outcomes
    batch = source.fetch_new(batch_size)
    if not batch:
        return outcomes
    stored = pipeline.store_batch(batch, on_stored=lambda session: source.on_stored(session, batch))
    # Only now, with the bytes committed, is the mail marked (or moved) on the server.
    source.acknowledge(batch)
    return outcomes + pipeline.process_stored(stored, source.department, should_stop)


class MailboxWorker(threading.Thread):
    def __init__(self, app, source, stop_event):
        super().__init__(name=f"mailbox:{source.name}", daemon=True)
        self.app, self.source, self.stop_event = app, source, stop_event
        self.processed = 0

    def should_stop(self):
        return self.stop_event.is_set()

    def _wait_seconds(self, config):
        if self.source.supports_idle:
            return config["MAIL_IDLE_TIMEOUT"]
        if isinstance(self.source, MaildirSource):
            return config["MAIL_MAILDIR_POLL_INTERVAL"]
        return config["MAIL_POLL_INTERVAL"]

    def run(self):
        config = self.app.config
        delay = config["MAIL_RECONNECT_MIN"]
        with self.app.app_context():
            lock = MailboxLock(self.source.name, config["INSTANCE_PATH"])
            announced = False
            while not self.should_stop():
                if not lock.acquire():
                    if not announced:
                        log.info("%s: another gateway process reads this mailbox; standing by", self.source.name)
                        announced = True
                    self.stop_event.wait(5)
                    continue
                try:
                    self.source.connect()
                    log.info("%s: connected", self.source.name)
                    delay = config["MAIL_RECONNECT_MIN"]
                    while not self.should_stop():
                        outcomes = run_once(self.source, config["MAIL_BATCH_SIZE"], self.should_stop)
                        self.processed += len(outcomes)
                        if not outcomes:
                            self.source.wait(self._wait_seconds(config), self.should_stop)
                except Exception:
                    log.exception("%s: failed; reconnecting in %s s", self.source.name, delay)
                    db.session.rollback()
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, config["MAIL_RECONNECT_MAX"])
                finally:
                    self.source.close()
                    lock.release()
                    db.session.remove()


def run(app, stop_event, sources=None):
    """Run a worker per mailbox until ``stop_event`` is set; returns when all have stopped."""
    with app.app_context():
        sources = sources if sources is not None else sources_from_config(app.config)
    workers = [MailboxWorker(app, source, stop_event) for source in sources]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return workers
