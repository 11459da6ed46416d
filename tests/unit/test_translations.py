"""The translation catalogues: in step with the code, compiled, and safe to format (no lost placeholders)."""
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from flask import render_template
from flask_babel import force_locale, gettext

from helpdesk import create_app
from helpdesk.i18n import LANGUAGES
from helpdesk.tickets.models import STATUSES

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "helpdesk" / "translations"
TRANSLATED = sorted(code for code in LANGUAGES if code != "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")


@pytest.fixture
def i18n_app(tmp_path):
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        yield app


def _catalogue(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def _placeholders(text):
    return sorted(set(match.group(0) for match in PLACEHOLDER.finditer(text or "")))


def test_catalogues_are_complete_and_in_step_with_the_code():
    result = subprocess.run(["bash", str(REPO / "scripts" / "translations.sh"), "check"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("lang", TRANSLATED)
def test_pages_speak_the_readers_language(i18n_app, lang):
    with force_locale(lang):
        log_in = gettext("Log in")
        closed = str(STATUSES["closed"])
    assert log_in and log_in != "Log in"
    assert closed and closed != "Closed"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translated_greeting_keeps_the_recipients_name(i18n_app, lang):
    with force_locale(lang):
        greeting = gettext("Hello %(name)s,", name="Darya Karimi")
    assert "Darya Karimi" in greeting
    assert greeting != "Hello Darya Karimi,"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_acknowledgement_mail_names_the_ticket_in_the_readers_language(i18n_app, lang):
    ticket = SimpleNamespace(number=1042, subject="Printer on fire")
    with force_locale(lang):
        text = render_template("tickets/mail/acknowledgement.txt", ticket=ticket, recipient_name="Darya",
                               brand="Helpdesk")
    assert "#1042" in text
    assert "Printer on fire" in text
    assert "Darya" in text
    assert "we have received your request" not in text


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_translation_keeps_the_placeholders_of_its_msgid(lang):
    """A lost or renamed %(name)s raises KeyError (or drops the value) when the string is formatted."""
    wrong = []
    for message in _catalogue(lang):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        allowed = set(_placeholders(" ".join(ids)))
        for index, string in enumerate(strings):
            found = _placeholders(string)
            # The last plural form is the general one; it must carry every placeholder of the plural msgid.
            is_general_form = index == len(strings) - 1
            if (is_general_form and found != _placeholders(ids[-1])) or not set(found) <= allowed:
                wrong.append((ids[0], string))
            # Customers match "#1042" in the body to the "[#1042]" tag in the subject.
            for token in ("[#%(number)s]", "#%(number)s"):
                if token in ids[0] and token not in string:
                    wrong.append((ids[0], string))
    assert not wrong, "\n".join(f"{msgid!r} -> {string!r}" for msgid, string in wrong)


def test_persian_uses_persian_letters():
    """Arabic yeh and kaf look alike but break search and sorting for Persian readers."""
    arabic = [(m.id, m.string) for m in _catalogue("fa") if m.id and re.search("[\u064a\u0643]", str(m.string))]
    assert not arabic


def _compile(catalog, path):
    from babel.messages.mofile import write_mo

    with open(path, "wb") as f:
        write_mo(f, catalog)
    return path


def _compare(expected, committed):
    return subprocess.run(["bash", str(REPO / "scripts" / "translations.sh"), "compare", str(expected), str(committed)],
                          capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_check_ignores_which_babel_compiled_the_catalogue(tmp_path, monkeypatch, lang):
    """A new Babel release writes its own version into the header; the translations are still the same."""
    expected = _compile(_catalogue(lang), tmp_path / "expected.mo")
    monkeypatch.setattr("babel.messages.catalog.VERSION", "99.0.0")
    other = _compile(_catalogue(lang), tmp_path / "other.mo")
    assert b"Babel 99.0.0" in other.read_bytes() and other.read_bytes() != expected.read_bytes()

    result = _compare(expected, other)
    assert result.returncode == 0, result.stdout + result.stderr


def test_catalogue_check_names_a_translation_that_changed(tmp_path):
    catalog = _catalogue("de")
    expected = _compile(catalog, tmp_path / "expected.mo")
    catalog.get("Log in").string = "Einloggen, bitte"
    stale = _compile(catalog, tmp_path / "stale.mo")

    result = _compare(expected, stale)
    assert result.returncode == 1
    assert "'Log in'" in result.stdout and "Einloggen, bitte" in result.stdout


def test_catalogue_check_names_a_translation_the_compiled_catalogue_lacks(tmp_path):
    catalog = _catalogue("tr")
    expected = _compile(catalog, tmp_path / "expected.mo")
    catalog.delete("Log in")
    stale = _compile(catalog, tmp_path / "stale.mo")

    result = _compare(expected, stale)
    assert result.returncode == 1
    assert "missing 'Log in'" in result.stdout
