"""The installed product works without the source tree: `pip install .` into a fresh virtual
environment, then `helpdesk demo` and `helpdesk serve` from an unrelated directory."""
import os
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


@pytest.mark.slow
def test_pip_install_gives_a_working_helpdesk_command(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    result = subprocess.run([str(pip), "install", "-q", str(REPO)], capture_output=True, text=True,
                            env=_clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
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
