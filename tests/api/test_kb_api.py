"""The knowledge base through the API: readers see what the portal (customers) or the console (staff) shows them,
editors write, publish and unpublish articles, and a stale ETag cannot overwrite another editor's change."""
import pytest

from helpdesk.actors import SYSTEM
from helpdesk.kb import service
from helpdesk.kb.models import CUSTOMERS, INTERNAL, PUBLIC
from tests.api.conftest import pointers, problem_of

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def editor(make_user):
    return service.set_editor(SYSTEM, make_user("agent", email="editor@example.test", full_name="Edna Editor"), True)


@pytest.fixture
def folders(app):
    return {visibility: service.create_folder(SYSTEM, title=f"{visibility.title()} folder", visibility=visibility)
            for visibility in (PUBLIC, CUSTOMERS, INTERNAL)}


def write(editor, folder, title="Replacing the toner", body="Open the **front** cover.", publish=True, **kw):
    return service.create_article(editor, folder=folder, language=kw.pop("language", "en"), title=title, body=body,
                                  publish=publish, **kw)


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_customers_read_the_portal_s_folders_and_staff_the_console_s(as_user, customer, agent, folders):
    assert {f["title"] for f in as_user(customer, ["kb:read"]).get("/api/v1/kb/folders").get_json()["items"]} == \
        {"Public folder", "Customers folder"}
    staff = as_user(agent, ["kb:read"]).get("/api/v1/kb/folders").get_json()["items"]
    assert {f["visibility"] for f in staff} == {PUBLIC, CUSTOMERS, INTERNAL}


def test_articles_are_listed_newest_first_in_keyset_pages_and_by_folder(as_user, customer, folders, editor):
    written = [write(editor, folders[PUBLIC], title=f"Article {n}").id for n in range(5)]
    internal = write(editor, folders[INTERNAL], title="For staff only").id
    client = as_user(customer, ["kb:read"])
    first = client.get("/api/v1/kb/articles?limit=2")
    assert ids(first) == written[:-3:-1]
    second = client.get(f"/api/v1/kb/articles?limit=2&after={first.get_json()['next_cursor']}")
    assert ids(second) == written[2:0:-1]
    back = client.get(f"/api/v1/kb/articles?limit=2&before={second.get_json()['prev_cursor']}")
    assert ids(back) == ids(first)
    assert internal not in ids(client.get("/api/v1/kb/articles?limit=100"))
    assert ids(client.get(f"/api/v1/kb/articles?folder={folders[INTERNAL].id}")) == []


def test_search_finds_readable_articles_through_the_kb_search(as_user, customer, agent, folders, editor):
    toner = write(editor, folders[PUBLIC], title="Replacing the toner", body="Open the front cover").id
    write(editor, folders[PUBLIC], title="Paper jams", body="Pull the tray")
    secret = write(editor, folders[INTERNAL], title="Toner supplier contracts", body="Our toner prices").id
    found = as_user(customer, ["kb:read"]).get("/api/v1/kb/articles?q=toner")
    assert ids(found) == [toner] and found.get_json()["next_cursor"] is None
    assert set(ids(as_user(agent, ["kb:read"]).get("/api/v1/kb/articles?q=toner"))) == {toner, secret}


def test_an_article_has_its_translations_rendered_safely_and_an_etag(as_user, customer, folders, editor):
    article = write(editor, folders[PUBLIC], body="Open the **front** cover.<script>alert(1)</script>")
    client = as_user(customer, ["kb:read"])
    response = client.get(f"/api/v1/kb/articles/{article.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Replacing the toner" and body["status"] == "published"
    html = body["translations"][0]["body_html"]
    assert "<strong>front</strong>" in html and "<script" not in html
    again = client.get(f"/api/v1/kb/articles/{article.id}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_an_editor_writes_a_draft_that_customers_see_once_published(api_client, token_for, editor, customer,
                                                                   folders):
    writer, reader = token_for(editor, ["kb:read", "kb:write"]), token_for(customer, ["kb:read"])

    def as_(token):
        api_client.token = token
        return api_client

    created = as_(writer).post("/api/v1/kb/articles", json={
        "folder": folders[PUBLIC].id, "title": "Resetting the router", "body": "Hold the button.",
        "tags": ["Router", "reset"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    article = created.get_json()
    assert article["status"] == "draft" and article["tags"] == ["router", "reset"]
    path = f"/api/v1/kb/articles/{article['id']}"
    assert as_(reader).get(path).status_code == 404
    published = as_(writer).post(f"{path}/publish")
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert as_(reader).get(path).get_json()["title"] == "Resetting the router"
    assert as_(writer).post(f"{path}/unpublish").get_json()["status"] == "draft"
    assert as_(reader).get(path).status_code == 404


def test_creating_an_article_twice_with_one_idempotency_key_writes_one(as_user, editor, folders):
    client = as_user(editor, ["kb:read", "kb:write"])
    request = {"folder": folders[PUBLIC].id, "title": "Once", "body": "Only once."}
    first = client.post("/api/v1/kb/articles", json=request, headers={"Idempotency-Key": "kb-1"})
    second = client.post("/api/v1/kb/articles", json=request, headers={"Idempotency-Key": "kb-1"})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(ids(client.get("/api/v1/kb/articles"))) == 1


def test_a_new_article_s_every_bad_field_is_listed(as_user, editor, folders):
    client = as_user(editor, ["kb:read", "kb:write"])
    response = client.post("/api/v1/kb/articles", json={"folder": 999999, "title": " ", "body": "x",
                                                         "language": "xx"})
    assert response.status_code == 422
    assert pointers(response) == {"#/folder", "#/title", "#/language"}
    wrong_types = client.post("/api/v1/kb/articles", json={"folder": "first", "body_format": "word"})
    assert wrong_types.status_code == 422
    assert pointers(wrong_types) == {"#/folder", "#/title", "#/body", "#/body_format"}


def test_a_stale_etag_cannot_overwrite_another_editor_s_change(as_user, editor, folders):
    article = write(editor, folders[PUBLIC])
    client = as_user(editor, ["kb:read", "kb:write"])
    tag = client.get(f"/api/v1/kb/articles/{article.id}").headers["ETag"]
    changed = client.patch(f"/api/v1/kb/articles/{article.id}", json={"title": "Replacing the toner cartridge"},
                           headers={"If-Match": tag})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert body["title"] == "Replacing the toner cartridge"
    assert body["translations"][0]["body"] == "Open the **front** cover."  # what was not sent stays
    stale = client.patch(f"/api/v1/kb/articles/{article.id}", json={"title": "Lost update"},
                         headers={"If-Match": tag})
    assert stale.status_code == 412 and problem_of(stale)["status"] == 412
    assert client.get(f"/api/v1/kb/articles/{article.id}").get_json()["title"] == "Replacing the toner cartridge"
    fresh = client.patch(f"/api/v1/kb/articles/{article.id}", json={"language": "de", "title": "Toner wechseln",
                                                                    "body": "Vorne öffnen."},
                         headers={"If-Match": changed.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.get_json()["languages"] == ["de", "en"]


def test_an_agent_who_is_no_editor_may_not_write(as_user, agent, folders):
    client = as_user(agent, ["kb:read", "kb:write"])
    response = client.post("/api/v1/kb/articles", json={"folder": folders[PUBLIC].id, "title": "Mine",
                                                         "body": "Text"})
    assert response.status_code == 403
    assert ids(client.get("/api/v1/kb/articles")) == []
