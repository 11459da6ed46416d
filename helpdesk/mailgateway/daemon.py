"""The gateway daemon: one thread per mailbox, each holding that mailbox's lock, fetching in batches,
storing before marking on the server, then processing in arrival order. SIGTERM finishes the message
in hand and stops."""
import logging
import threading
from collections import deque

from helpdesk.extensions import db
from helpdesk.mailgateway import pipeline
from helpdesk.mailgateway.locks import MailboxLock
from helpdesk.mailgateway.sources import MaildirSource, SourceUnavailable, sources_from_config

log = logging.getLogger("helpdesk.mailgateway")


def run_once(source, batch_size, should_stop=lambda: False):
    """Process what a crash may have left, then fetch, store, mark and process one batch.
    Returns the outcomes; an empty list means the mailbox had nothing new."""
    return Runner(source, batch_size).run_once(should_stop)


class Runner:
    """Runs a source batch by batch: fetch, store (one commit), mark on the server, process in arrival order.

    With a ``parser`` (pipeline.Parser: other processes), the next batch is fetched and handed to the
    parser (which writes its raw bytes to storage and parses it) before this one is processed, so one
    core prepares while the other writes. The batch fetched ahead is not stored nor marked on the server
    until its turn, so a crash or a stop leaves it on the server, to be fetched again."""

    SMALL = 8  # a batch this small is prepared in place: a round trip to the parser would only add latency

    def __init__(self, source, batch_size, parser=None):
        self.source, self.batch_size, self.parser = source, batch_size, parser
        self._ahead = deque()  # [(batch, parser handle or None)] fetched while the batch before was processed
        self._started = False

    def prime(self, batches, config):
        """Hand the first ``batches`` to the parser before the app exists (``config``: its settings), so they
        are prepared while it is built (``helpdesk mail ingest``: half a second)."""
        for _ in range(batches):
            if (fetched := self._fetch(config)) is None:
                break
            self._ahead.append(fetched)
        log.debug("%d message(s) handed to the parser before the app is built",
                  sum(len(batch) for batch, handle in self._ahead if handle is not None))

    def run_once(self, should_stop=lambda: False):
        """Process one batch; returns its outcomes (empty: the mailbox had nothing new)."""
        outcomes = []
        if not self._ahead or not self._started:
            self._started = True
            outcomes = pipeline.process_pending(self.source.name, should_stop=should_stop,
                                                department_name=self.source.department)
            if should_stop():
                return outcomes
        current = self._ahead.popleft() if self._ahead else self._fetch()
        if current is None:
            return outcomes
        batch, handle = current
        try:
            prepared = self.parser.prepared(handle) if handle is not None else None
            stored = pipeline.store_batch(batch, on_stored=lambda session: self.source.on_stored(session, batch),
                                          prepared=prepared)
            # Only now, with the bytes committed, is the mail marked (or moved) on the server.
            self.source.acknowledge(batch)
            if self.parser is not None and not self._ahead and not should_stop():
                if (fetched := self._fetch()) is not None:
                    self._ahead.append(fetched)
            parsed = pipeline.Parser.parsed(stored, prepared) if prepared else None
            return outcomes + pipeline.process_stored(stored, self.source.department, should_stop, parsed=parsed)
        except BaseException:
            self._ahead.clear()  # not stored: fetched again; what was stored is processed by process_pending
            raise

    def _fetch(self, config=None):
        batch = self.source.fetch_new(self.batch_size)
        if not batch:
            return None
        handle = self.parser.submit(batch, config) if self.parser is not None and len(batch) >= self.SMALL else None
        return batch, handle


class GivenMessages:
    """Messages read from files (``read_paths``) as a source for the batch runner, for ``helpdesk mail
    ingest``: the same batches, parser process and arrival order as the daemon's."""

    name = "file"

    def __init__(self, items, department=None):
        self.department = department
        self._items, self._next = list(items), 0

    def fetch_new(self, limit):
        batch = self._items[self._next:self._next + limit]
        self._next += len(batch)
        return batch

    def on_stored(self, session, batch):
        """Files have no server state to record."""

    def acknowledge(self, batch):
        """Files are left where they are."""


class MailboxWorker(threading.Thread):
    def __init__(self, app, source, stop_event, parser=None):
        super().__init__(name=f"mailbox:{source.name}", daemon=True)
        self.app, self.source, self.stop_event, self.parser = app, source, stop_event, parser
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
                    # A local folder has nothing to connect to; a server connection is worth a line in the log.
                    log.log(logging.DEBUG if isinstance(self.source, MaildirSource) else logging.INFO,
                            "%s: connected", self.source.name)
                    delay = config["MAIL_RECONNECT_MIN"]
                    runner = Runner(self.source, config["MAIL_BATCH_SIZE"], self.parser)
                    while not self.should_stop():
                        outcomes = runner.run_once(self.should_stop)
                        self.processed += len(outcomes)
                        if not outcomes:
                            self.source.wait(self._wait_seconds(config), self.should_stop)
                except SourceUnavailable as exc:  # waits for an admin (an OAuth grant): one line, no retry storm
                    log.warning("%s: %s", self.source.name, exc)
                    db.session.rollback()
                    self.source.wait_until_usable(self.should_stop)
                except Exception:
                    log.exception("%s: failed; reconnecting in %s s", self.source.name, delay)
                    db.session.rollback()
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, config["MAIL_RECONNECT_MAX"])
                finally:
                    self.source.close()
                    lock.release()
                    db.session.remove()


def run(app, stop_event, sources=None, parse_processes=None):
    """Run a worker per mailbox until ``stop_event`` is set; returns when all have stopped. Mail is parsed
    by ``parse_processes`` parser processes (default: MAIL_PARSE_PROCESSES)."""
    with app.app_context():
        sources = sources if sources is not None else sources_from_config(app.config)
    processes = pipeline.Parser.processes_for(
        app.config if parse_processes is None else {"MAIL_PARSE_PROCESSES": parse_processes})
    parser = pipeline.Parser(processes) if processes and sources else None
    try:
        workers = [MailboxWorker(app, source, stop_event, parser) for source in sources]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        if parser is not None:
            parser.close()
    return workers
