"""Where mail comes from: a Maildir, files given by hand (.eml, mbox, Maildir), and IMAP mailboxes.
A source fetches raw bytes with their identity; it is told afterwards which ones were stored."""
import logging
import mailbox as mailbox_lib
import os
import re
import ssl
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import sqlalchemy as sa

from helpdesk.extensions import db
from helpdesk.inbound import oauth
from helpdesk.mailgateway.models import MailboxState
from helpdesk.mailgateway.pipeline import Fetched

log = logging.getLogger("helpdesk.mailgateway")
_DATE_HEADER = re.compile(rb"^date:[ \t]*(.+)$", re.I | re.M)


class MaildirSource:
    """A Maildir folder: new mail appears in new/; stored mail is moved to cur/ marked seen."""

    supports_idle = False

    def __init__(self, name, path, department=None):
        self.name = f"maildir:{name}"
        self.path = Path(path)
        self.department = department
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def connect(self):
        return self

    def close(self):
        pass

    def fetch_new(self, limit):
        entries = []
        with os.scandir(self.path / "new") as found:
            for entry in found:
                if entry.is_file() and not entry.name.startswith("."):
                    entries.append((entry.stat().st_mtime_ns, entry.name))
        entries.sort()  # arrival order: delivery time, then the name (which starts with the time)
        batch = []
        for _mtime, filename in entries[:limit]:
            try:
                raw = (self.path / "new" / filename).read_bytes()
            except FileNotFoundError:  # another gateway process took it
                continue
            batch.append(Fetched(self.name, raw, source_ref=filename.split(":", 1)[0], label=filename))
        return batch

    def on_stored(self, session, batch):
        pass

    def acknowledge(self, batch):
        for item in batch:
            source = self.path / "new" / item.label
            try:
                os.replace(source, self.path / "cur" / f"{item.label.split(':', 1)[0]}:2,S")
            except FileNotFoundError:
                pass

    def wait(self, seconds, should_stop):
        _sleep(seconds, should_stop)


def _sleep(seconds, should_stop):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not should_stop():
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _date_of(raw):
    match = _DATE_HEADER.search(raw.split(b"\n\n", 1)[0])
    try:
        return parsedate_to_datetime(match.group(1).decode("ascii", "replace").strip()).timestamp() if match else None
    except (TypeError, ValueError, IndexError):
        return None


def read_paths(paths):
    """Messages from .eml files, mbox files and Maildir folders, in the order they were sent (Date
    header), so a reply never comes before the message it answers. Unreadable paths raise OSError."""
    items = []
    for path in map(Path, paths):
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            folder = mailbox_lib.Maildir(path, factory=None, create=False)
            for key in sorted(folder.keys()):
                items.append(Fetched("file", folder.get_bytes(key), label=f"{path}/{key}"))
        elif path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
                items.append(Fetched("file", child.read_bytes(), label=str(child)))
        else:
            with path.open("rb") as fh:
                start = fh.read(5)
            if start == b"From ":
                box = mailbox_lib.mbox(path, factory=None, create=False)
                for index, key in enumerate(box.keys(), 1):
                    items.append(Fetched("file", box.get_bytes(key), label=f"{path}#{index}"))
            else:
                items.append(Fetched("file", path.read_bytes(), label=str(path)))
    order = {id(item): position for position, item in enumerate(items)}
    return sorted(items, key=lambda item: (_date_of(item.raw) or float("inf"), order[id(item)]))


class SourceUnavailable(Exception):
    """The source cannot be read until someone acts (an OAuth grant revoked or never given); the worker
    logs the message once and calls ``wait_until_usable`` instead of retrying at once."""


class ImapSource:
    """An IMAP folder read with imapclient. New mail is found by UID (above the highest stored UID,
    recorded in the same commit as the stored messages), so nothing is fetched twice, and a changed
    UIDVALIDITY starts over safely (duplicates are recognised by their fingerprint).

    With ``"auth": "oauth2"`` it signs in with an access token of the mailbox's grant (inbound/oauth.py). A session
    cannot sign in again and Microsoft closes it when its token expires, so a session ends before its token
    does: IDLE stops in time, and the next fetch starts a new session with a new token first."""

    def __init__(self, spec, config):
        self.spec = spec
        self.config = config
        self.name = f"imap:{spec['name']}"
        self.department = spec.get("department")
        self.client = None
        self.uidvalidity = None
        self.supports_idle = False
        self.renew_at = None  # epoch seconds after which an OAuth session must be replaced
        self._recheck_grant = True  # ask the provider even about a refused grant (once per start, then rarely)

    @property
    def uses_oauth(self):
        return self.spec.get("auth") == "oauth2"

    def _open(self):
        from imapclient import IMAPClient

        spec = self.spec
        security = (spec.get("security") or "ssl").lower()
        context = ssl.create_default_context()
        if spec.get("tls_verify") is False:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        port = int(spec.get("port") or (993 if security == "ssl" else 143))
        client = IMAPClient(spec["host"], port=port, ssl=security == "ssl", ssl_context=context, timeout=60)
        if security == "starttls":
            client.starttls(context)
        return client

    def connect(self):
        spec = self.spec
        if self.uses_oauth:
            client = self._oauth_login()
        else:
            client = self._open()
            if spec.get("oauth2_token_file"):
                client.oauth2_login(spec["user"], Path(spec["oauth2_token_file"]).read_text().strip())
            else:
                password = spec.get("password")
                if spec.get("password_file"):
                    password = Path(spec["password_file"]).read_text().strip()
                client.login(spec["user"], password)
        info = client.select_folder(spec.get("folder") or "INBOX")
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        self.supports_idle = client.has_capability("IDLE")
        self.client = client
        return self

    def _token(self, **options):
        try:
            return oauth.access_token(self.config, self.spec["name"], recheck=self._recheck_grant, **options)
        except oauth.GrantUnusable as exc:
            self._recheck_grant = False
            raise SourceUnavailable(str(exc)) from None

    def _oauth_login(self):
        from imapclient.exceptions import LoginError

        token = self._token()
        user = self.spec.get("user") or token.account
        client = self._open()
        try:
            client.oauth2_login(user, token.value)
        except LoginError:
            # A token can die before its time (consent withdrawn, a password changed): get a new one once
            # and try once more, on a new connection (some servers close it after a failed sign-in).
            log.info("%s: the IMAP server refused the access token; asking the provider for a new one", self.name)
            _logout_quietly(client)
            token = self._token(rejected=token.value)
            client = self._open()
            try:
                client.oauth2_login(user, token.value)
            except LoginError:
                _logout_quietly(client)
                raise
        self.renew_at = token.renew_at
        return client

    def _renew_session_if_due(self):
        if self.uses_oauth and self.renew_at is not None and time.time() >= self.renew_at:
            log.info("%s: access token about to expire; new session with a new token", self.name)
            self.close()
            self.connect()

    def wait_until_usable(self, should_stop):
        """Wait until an admin connects the mailbox again (checked every two seconds) or, at the latest,
        MAIL_OAUTH_RECHECK_INTERVAL seconds, after which the provider is asked again."""
        deadline = time.monotonic() + self.config["MAIL_OAUTH_RECHECK_INTERVAL"]
        while not should_stop() and time.monotonic() < deadline:
            _sleep(min(2.0, deadline - time.monotonic()), should_stop)
            if oauth.grant_usable(self.spec["name"]):
                return
        self._recheck_grant = True

    def close(self):
        if self.client is not None:
            _logout_quietly(self.client)
            self.client = None

    def _state(self):
        state = db.session.get(MailboxState, self.name)
        if state is None:
            state = MailboxState(mailbox=self.name, uidvalidity=self.uidvalidity, last_uid=0)
            db.session.add(state)
        elif state.uidvalidity != self.uidvalidity:
            log.warning("%s: UIDVALIDITY changed from %s to %s; reading the folder again (duplicates are "
                        "recognised)", self.name, state.uidvalidity, self.uidvalidity)
            state.uidvalidity, state.last_uid = self.uidvalidity, 0
        return state

    def fetch_new(self, limit):
        self._renew_session_if_due()
        last_uid = self._state().last_uid
        db.session.rollback()
        uids = sorted(uid for uid in self.client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)[:limit]
        if not uids:
            return []
        data = self.client.fetch(uids, ["BODY.PEEK[]"])
        return [Fetched(self.name, data[uid][b"BODY[]"], source_ref=f"{self.uidvalidity}:{uid}", label=f"UID {uid}")
                for uid in uids if uid in data]

    def on_stored(self, session, batch):
        if batch:
            state = self._state()
            state.last_uid = max(state.last_uid, *(int(item.source_ref.split(":")[1]) for item in batch))

    def acknowledge(self, batch):
        uids = [int(item.source_ref.split(":")[1]) for item in batch]
        if not uids:
            return
        target = self.spec.get("processed_folder")
        if target:
            if self.client.has_capability("MOVE"):
                self.client.move(uids, target)
            else:
                self.client.copy(uids, target)
                self.client.delete_messages(uids)
                self.client.uid_expunge(uids)
        else:
            self.client.add_flags(uids, [b"\\Seen"])

    def _mail_announced(self) -> bool:
        """True if the server announced messages (EXISTS) with an earlier command's answer. Mail that
        arrives while our SEARCH runs is announced with its answer but not in its results; the IDLE that
        follows would wait for news already given, so we search again instead."""
        untagged = self.client._imap.untagged_responses  # imaplib keeps what no command asked for
        announced = untagged.pop("EXISTS", None) or untagged.pop(b"EXISTS", None)
        return bool(announced)

    def wait(self, seconds, should_stop):
        """Wait for new mail with IDLE (or sleep where the server has none) for up to ``seconds``."""
        if self.uses_oauth and self.renew_at is not None:
            seconds = min(seconds, max(0.0, self.renew_at - time.time()))  # the session ends before its token
        if not self.supports_idle:
            _sleep(seconds, should_stop)
            return
        if self._mail_announced() or seconds <= 0:
            return
        self.client.idle()
        idling = True
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not should_stop():
                asked = time.monotonic()
                responses = self.client.idle_check(timeout=1)
                if not responses and time.monotonic() - asked < 0.5:
                    # imapclient reports a connection the server closed as "nothing yet", at once and
                    # forever. Ending IDLE raises then (and the worker reconnects); otherwise IDLE goes on.
                    idling = False
                    responses = self.client.idle_done()[1]
                    self.client.idle()
                    idling = True
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    break
        finally:
            if idling:
                self.client.idle_done()


def _logout_quietly(client):
    try:
        client.logout()
    except Exception:  # the connection may already be gone; nothing to save
        log.debug("IMAP logout failed", exc_info=True)


def sources_from_config(config):
    result = []
    for spec in config["MAIL_MAILBOXES"]:
        kind = spec.get("type", "imap")
        if kind == "maildir":
            result.append(MaildirSource(spec["name"], spec["path"], spec.get("department")))
        elif kind == "imap":
            result.append(ImapSource(spec, config))
        else:
            raise ValueError(f"mailbox {spec.get('name')!r}: unknown type {kind!r} (use 'imap' or 'maildir')")
    return result


def known_mailboxes():
    return db.session.scalars(sa.select(MailboxState.mailbox)).all()
