"""The production guide (docs/deploy.md) and the deploy/ files name only commands, options and settings that exist,
so an operator following them never meets "No such command" or a setting that is silently ignored."""
import re
from pathlib import Path

import click
import pytest
from flask import Flask

from helpdesk import settings
from helpdesk.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"

# Environment names in the guide and units that are no helpdesk settings (no HELPDESK_ prefix): gunicorn's sizes in
# the units, and prometheus-client's folder for several processes.
NOT_SETTINGS = {"BIND_HOST", "WEB_CONCURRENCY", "WEB_THREADS", "CHAT_CONCURRENCY", "CHAT_THREADS",
                "PROMETHEUS_MULTIPROC_DIR"}  # prometheus-client's own, read from the environment

# Where a line calls the helpdesk program: at its start, by path (…/bin/helpdesk), through sudo or after && ; |.
INVOCATION = re.compile(r"(?:^\s*(?:\$\s+)?|bin/|sudo -u helpdesk |&&\s*|;\s*|\|\s*)(helpdesk(?:-cli)?)[ \t]+(.*)$",
                        re.MULTILINE)
SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def _deploy_files():
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file())


def _guide_code():
    """The guide's code: fenced blocks and inline code spans, one string each."""
    text = GUIDE.read_text(encoding="utf-8")
    fence = r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```"
    fences = re.findall(fence, text, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(fence, "", text, flags=re.MULTILINE | re.DOTALL)
    return fences + re.findall(r"`([^`\n]+)`", prose)


def _invocations():
    """(where, program, words after it) for every call of helpdesk or helpdesk-cli in the guide's code and deploy/."""
    sources = [("docs/deploy.md", code) for code in _guide_code()]
    sources += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in _deploy_files()]
    found = []
    for where, code in sources:
        for match in INVOCATION.finditer(code):
            words = []
            for word in match.group(2).split():
                if word in ("&&", "|", ";", "\\") or word.startswith("#"):
                    break
                words.append(word)
            found.append((where, match.group(1), words))
    return found


def _resolve(words):
    """The click command the words name, and the words left after it; None when they name no command."""
    command, rest = main, list(words)
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    # A group alone (`helpdesk search`) runs nothing: a word after it that is no subcommand is a mistake.
    return (None, rest) if isinstance(command, click.Group) else (command, rest)


@pytest.fixture(scope="module")
def setting_names():
    app = Flask(__name__)
    settings.load(app)
    return set(app.config)


def test_guide_and_units_call_the_helpdesk_command():
    calls = _invocations()
    called = {" ".join(words[:2]) for _, _, words in calls}
    # The guide is about these; if the patterns stop finding them, the check below checks nothing.
    for expected in ("db upgrade", "worker --queue", "mailgateway", "scheduler", "search rebuild", "mail quarantine",
                     "vault rotate-key"):
        assert any(c.startswith(expected) for c in called), expected


def test_every_helpdesk_command_named_exists_with_its_options():
    for where, program, words in _invocations():
        if not words or not re.match(r"[a-z]", words[0]):
            continue  # the wrapper passing its arguments on ("$@")
        command, rest = _resolve(words)
        assert command is not None, f"{where}: `{program} {' '.join(words)}` is not a helpdesk command"
        options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        for word in rest:
            if word.startswith("--"):
                name = word.split("=", 1)[0]
                assert name in options, f"{where}: `{program} {' '.join(words)}`: no option {name}"


def test_every_helpdesk_variable_names_a_setting(setting_names):
    texts = [("docs/deploy.md", GUIDE.read_text(encoding="utf-8"))]
    texts += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in _deploy_files()]
    seen = 0
    for where, text in texts:
        for name in re.findall(r"\bHELPDESK_([A-Z][A-Z0-9_]*)", text):
            seen += 1
            assert name == "CONFIG" or name in setting_names, f"{where}: HELPDESK_{name} is no setting"
    assert seen > 20


def test_every_setting_name_mentioned_exists(setting_names):
    texts = [("docs/deploy.md", GUIDE.read_text(encoding="utf-8"))]
    texts += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in _deploy_files()]
    for where, text in texts:
        for name in SETTING_NAME.findall(text):
            name = name.removeprefix("HELPDESK_")
            if name in NOT_SETTINGS or name == "CONFIG":
                continue
            assert name in setting_names, f"{where}: {name} is no helpdesk setting"


def test_nginx_limits_fit_the_apps_defaults():
    app = Flask(__name__)
    settings.load(app)
    site = (DEPLOY / "nginx" / "helpdesk.conf").read_text(encoding="utf-8")
    body_limit = re.search(r"^\s*client_max_body_size (\d+)m;", site, flags=re.MULTILINE)
    # The app, not nginx, must be the one to refuse an upload that is too large (its own page, translated).
    assert int(body_limit.group(1)) * 1024 * 1024 >= app.config["MAX_CONTENT_LENGTH"]
    articles = re.search(r"location /agent/kb/articles/ \{(.*?)\}", site, flags=re.DOTALL).group(1)
    video_limit = re.search(r"client_max_body_size (\d+)m;", articles)
    assert int(video_limit.group(1)) * 1024 * 1024 > app.config["KB_VIDEO_MAX_BYTES"]
    chat = re.search(r"location /chat/ \{(.*?)\}", site, flags=re.DOTALL).group(1)
    assert "proxy_buffering off;" in chat
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", chat).group(1))
    assert read_timeout > app.config["CHAT_STREAM_KEEPALIVE_SECONDS"]


def test_units_start_each_process_with_its_queues():
    """Workers serve mail and default, exactly one unit serves search, web and chat run the app under gunicorn."""
    units = {p.name: p.read_text(encoding="utf-8") for p in (DEPLOY / "systemd").glob("*.service")}
    exec_lines = {name: re.search(r"^ExecStart=(.*?)(?<!\\)$", text, flags=re.MULTILINE | re.DOTALL).group(1)
                  for name, text in units.items()}
    expected = {
        "helpdesk-worker@.service": "bin/helpdesk worker --queue mail --queue default",
        "helpdesk-search.service": "bin/helpdesk worker --queue search",
        "helpdesk-mailgateway.service": "bin/helpdesk mailgateway",
        "helpdesk-scheduler.service": "bin/helpdesk scheduler",
    }
    for name, command in expected.items():
        assert exec_lines[name].endswith(command), name
    for name in ("helpdesk-web@.service", "helpdesk-chat@.service"):
        assert "bin/gunicorn" in units[name] and "helpdesk:create_app()" in units[name], name
    assert "--worker-class gthread" in units["helpdesk-chat@.service"]


def test_links_inside_the_guide_reach_its_headings():
    text = GUIDE.read_text(encoding="utf-8")
    prose = re.sub(r"^[ \t]*```[^\n]*\n.*?^[ \t]*```", "", text, flags=re.MULTILINE | re.DOTALL)
    # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens.
    anchors = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
               for heading in re.findall(r"^#+ (.+)$", prose, flags=re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", prose)
    assert links
    for link in links:
        assert link in anchors, f"docs/deploy.md links to #{link}, which no heading makes"
