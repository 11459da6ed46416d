"""The knowledge base through the test client (on PostgreSQL): the portal's pages and search, the article
page's own frame policy for videos, "was this helpful?" for guests (one changeable vote per browser) and
customers, ticket-form suggestions as JSON, and the console: editors' forms, publishing, revisions,
feedback counts and feedback turned into a ticket; who may reach what."""
import io
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.kb import service
from helpdesk.kb.models import CUSTOMERS, INTERNAL, NEWS, KBArticle, KBVote
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import NewAttachment
from tests.conftest import csrf_token, log_in

# The web door's behaviour; the services it calls are tested on both databases in the domain tests.
pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def editor(make_user):
    return service.set_editor(SYSTEM, make_user("agent", email="editor@example.test", full_name="Edna Editor"), True)


@pytest.fixture
def folder(editor):
    return service.create_folder(editor, title="Printers", description="Everything about printers")


@pytest.fixture
def toner(editor, folder):
    return service.create_article(editor, folder=folder, language="en", title="Replacing the toner",
                                  body="Open the **front** cover and pull the cartridge.", tags="toner, laser",
                                  publish=True)


def text(response):
    return unescape(response.get_data(as_text=True))


def test_guest_browses_folders_to_an_article_with_breadcrumbs_and_related_articles(client, editor, folder, toner):
    child = service.create_folder(editor, title="Laser printers", parent=folder)
    related = service.create_article(editor, folder=child, language="en", title="Laser safety", body="Careful.",
                                     tags="laser", publish=True)

    index = text(client.get("/kb/"))
    assert "Printers" in index and "Laser printers" in index and "Replacing the toner" in index
    folder_page = text(client.get(f"/kb/folders/{child.id}"))
    assert "Laser safety" in folder_page and 'href="/kb/folders/%d"' % folder.id in folder_page
    page = text(client.get(f"/kb/articles/{toner.id}"))
    assert "<strong>front</strong>" in page
    assert re.search(r'class="kb-breadcrumbs".*Knowledge base.*Printers.*Replacing the toner', page, re.S)
    assert f'href="/kb/articles/{related.id}"' in page.split("Related articles")[1]
    assert "Replacing the toner" in text(client.get("/kb/all"))


def test_search_page_highlights_the_words_found(client, toner):
    page = text(client.get("/kb/search?q=cartridges"))

    assert f'href="/kb/articles/{toner.id}"' in page
    assert re.search(r"<mark[^>]*>cartridge</mark>", page)
    assert "No articles match" in text(client.get("/kb/search?q=unicorn"))


def test_a_title_found_by_its_body_is_shown_as_text_not_markup(client, editor, folder):
    service.create_article(editor, folder=folder, language="en", title="Reset <b>now</b><script>x()</script>",
                           body="How to reset the fuser unit.", publish=True)

    page = client.get("/kb/search?q=fuser").get_data(as_text=True)

    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()" not in page and "<b>now</b>" not in page


def test_only_an_article_with_a_video_may_frame_the_allowed_players(client, editor, folder, toner):
    with_video = service.create_article(editor, folder=folder, language="en", title="Video guide", body="Watch.",
                                        video_url="https://player.vimeo.com/video/123", publish=True)

    plain = client.get(f"/kb/articles/{toner.id}")
    framed = client.get(f"/kb/articles/{with_video.id}")

    assert "frame-src" not in plain.headers["Content-Security-Policy"]
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com;" in \
        framed.headers["Content-Security-Policy"]
    assert '<iframe src="https://player.vimeo.com/video/123"' in text(framed)


def test_an_uploaded_video_is_served_with_its_type_and_never_sniffed(client, editor, folder):
    item = service.create_article(editor, folder=folder, language="en", title="Clip", body="See the clip.",
                                  video=NewAttachment("unboxing.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42"),
                                  publish=True)

    response = client.get(f"/kb/articles/{item.id}/video")

    assert response.status_code == 200
    assert response.mimetype == "video/mp4"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "inline; filename=unboxing.mp4"


def vote(client, article_id, helpful):
    page = client.get(f"/kb/articles/{article_id}").text
    return client.post(f"/kb/articles/{article_id}/vote", data={"csrf_token": csrf_token(page), "helpful": helpful},
                       follow_redirects=True)


def votes():
    db.session.rollback()
    return db.session.scalars(sa.select(KBVote).order_by(KBVote.id)).all()


def test_guest_votes_no_sends_feedback_and_may_change_the_vote(client, toner):
    page = text(vote(client, toner.id, "no"))
    assert "Sorry we couldn't help" in page

    form = client.get(f"/kb/articles/{toner.id}").text
    sent = client.post(f"/kb/articles/{toner.id}/feedback", follow_redirects=True,
                       data={"csrf_token": csrf_token(form), "comment": "Which toner fits?", "email": ""})
    assert "Feedback sent" in text(sent)
    assert [(v.helpful, v.comment) for v in votes()] == [(False, "Which toner fits?")]

    assert "That's great! Thank you for the feedback." in text(vote(client, toner.id, "yes"))
    assert [(v.helpful, v.reader.startswith("anon:")) for v in votes()] == [(True, True)]


def test_each_guest_browser_has_its_own_vote(app, client, toner):
    vote(client, toner.id, "yes")
    other = app.test_client()
    vote(other, toner.id, "no")
    vote(other, toner.id, "no")

    assert sorted(v.helpful for v in votes()) == [False, True]


def test_feedback_without_a_comment_is_answered_beside_the_field(client, toner):
    vote(client, toner.id, "no")
    form = client.get(f"/kb/articles/{toner.id}").text
    response = client.post(f"/kb/articles/{toner.id}/feedback",
                           data={"csrf_token": csrf_token(form), "comment": " ", "email": "nope"})

    assert response.status_code == 400
    assert "Tell us what was missing." in text(response) and "Enter a valid email address." in text(response)


def test_customers_vote_by_account(client, customer, toner):
    log_in(client, customer.email)
    vote(client, toner.id, "yes")

    assert [v.reader for v in votes()] == [f"user:{customer.id}"]


def test_drafts_customers_only_and_internal_articles_stay_where_they_belong(client, editor, agent, customer,
                                                                           folder):
    draft = service.create_article(editor, folder=folder, language="en", title="Secret draft", body="Soon.")
    members = service.create_folder(editor, title="Members", visibility=CUSTOMERS)
    member_article = service.create_article(editor, folder=members, language="en", title="Member perks",
                                            body="Perks.", publish=True)
    staff = service.create_folder(editor, title="Runbooks", visibility=INTERNAL)
    internal = service.create_article(editor, folder=staff, language="en", title="Runbook", body="Steps.",
                                      publish=True)

    assert client.get(f"/kb/articles/{draft.id}").status_code == 404
    assert client.get(f"/kb/articles/{member_article.id}").status_code == 404
    log_in(client, customer.email)
    assert client.get(f"/kb/articles/{member_article.id}").status_code == 200
    assert client.get(f"/kb/articles/{draft.id}").status_code == 404
    assert client.get(f"/kb/articles/{internal.id}").status_code == 404
    assert "Runbook" not in text(client.get("/kb/")) and "Secret draft" not in text(client.get("/kb/all"))
    assert client.get(f"/agent/kb/articles/{internal.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})

    log_in(client, agent.email)
    assert client.get(f"/kb/articles/{internal.id}").status_code == 404  # outside the console
    assert client.get(f"/agent/kb/articles/{internal.id}").status_code == 200
    assert "Runbook" in text(client.get("/agent/kb/"))
    assert client.get(f"/agent/kb/articles/{draft.id}").status_code == 404  # drafts are the editors'
    assert client.get("/agent/kb/articles/new").status_code == 403


def test_editor_writes_publishes_translates_and_restores_an_article(client, editor, folder, customer):
    log_in(client, editor.email)
    form = client.get("/agent/kb/articles/new").text
    created = client.post("/agent/kb/articles/new", follow_redirects=True, data={
        "csrf_token": csrf_token(form), "language": "en", "title": "Resetting the router",
        "body": "Hold the button <script>alert(1)</script> for 10 s.", "body_format": "markdown",
        "folder": str(folder.id), "tags": "router", "product": "R500", "video_url": "",
        "video": (io.BytesIO(b""), ""),
    })
    assert created.status_code == 200 and "Draft" in text(created)
    db.session.rollback()
    item = db.session.scalar(sa.select(KBArticle))
    body = client.get(f"/agent/kb/articles/{item.id}").text.split('class="kb-body"')[1].split("</div>")[0]
    assert "<script>" not in body and "Hold the button" in body

    page = client.get(f"/agent/kb/articles/{item.id}").text
    client.post(f"/agent/kb/articles/{item.id}/publish", data={"csrf_token": csrf_token(page)})
    edit = client.get(f"/agent/kb/articles/{item.id}/edit?lang=de").text
    client.post(f"/agent/kb/articles/{item.id}/edit", data={
        "csrf_token": csrf_token(edit), "language": "de", "title": "Den Router zurücksetzen",
        "body": "Halten Sie die Taste gedrückt.", "body_format": "markdown", "folder": str(folder.id),
        "tags": "router", "product": "R500", "video_url": "",
    })
    page = client.get(f"/agent/kb/articles/{item.id}/revisions/1").text
    assert "Resetting the router" in unescape(page)
    client.post(f"/agent/kb/articles/{item.id}/revisions/1/restore", data={"csrf_token": csrf_token(page)})
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").text)})

    db.session.rollback()
    article = db.session.get(KBArticle, item.id)
    assert article.is_published and article.languages == ["en"]
    assert [r.number for r in article.revisions] == [3, 2, 1]
    assert "Resetting the router" in text(client.get(f"/kb/articles/{item.id}"))


def test_editor_sees_feedback_by_most_unhelpful_and_turns_a_comment_into_a_ticket(app, client, editor, folder,
                                                                                   toner, smtp):
    other = service.create_article(editor, folder=folder, language="en", title="Paper jams", body="Pull.",
                                   publish=True)
    service.vote(None, other, reader=service.reader_key(None, "a" * 20), helpful=True)
    service.vote(None, toner, reader=service.reader_key(None, "b" * 20), helpful=False)
    feedback = service.send_feedback(None, toner, reader=service.reader_key(None, "c" * 20),
                                     comment="Which toner fits?", email="gina@guest.example")

    log_in(client, editor.email)
    summary = text(client.get("/agent/kb/feedback"))
    assert summary.index("Replacing the toner") < summary.index("Paper jams")
    assert re.search(r"Replacing the toner</a></td>\s*<td>2</td><td>0</td>", summary)
    comments = client.get(f"/agent/kb/feedback/{toner.id}").text
    assert "Which toner fits?" in comments
    opened = client.post(f"/agent/kb/feedback/votes/{feedback.id}/ticket",
                         data={"csrf_token": csrf_token(comments)}, follow_redirects=True)

    assert opened.status_code == 200
    db.session.rollback()
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket.requester.email == "gina@guest.example"
    assert f"#{ticket.number}" in text(opened)


def test_portal_start_page_shows_latest_news(client, editor):
    news = service.create_folder(editor, title="News", kind=NEWS)
    service.create_article(editor, folder=news, language="en", title="New opening hours", body="From Monday.",
                           publish=True)

    page = text(client.get("/"))

    assert "Latest news" in page and "New opening hours" in page


def test_ticket_form_offers_matching_articles(client, toner):
    page = text(client.get("/tickets/new"))
    assert 'data-suggest-url="/kb/suggest"' in page and "js/kb_suggest.js" in page

    found = client.get("/kb/suggest?q=toner cartridge").get_json()

    assert found["articles"][0]["title"] == "Replacing the toner"
    assert found["articles"][0]["url"] == f"/kb/articles/{toner.id}"
    assert client.get("/kb/suggest?q=zz").get_json() == {"articles": []}


def test_german_reader_gets_the_german_text_and_english_where_there_is_none(client, editor, folder, toner):
    service.update_article(editor, toner, language="de", title="Toner wechseln", body="Öffnen Sie die Klappe.")
    client.post("/language/de", data={"csrf_token": csrf_token(client.get("/").text), "next": "/"})

    assert "Toner wechseln" in text(client.get(f"/kb/articles/{toner.id}"))
    hits = client.get("/kb/suggest?q=Klappen").get_json()["articles"]
    assert [h["title"] for h in hits] == ["Toner wechseln"]


def test_an_editor_uploads_a_video_through_the_form_and_readers_get_it_back_whole(client, editor, folder, app):
    # The upload is stored from the request's own spooled file, in pieces (a video may be large), and served back
    # streamed with its length; one over KB_VIDEO_MAX_BYTES is refused with the field's error.
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4096  # about 1 MB: spooled to disk by the server
    app.config["MAX_CONTENT_LENGTH"] = 100_000  # other forms' limit: an article's form may carry a whole video
    log_in(client, editor.email)
    form = client.get("/agent/kb/articles/new").text

    saved = client.post("/agent/kb/articles/new", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(form), "language": "en", "title": "Unboxing", "body": "Watch it.",
        "body_format": "markdown", "folder": str(folder.id), "publish": "y",
        "video": (io.BytesIO(video), "unboxing.mp4", "video/mp4")})
    assert saved.status_code == 302, saved.text
    item = db.session.scalar(sa.select(KBArticle).where(KBArticle.video_key.is_not(None)))
    served = client.get(f"/kb/articles/{item.id}/video")
    assert served.status_code == 200 and served.data == video
    assert served.headers["Content-Length"] == str(len(video))

    app.config["KB_VIDEO_MAX_BYTES"] = len(video) - 1
    refused = client.post("/agent/kb/articles/new", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(form), "language": "en", "title": "Too long", "body": "Watch it.",
        "body_format": "markdown", "folder": str(folder.id),
        "video": (io.BytesIO(video), "long.mp4", "video/mp4")})
    assert refused.status_code == 400 and "The video is too large." in text(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(KBArticle)) == 1
