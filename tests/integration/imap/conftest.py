"""A throwaway Dovecot IMAP server for the mail gateway tests: plain IMAP on a free loopback port,
users from passwd-files, Maildir under a temporary folder. Install it with scripts/test-services.sh.
A second server (``oauth_dovecot``) also takes XOAUTH2 and OAUTHBEARER logins, checked by Dovecot's
oauth2 passdb against the introspection endpoint of a fake OAuth 2 provider the tests run on loopback."""
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = "/usr/sbin/dovecot"
PROCESSED_FOLDER = "Processed"
SUPPORT_ADDRESS = "support@example.test"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
{cleartext}
auth_mechanisms = plain login{oauth_mechanisms}
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
mail_uid = {mail_uid}
mail_gid = {mail_gid}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
# Throwaway mail: no fsync, so 500 APPENDs take a second, not a minute.
mail_fsync = never
# IDLE learns of new mail from inotify; where the machine's inotify instances run out (many Dovecots,
# many tests) Dovecot falls back to polling, every 30 s by default. Poll every second instead.
mailbox_idle_check_interval = 1 secs
service imap-login {{
  {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
  default_fields = home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox {processed} {{
    auto = create
  }}
}}
"""

# Tokens first (only for the OAuth mechanisms), then passwords (which the tests use to fill mailboxes).
_OAUTH_PASSDB = """\
# A refused token is answered at once, and the next sign-in from loopback is not held back: Dovecot
# waits 2 s after a failure, and 2 to 15 s more before the next attempt from the same address (the auth
# penalty, which login_trusted_networks does not lift for the login processes of 2.3; no socket, no penalty).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""

_OAUTH_CONFIG = """\
introspection_url = {introspection_url}
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _version():
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in out.split()[0].split(".")[:2])


def _accounts():
    """(login user, internal user, mail user, mail group) the server runs as. As root: unprivileged
    accounts the Debian package creates (or nobody); otherwise everything runs as the current user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_name, grp.getgrgid(os.getegid()).gr_name

    def existing(*names):
        for name in names:
            try:
                return pwd.getpwnam(name).pw_name
            except KeyError:
                continue
        raise RuntimeError(f"none of the users {names} exists")

    mail_user = pwd.getpwnam("nobody")
    return (existing("dovenull", "nobody"), existing("dovecot", "nobody"), mail_user.pw_name,
            grp.getgrgid(mail_user.pw_gid).gr_name)


class Dovecot:
    """A Dovecot process of the tests' own; ``stop`` and ``start`` again keep the mail."""

    host = "127.0.0.1"

    def __init__(self, root: Path, introspection_url=None):
        self.root = root
        self.port = _free_port()
        self.config = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self.process = None
        login_user, internal_user, self.mail_user, self.mail_group = _accounts()
        (root / "mail").mkdir()
        shutil.chown(root / "mail", self.mail_user, self.mail_group)
        (root / "users").mkdir()
        self.config.write_text(_CONFIG.format(
            root=root, port=self.port, processed=PROCESSED_FOLDER,
            cleartext="auth_allow_cleartext = yes" if _version() >= (2, 4) else "disable_plaintext_auth = no",
            login_user=login_user, internal_user=internal_user,
            internal_group=grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name,
            mail_uid=self.mail_user, mail_gid=self.mail_group,
            # Only root can chroot the login processes.
            chroot="" if os.geteuid() == 0 else "chroot =",
            oauth_mechanisms=" xoauth2 oauthbearer" if introspection_url else "",
            oauth_passdb=_OAUTH_PASSDB.format(root=root) if introspection_url else "",
        ))
        if introspection_url:
            oauth_config = root / "dovecot-oauth2.conf.ext"
            oauth_config.write_text(_OAUTH_CONFIG.format(introspection_url=introspection_url))
            oauth_config.chmod(0o644)  # read by the auth process, which runs as the internal user

    def start(self, timeout=10.0):
        # Its own session, so stopping it takes its imap processes (the clients' connections) with it.
        with open(self.root / "dovecot.stdout", "ab") as out:
            self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not accept connections on port {self.port}:\n{self.log_text()}")

    def stop(self):
        """Stop the server and every connection to it at once, as a crash or a reboot would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def add_user(self, name, password):
        # A passwd-file per user: Dovecot reads a file it has not seen at once, while it notices a
        # change to one it has read only a second later.
        entry = self.root / "users" / name
        entry.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        entry.chmod(0o644)  # read by the auth process, which runs as the internal user

    def kick(self, user) -> bool:
        """End every IMAP session of ``user`` at once, as a provider does when the token of a session expires.
        False when ``user`` had no session open to end (doveadm's "not found", exit 68)."""
        done = subprocess.run(["doveadm", "-c", str(self.config), "kick", user], capture_output=True)
        if done.returncode == 68:
            return False
        done.check_returncode()
        return True

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Mailbox:
    """One user's mailbox on the test server, filled the way a mail server would: by IMAP APPEND."""

    def __init__(self, server: Dovecot, user, password):
        self.server, self.user, self.password = server, user, password

    @contextmanager
    def client(self):
        client = IMAPClient(self.server.host, port=self.server.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        try:
            yield client
        finally:
            client.logout()

    def append(self, raw: bytes, folder="INBOX"):
        with self.client() as client:
            client.append(folder, raw)

    def append_many(self, messages, folder="INBOX"):
        with self.client() as client:
            for raw in messages:
                client.append(folder, raw)

    def flags(self, folder="INBOX"):
        """{uid: flags} of every message in ``folder``."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search(), ["FLAGS"]).items()}

    def message_ids(self, folder="INBOX"):
        """Message-ID header of every message in ``folder``, in UID order."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search(), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            return [found[uid][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip()
                    for uid in sorted(found)]

    def spec(self, **overrides):
        """This mailbox as an entry of MAIL_MAILBOXES."""
        spec = {"name": "support", "type": "imap", "host": self.server.host, "port": self.server.port,
                "security": "none", "user": self.user, "password": self.password, "folder": "INBOX",
                "department": None, "address": SUPPORT_ADDRESS}
        spec.update(overrides)
        return spec


@pytest.fixture(scope="session")
def dovecot():
    server = _start_dovecot("helpdesk-dovecot-")
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def imap_mailbox(dovecot):
    """A fresh, empty mailbox (a new user) on the running server; the server is running again afterwards."""
    user = f"support-{uuid.uuid4().hex[:10]}"
    dovecot.add_user(user, "imap-password")
    yield Mailbox(dovecot, user, "imap-password")
    if dovecot.process is None:
        dovecot.start()


def _start_dovecot(prefix, **options):
    if not os.access(DOVECOT, os.X_OK):
        raise RuntimeError(f"{DOVECOT} is missing: run scripts/test-services.sh (installs dovecot-imapd)")
    # Not under pytest's tmp folder: that one is private to us, and Dovecot's processes run as other users.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    server = Dovecot(root, **options)
    server.start()
    return server


@pytest.fixture(scope="session")
def oauth_provider_server():
    from tests.integration.imap.fake_oauth import FakeOAuthProvider

    provider = FakeOAuthProvider()
    yield provider
    provider.close()


@pytest.fixture
def oauth_provider(oauth_provider_server):
    """The fake OAuth 2 provider, with no grants and default token lifetimes."""
    oauth_provider_server.reset()
    yield oauth_provider_server
    oauth_provider_server.reset()


@pytest.fixture(scope="session")
def oauth_dovecot(oauth_provider_server):
    server = _start_dovecot("helpdesk-dovecot-oauth-",
                            introspection_url=f"{oauth_provider_server.url}/introspect")
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def oauth_mailbox(oauth_dovecot):
    """A fresh, empty mailbox on the OAuth-capable server; its user also has a password, to fill it."""
    user = f"support-{uuid.uuid4().hex[:10]}@example.test"
    oauth_dovecot.add_user(user, "imap-password")
    yield Mailbox(oauth_dovecot, user, "imap-password")
    if oauth_dovecot.process is None:
        oauth_dovecot.start()
