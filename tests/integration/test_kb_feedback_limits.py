""""Was this helpful?" votes and feedback are limited per client address, together and across articles
(KB_FEEDBACK_RATE_LIMIT): a script cannot fill the feedback inbox; other readers and reading are unaffected."""
import pytest
import sqlalchemy as sa

from helpdesk.actors import SYSTEM
from helpdesk.extensions import db
from helpdesk.kb import service
from helpdesk.kb.models import KBVote
from tests.conftest import csrf_token


@pytest.fixture
def editor(make_user):
    return service.set_editor(SYSTEM, make_user("agent", email="editor@example.test", full_name="Edna Editor"), True)


@pytest.fixture
def articles(editor):
    folder = service.create_folder(editor, title="Printers")
    return [service.create_article(editor, folder=folder, language="en", title=f"Article {n}", body="Text.",
                                   publish=True) for n in range(2)]


@pytest.fixture
def limited(app):
    app.config["KB_FEEDBACK_RATE_LIMIT"] = "3 per minute"


def _post(client, article, what, address="192.0.2.1"):
    page = client.get(f"/kb/articles/{article.id}", environ_base={"REMOTE_ADDR": address}).text
    data = {"csrf_token": csrf_token(page)}
    if what == "vote":
        data["helpful"] = "no"
    else:
        data.update(comment="It did not help.", email="")
    return client.post(f"/kb/articles/{article.id}/{what}", data=data, environ_base={"REMOTE_ADDR": address})


def _votes():
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(KBVote))


def test_the_default_limit_is_configured(app):
    from limits import parse_many

    assert parse_many(app.config["KB_FEEDBACK_RATE_LIMIT"])


@pytest.mark.parametrize("what", ["vote", "feedback"])
def test_too_many_posts_from_one_address_are_refused(client, articles, limited, what):
    answers = [_post(client, articles[0], what).status_code for _ in range(4)]

    assert answers[:3] == [302] * 3
    assert answers[3] == 429


def test_votes_and_feedback_share_one_limit_across_articles(client, articles, limited):
    assert _post(client, articles[0], "vote").status_code == 302
    assert _post(client, articles[1], "vote").status_code == 302
    assert _post(client, articles[0], "feedback").status_code == 302

    refused = _post(client, articles[1], "feedback")

    assert refused.status_code == 429
    assert "Too many attempts" in refused.text


def test_a_refused_post_changes_nothing(app, client, articles, limited):
    for _ in range(3):
        _post(client, articles[0], "vote")
    before = _votes()

    assert _post(client, articles[1], "vote").status_code == 429
    assert _votes() == before


def test_another_address_and_reading_are_not_limited(client, articles, limited):
    for _ in range(3):
        _post(client, articles[0], "vote")

    assert _post(client, articles[0], "vote", address="198.51.100.7").status_code == 302
    assert client.get(f"/kb/articles/{articles[0].id}").status_code == 200
