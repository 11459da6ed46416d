"""Installing works as the README says, from the lock:

- the installed product works without the source tree: the locked set and `pip install .` into a fresh
  virtual environment, then `helpdesk demo` and `helpdesk serve` from an unrelated directory;
- a fresh checkout's `make run` installs quietly and ends with the URL and the demo logins, and its
  translations check passes, also with another Babel release than the one that compiled the catalogues."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**extra):
    # MAKEFLAGS and friends: this test may itself run under `make test`.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HELPDESK_") and k not in {"PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
                                                         "VIRTUAL_ENV"}}
    # No .pyc files written at install time: nothing here needs them, and compiling ~100 packages is a third of
    # an install; the first import writes what it uses.
    env.setdefault("PIP_NO_COMPILE", "1")
    env.update(extra)
    return env


def _install_locked(venv, *targets):
    """pip install of the app's lock, then of ``targets`` without resolving anything; returns pip's output."""
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    output = ""
    for command in ([*pip, "install", "-q", "--require-hashes", "-r", str(REPO / "requirements" / "main.txt")],
                    [*pip, "install", "-q", "--no-deps", "--no-build-isolation", *targets]):
        result = subprocess.run(command, capture_output=True, text=True, env=_clean_env())
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        output += result.stdout + result.stderr
    return output


@pytest.mark.slow
def test_pip_install_gives_a_working_helpdesk_command(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Build from a copy: an in-tree build would leave build/ behind in the checkout.
    source = _fresh_checkout(tmp_path / "source")
    output = _install_locked(venv, str(source))
    assert "would be ignored" not in output and "SetuptoolsDeprecationWarning" not in output, output[-3000:]
    helpdesk = venv / "bin" / "helpdesk"
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = _clean_env()

    demo = subprocess.run([str(helpdesk), "demo"], cwd=elsewhere, capture_output=True, text=True, env=env,
                          timeout=120)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "admin@example.com" in demo.stdout
    # The demo wrote its acknowledgements as files, since no SMTP server is configured.
    assert list((elsewhere / "instance" / "outgoing-mail").glob("*.eml"))

    port = _free_port()
    server = subprocess.Popen([str(helpdesk), "serve", "--port", str(port)], cwd=elsewhere, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert page is not None, "helpdesk serve did not answer"
        assert 'name="csrf_token"' in page and 'name="password"' in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/helpdesk.css", timeout=2) as response:
            assert b"inline-start" in response.read()
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/login", headers={"Accept-Language": "fa"}), timeout=2) as response:
            assert 'dir="rtl"' in response.read().decode()
        # The embedded default turns mail dropped into the Maildir folder into tickets.
        drop = elsewhere / "instance" / "maildrop" / "new" / "1700000000.1.test"
        drop.write_bytes(b"From: Newcomer <newcomer@example.org>\r\nTo: support@example.com\r\n"
                         b"Subject: Dropped in the folder\r\nMessage-ID: <drop-1@example.org>\r\n\r\nHello\r\n")
        acks = elsewhere / "instance" / "outgoing-mail"
        before = len(list(acks.glob("*.eml")))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(acks.glob("*.eml"))) == before:
            time.sleep(0.3)
        newest = max(acks.glob("*.eml"), key=lambda p: p.name).read_text(errors="replace")
        assert "newcomer@example.org" in newest and "Dropped in the folder" in newest
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}/" in output

    # Migrations, templates and translation catalogues were installed with the package.
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "helpdesk" / "migrations" / "versions" / "0001_initial_schema.py").is_file()
    assert (site / "helpdesk" / "config" / "default.py").is_file()
    assert (site / "helpdesk" / "tickets" / "templates" / "tickets" / "mail" / "acknowledgement.txt").is_file()
    assert (site / "helpdesk" / "accounts" / "templates" / "accounts" / "mail" / "activation.txt").is_file()


def _fresh_checkout(target):
    """The tracked files of this working tree (with their changes) in ``target``, as a clone would have them."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_fresh_checkout_runs_quietly_and_its_translations_check_passes_with_another_babel(tmp_path):
    checkout = _fresh_checkout(tmp_path / "checkout")
    port = _free_port()
    # make run: install from the lock into a new .venv, load the demo, serve. Its output is read until the
    # server says where it is, then it is stopped.
    run = subprocess.Popen(["make", "--no-print-directory", f"PYTHON={sys.executable}", "run", f"PORT={port}"],
                           cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=_clean_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert run.poll() is None, run.stdout.read()
                time.sleep(0.5)
        time.sleep(1)  # the background threads' first lines, if they print any
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
        output = run.communicate(timeout=30)[0]
    assert run.returncode != 0 or "demo logins:" in output, f"make run stopped by itself:\n{output}"
    lines = [line for line in output.splitlines() if line.strip()]
    # pip's complaint about this machine's own configuration (an extra index without that project) is the
    # machine's, not the project's.
    warnings = [line for line in lines if ("warning" in line.lower() or "would be ignored" in line)
                and not re.search(r"Location '.*' is ignored: it is neither a file nor a directory", line)]
    assert not warnings, output
    # The last lines are where to go and how to log in (the request log of the probe above, and make's own
    # word about the stop, aside).
    banner = [line for line in lines if "GET /login" not in line and not line.startswith("make: ***")]
    assert f"http://127.0.0.1:{port}/" in banner[-5]
    assert banner[-4] == "demo logins:"
    assert [line.split()[1] for line in banner[-3:]] == ["admin@example.com", "agent@example.com",
                                                        "customer@example.com"]
    assert all("password: demo-" in line for line in banner[-3:])

    helpdesk = subprocess.run([str(checkout / ".venv" / "bin" / "helpdesk"), "--help"], capture_output=True,
                              text=True, env=_clean_env())
    assert helpdesk.returncode == 0 and "serve" in helpdesk.stdout and "mailgateway" in helpdesk.stdout

    # The translations check of `make lint` passes on the fresh checkout with the locked Babel, and with another
    # Babel than the lock's (here the release before it), which compiles the catalogues with other bytes: the
    # translations are the same. (The rest of `make lint` runs on a fresh checkout in CI's own `make test`.)
    assert "translations are up to date" in _translations_check(checkout)
    python = str(checkout / ".venv" / "bin" / "python")
    locked = subprocess.run([python, "-c", "import babel; print(babel.__version__)"], capture_output=True,
                            text=True, check=True).stdout.strip()
    other = "2.18.0" if locked != "2.18.0" else "2.17.0"
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"babel=={other}"],
                   check=True, env=_clean_env(), capture_output=True)
    assert "translations are up to date" in _translations_check(checkout)


def _translations_check(checkout):
    check = subprocess.run(["scripts/translations.sh", "check"], cwd=checkout, capture_output=True, text=True,
                           env=_clean_env())
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    return check.stdout + check.stderr
