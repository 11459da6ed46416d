"""Knowledge base folders carry a title and description per language, as articles do: editors write them in the
KB editor, readers see their language's (the default language's when there is none), on the portal, in the
console and in breadcrumbs; the demo folders come in German, Turkish, Hungarian and Persian too."""
import re

import pytest

from helpdesk.demo import load_demo
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb import service as kb
from helpdesk.kb.models import KBFolder
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def editor(make_user):
    return make_user("admin", email="editor@example.test", full_name="Edna Editor")


def headings(page):
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", page, re.S)]


def test_a_folder_reads_in_the_readers_language_with_the_default_as_fallback(editor):
    folder = kb.create_folder(editor, title="Servers", description="Web servers and backups",
                              translations={"de": ("Server", "Webserver und Backups"), "fa": ("سرورها", "")})
    assert (folder.title_in("de"), folder.description_in("de")) == ("Server", "Webserver und Backups")
    assert (folder.title_in("fa"), folder.description_in("fa")) == ("سرورها", "Web servers and backups")
    assert (folder.title_in("tr"), folder.title_in("en")) == ("Servers", "Servers")

    kb.update_folder(editor, folder, title="Servers", description="Web servers and backups",
                     translations={"de": ("Server ", "Webserver, Backups"), "fa": ("", ""), "hu": ("Szerverek", "")})
    db.session.expire_all()
    folder = db.session.get(KBFolder, folder.id)
    assert {t.language: (t.title, t.description) for t in folder.translations} == {
        "de": ("Server", "Webserver, Backups"), "hu": ("Szerverek", "")}

    kb.update_folder(editor, folder, title="Servers")  # translations not given: kept
    db.session.expire_all()
    assert len(db.session.get(KBFolder, folder.id).translations) == 2


def test_folder_translations_are_checked_field_by_field(editor):
    with pytest.raises(ValidationFailed) as raised:
        kb.create_folder(editor, title="Servers", translations={
            "en": ("Servers", ""), "hu": ("", "Csak leírás"), "tr": ("x" * 201, ""), "xx": ("?", "")})
    assert set(raised.value.errors) == {"title_en", "title_hu", "title_tr", "title_xx"}
    assert db.session.query(KBFolder).count() == 0


def test_the_editor_writes_titles_per_language_and_readers_see_theirs(client, editor):
    folder = kb.create_folder(editor, title="Servers", description="Web servers and backups")
    child = kb.create_folder(editor, title="Backups", parent=folder)
    article = kb.create_article(editor, folder=child, language="en", title="Restoring a backup",
                                body="Pick a date.", publish=True)
    log_in(client, "editor@example.test")
    page = client.get(f"/agent/kb/folders/{folder.id}/edit").text
    for code in ("de", "tr", "hu", "fa"):
        assert f'name="title_{code}"' in page and f'name="description_{code}"' in page
    assert 'name="title_en"' not in page  # English is the desk's default: the main title
    response = client.post(f"/agent/kb/folders/{folder.id}/edit", data={
        "csrf_token": csrf_token(page), "title": "Servers", "description": "Web servers and backups", "parent": "",
        "visibility": "public", "kind": "standard", "title_de": "Server", "description_de": "Webserver und Backups",
        "title_fa": "سرورها", "description_fa": "", "title_tr": "", "description_tr": "", "title_hu": "",
        "description_hu": ""})
    assert response.status_code == 302
    page = client.get(f"/agent/kb/folders/{child.id}/edit").text
    client.post(f"/agent/kb/folders/{child.id}/edit", data={
        "csrf_token": csrf_token(page), "title": "Backups", "parent": str(folder.id), "visibility": "public",
        "kind": "standard", "title_de": "Datensicherungen"})

    client.set_cookie("lang", "de")
    index = client.get("/kb/").text
    assert "Server" in headings(index) and "Datensicherungen" in headings(index)
    assert "Servers" not in headings(index) and "Webserver und Backups" in index
    folder_page = client.get(f"/kb/folders/{folder.id}").text
    assert "<title>Server" in folder_page
    crumbs = re.search(r'<nav class="kb-breadcrumbs".*?</nav>', client.get(f"/kb/articles/{article.id}").text,
                       re.S).group(0)
    assert "Server" in crumbs and "Datensicherungen" in crumbs and "Servers" not in crumbs
    console = headings(client.get("/agent/kb/").text)  # each with its visibility badge
    assert any(h.startswith("Server ") for h in console) and any(h.startswith("Datensicherungen ") for h in console)
    assert "› Datensicherungen" in re.sub(r"<[^>]+>", "", client.get(f"/agent/kb/articles/{article.id}").text)

    client.set_cookie("lang", "tr")  # no Turkish title: the default language's
    assert "Servers" in headings(client.get("/kb/").text)
    client.set_cookie("lang", "fa")
    assert "سرورها" in headings(client.get("/kb/").text)


def test_a_rejected_translation_shows_beside_its_field(client, editor):
    log_in(client, "editor@example.test")
    page = client.get("/agent/kb/folders/new").text
    response = client.post("/agent/kb/folders/new", data={
        "csrf_token": csrf_token(page), "title": "Servers", "parent": "", "visibility": "public", "kind": "standard",
        "title_hu": "", "description_hu": "Csak leírás", "title_de": "Server"})
    assert response.status_code == 400
    assert 'id="title_hu-error"' in response.text
    assert 'value="Server"' in response.text and "Csak leírás" in response.text
    assert db.session.query(KBFolder).count() == 0


@pytest.mark.parametrize("language, servers, news", [
    ("de", "Server", "Neuigkeiten"), ("tr", "Sunucular", "Son haberler"), ("hu", "Szerverek", "Legfrissebb hírek"),
    ("fa", "سرورها", "آخرین اخبار"), ("en", "Servers", "Latest news")])
def test_the_demo_folders_come_in_every_language(client, language, servers, news):
    load_demo()
    client.set_cookie("lang", language)
    titles = headings(client.get("/kb/").text)
    assert servers in titles and news in titles
