"""The knowledge base's rules as editors and readers meet them: who may edit, who reads what (drafts,
customers-only and internal folders), revisions and restoring them, translations with fallback and a
search that follows them, sanitised bodies, votes and feedback, and feedback turned into a ticket."""
import shutil

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from helpdesk.actors import SYSTEM
from helpdesk.cli import main
from helpdesk.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb import access, service
from helpdesk.kb.models import CUSTOMERS, INTERNAL, NEWS, PUBLIC, KBVote
from helpdesk.search import articles as kb_index
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import NewAttachment


@pytest.fixture
def editor(make_user):
    user = make_user("agent", email="editor@example.test", full_name="Edna Editor")
    return service.set_editor(SYSTEM, user, True)


@pytest.fixture
def folder(editor):
    return service.create_folder(editor, title="Printers", description="Setting up printers", visibility=PUBLIC)


def article(editor, folder, title="Replacing the toner", body="Open the **front** cover.", publish=True, **kw):
    return service.create_article(editor, folder=folder, language=kw.pop("language", "en"), title=title, body=body,
                                  publish=publish, **kw)


def found(actor, text, language="en", console=False):
    return [hit.article.id for hit in kb_index.search_articles(actor, text, language=language, console=console)]


def test_only_editors_and_admins_change_the_knowledge_base(make_user, agent, customer, folder):
    admin = make_user("admin")

    with pytest.raises(NotAllowed):
        service.create_folder(agent, title="Mine")
    with pytest.raises(NotAllowed):
        article(customer, folder)
    assert service.create_folder(admin, title="Admins may").id
    with pytest.raises(ValidationFailed) as exc:
        service.set_editor(SYSTEM, customer, True)
    assert "kb_editor" in exc.value.errors


def test_all_field_errors_are_reported_at_once(editor, folder):
    with pytest.raises(ValidationFailed) as exc:
        service.create_article(editor, folder=None, language="xx", title=" ", body="", body_format="odt",
                               video_url="https://evil.example/embed/1")
    assert set(exc.value.errors) == {"folder", "language", "title", "body", "body_format", "video_url"}


def test_folders_nest_two_levels_deep_at_most(editor, folder):
    child = service.create_folder(editor, title="Laser printers", parent=folder)

    with pytest.raises(ValidationFailed) as exc:
        service.create_folder(editor, title="Too deep", parent=child)
    assert "parent" in exc.value.errors


def test_a_draft_is_seen_by_editors_in_the_console_only(editor, customer, folder):
    draft = article(editor, folder, publish=False)

    with pytest.raises(NotFound):
        access.get_article(customer, draft.id)
    with pytest.raises(NotFound):
        access.get_article(editor, draft.id)  # the portal shows only what is published
    assert access.get_article(editor, draft.id, console=True) == draft
    assert found(customer, "toner") == []

    service.publish(editor, draft)

    assert access.get_article(customer, draft.id) == draft
    assert access.get_article(None, draft.id) == draft
    assert found(None, "toner") == [draft.id]


def test_folder_visibility_limits_readers(editor, agent, customer, folder):
    members = service.create_folder(editor, title="Contracts", visibility=CUSTOMERS)
    staff = service.create_folder(editor, title="Runbooks", visibility=INTERNAL)
    for_members = article(editor, members, title="Your contract terms", body="Members read this toner guide.")
    internal = article(editor, staff, title="Restart the toner daemon", body="Internal toner steps.")

    with pytest.raises(NotFound):
        access.get_article(None, for_members.id)
    assert access.get_article(customer, for_members.id) == for_members
    for reader in (None, customer, agent):
        with pytest.raises(NotFound):
            access.get_article(reader, internal.id)
    assert access.get_article(agent, internal.id, console=True) == internal
    with pytest.raises(NotFound):
        access.get_article(customer, internal.id, console=True)
    assert internal.id not in found(customer, "toner")
    assert internal.id in found(agent, "toner", console=True)
    assert for_members.id not in found(None, "toner")


def test_an_article_under_an_internal_parent_stays_internal(editor, customer):
    staff = service.create_folder(editor, title="Staff", visibility=INTERNAL)
    child = service.create_folder(editor, title="Public by mistake", parent=staff, visibility=PUBLIC)
    hidden = article(editor, child, title="Escalation phone numbers")

    with pytest.raises(NotFound):
        access.get_article(customer, hidden.id)
    assert found(customer, "escalation") == []


def test_every_edit_keeps_a_revision_that_can_be_restored(editor, folder):
    item = article(editor, folder, title="Toner", body="First version", tags="toner, laser")
    service.update_article(editor, item, language="en", title="Toner cartridges", body="Second version",
                           tags="toner")

    assert [r.number for r in item.revisions] == [2, 1]
    title, html = service.revision_text(item.revisions[1], "en")
    assert (title, html) == ("Toner", "<p>First version</p>\n")

    service.restore_revision(editor, item, 1)

    text = item.translation("en", "en")
    assert (text.title, text.body, item.tag_list) == ("Toner", "First version", ["toner", "laser"])
    assert [r.number for r in item.revisions] == [3, 2, 1]
    assert found(None, "first") == [item.id]
    assert found(None, "second") == []


def test_readers_get_their_language_falling_back_to_the_default_and_search_follows(editor, folder):
    item = article(editor, folder, title="Printing a test page", body="Print a test page from the menu.")
    english_only = article(editor, folder, title="Cleaning the printer", body="Wipe the printing head.")
    service.update_article(editor, item, language="de", title="Eine Testseite drucken",
                           body="Drucken Sie die Testseite über das Menü.")

    assert item.translation("de", "en").title == "Eine Testseite drucken"
    assert english_only.translation("de", "en").title == "Cleaning the printer"
    # A German reader finds the German text by a stemmed word, and English-only articles in English.
    assert found(None, "druckt", language="de") == [item.id]
    assert found(None, "printing", language="de") == [english_only.id]
    assert sorted(found(None, "printing", language="en")) == sorted([item.id, english_only.id])


def test_turkish_and_hungarian_texts_are_found_by_other_forms_of_their_words(editor, folder):
    turkish = article(editor, folder, language="tr", title="Kitaplarımızı yedekleme", body="Yedekleri saklayın.")
    hungarian = article(editor, folder, language="hu", title="Nyomtatók beállítása", body="A nyomtatóval.")

    assert found(None, "kitap", language="tr") == [turkish.id]
    assert found(None, "nyomtató", language="hu") == [hungarian.id]


def test_a_short_query_with_a_typo_still_finds_the_article(editor, folder):
    item = article(editor, folder, title="Router firmware update", body="Download the firmware.")

    assert found(None, "firmwere") == [item.id]
    assert found(None, "ruoter firmware") == []  # two edits away is too far


def test_bodies_are_sanitised_on_save_and_render(editor, folder):
    markdown = article(editor, folder, body="Hi <script>alert(1)</script> [x](javascript:alert(2))")
    rich = article(editor, folder, body='<p onclick="x()">Hi</p><script>alert(1)</script><iframe src="//x"></iframe>',
                   body_format="html")

    for item in (markdown, rich):
        html = service.safe_html(item.translations[0])
        assert "<script" not in html and "onclick" not in html and "href=\"javascript" not in html
        assert "<iframe" not in html
    assert "&lt;script&gt;" in markdown.translations[0].body_html  # Markdown shows raw HTML as text


def test_videos_come_from_allowed_hosts_or_an_uploaded_file(app, editor, folder):
    item = article(editor, folder, video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert item.video_url == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"

    with pytest.raises(ValidationFailed) as exc:
        article(editor, folder, video=NewAttachment("evil.html", "text/html", b"<script>"))
    assert "video" in exc.value.errors
    uploaded = article(editor, folder, video=NewAttachment("../clip.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42"))
    assert (uploaded.video_filename, uploaded.video_content_type) == ("clip.mp4", "video/mp4")


def test_editors_reorder_articles_and_folders(editor, folder):
    first, second = article(editor, folder, title="First"), article(editor, folder, title="Second")

    service.move_article(editor, second, "up")

    assert [a.id for a in access.articles_in(None, [folder.id])[folder.id]] == [second.id, first.id]
    other = service.create_folder(editor, title="Other")
    service.move_folder(editor, other, "up")
    assert [f.id for f, _children in access.folder_tree(None)] == [other.id, folder.id]


def test_latest_news_lists_published_announcements_newest_first(editor, folder):
    news = service.create_folder(editor, title="News", kind=NEWS)
    older = article(editor, news, title="New office")
    newer = article(editor, news, title="Maintenance on Sunday")
    article(editor, news, title="Unfinished", publish=False)
    article(editor, folder, title="Not news")

    assert [a.id for a in service.latest_news(None)] == [newer.id, older.id]


def test_one_vote_per_reader_and_article_that_can_be_changed(editor, customer, folder):
    item = article(editor, folder)
    guest = service.reader_key(None, "a" * 22)
    other_guest = service.reader_key(None, "b" * 22)

    service.vote(None, item, reader=guest, helpful=True)
    service.vote(None, item, reader=guest, helpful=False)
    service.vote(None, item, reader=other_guest, helpful=True)
    service.vote(customer, item, reader=service.reader_key(customer), helpful=False)

    assert service.feedback_summary(editor) == [(item, 1, 2)]
    with pytest.raises(NotAllowed):
        service.reader_key(None, "../../not-random")
    with pytest.raises(NotAllowed):
        service.feedback_summary(customer)


def test_summary_puts_the_most_unhelpful_article_first(editor, folder):
    good, bad = article(editor, folder, title="Good"), article(editor, folder, title="Bad")
    service.vote(None, good, reader=service.reader_key(None, "c" * 20), helpful=True)
    for n in range(2):
        service.vote(None, bad, reader=service.reader_key(None, f"{n}" * 20), helpful=False)

    assert [row[0].id for row in service.feedback_summary(editor)] == [bad.id, good.id]


def test_guest_feedback_reaches_editors_and_becomes_a_ticket_once(editor, folder, smtp):
    item = article(editor, folder)
    guest = service.reader_key(None, "d" * 24)
    service.vote(None, item, reader=guest, helpful=False)

    with pytest.raises(ValidationFailed) as exc:
        service.send_feedback(None, item, reader=guest, comment="", email="not an address")
    assert set(exc.value.errors) == {"comment", "email"}
    feedback = service.send_feedback(None, item, reader=guest, comment="Which toner fits the X200?",
                                     email="Gina@Guest.example")

    assert [c.comment for c in service.feedback_comments(editor, item)] == ["Which toner fits the X200?"]
    ticket = service.feedback_to_ticket(editor, feedback.id)

    assert ticket.requester.email == "gina@guest.example"
    assert "Which toner fits the X200?" in ticket.messages[0].body_text
    assert db.session.get(KBVote, feedback.id).ticket_id == ticket.id
    with pytest.raises(Conflict):
        service.feedback_to_ticket(editor, feedback.id)
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 1
    assert smtp.wait_for(1) and "gina@guest.example" in str(smtp.messages[0]["To"])


def test_feedback_without_an_email_cannot_become_a_ticket(editor, folder):
    item = article(editor, folder)
    feedback = service.send_feedback(None, item, reader=service.reader_key(None, "e" * 24), comment="Too short")

    with pytest.raises(ValidationFailed):
        service.feedback_to_ticket(editor, feedback.id)


def test_search_rebuild_rebuilds_the_knowledge_base_index_too(app, smtp, editor, folder):
    item = article(editor, folder, title="Backup schedules")
    shutil.rmtree(kb_index.index_path())
    assert found(None, "backup") == []
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    db.session.commit()

    result = CliRunner().invoke(main, ["search", "rebuild"], env=env)

    assert result.exit_code == 0, result.output
    assert "1 article(s)" in result.stdout
    assert found(None, "backup") == [item.id]


def test_cli_grants_the_editor_right(app, make_user):
    user = make_user("agent", email="writer@example.test")
    env = {"HELPDESK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_INSTANCE_PATH": app.config["INSTANCE_PATH"], "HELPDESK_SECRET_KEY": app.config["SECRET_KEY"],
           "HELPDESK_REDIS_URL": "", "HELPDESK_CONFIG": None}
    db.session.commit()

    result = CliRunner().invoke(main, ["user", "kb-editor", "writer@example.test"], env=env)

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert access.is_editor(user)
