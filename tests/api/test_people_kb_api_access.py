"""Who may do what through the people and KB endpoints: every operation the document tags "people" or "kb" is in
TABLE (the first test walks the document and fails on one that is missing). A customer's token gets 403 from the
staff lists and 404 for staff-only records, another account's records and articles it may not read; a token
without the operation's scope gets 403; and nothing a refused request asked for happens."""
import pytest

from helpdesk.accounts import memberships
from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.kb import service as kb
from helpdesk.kb.models import INTERNAL, PUBLIC
from tests.api.conftest import problem_of

pytestmark = pytest.mark.backends("sqlite")

# (method, path as the document names it, the scope it needs, its body, what customer A's token gets).
# Path parameters: {customer_id} a customer (B), {organisation_id}, {account_id} B's account, {user_id} B,
# {article_id} a draft (or where named, "internal": an article in an internal folder).
TABLE = [
    ("GET", "/api/v1/customers", "customers:read", None, 403),
    ("POST", "/api/v1/customers", "customers:write", {"email": "new@example.test", "full_name": "New"}, 403),
    ("GET", "/api/v1/customers/{customer_id}", "customers:read", None, 404),
    ("PATCH", "/api/v1/customers/{customer_id}", "customers:write", {"full_name": "Taken Over"}, 404),
    ("GET", "/api/v1/organisations", "customers:read", None, 403),
    ("GET", "/api/v1/organisations/{organisation_id}", "customers:read", None, 404),
    ("GET", "/api/v1/departments", "customers:read", None, 403),
    ("GET", "/api/v1/agents", "customers:read", None, 403),
    ("GET", "/api/v1/accounts", "customers:read", None, 200),  # their own accounts only: see below
    ("GET", "/api/v1/accounts/{account_id}", "customers:read", None, 404),
    ("GET", "/api/v1/accounts/{account_id}/members", "customers:read", None, 404),
    ("POST", "/api/v1/accounts/{account_id}/members", "customers:write",
     {"email": "carla@example.test", "permissions": ["tickets"]}, 404),
    ("DELETE", "/api/v1/accounts/{account_id}/members/{user_id}", "customers:write", None, 404),
    ("GET", "/api/v1/kb/folders", "kb:read", None, 200),  # without the internal folder: see below
    ("GET", "/api/v1/kb/articles", "kb:read", None, 200),  # without drafts and internal articles
    ("GET", "/api/v1/kb/articles/{article_id}", "kb:read", None, 404),
    ("GET", "/api/v1/kb/articles/internal", "kb:read", None, 404),
    ("POST", "/api/v1/kb/articles", "kb:write", {"folder": "{folder_id}", "title": "Mine", "body": "Text"}, 403),
    ("PATCH", "/api/v1/kb/articles/{article_id}", "kb:write", {"title": "Defaced"}, 404),
    ("PATCH", "/api/v1/kb/articles/published", "kb:write", {"title": "Defaced"}, 403),
    ("POST", "/api/v1/kb/articles/{article_id}/publish", "kb:write", None, 404),
    ("POST", "/api/v1/kb/articles/published/unpublish", "kb:write", None, 403),
]
TAGS = ("people", "kb")
ROW_IDS = [f"{method} {path}" for method, path, *_ in TABLE]


def _document_path(path):
    """The document's path of a TABLE row (the named articles are {article_id})."""
    return path.replace("/internal", "/{article_id}").replace("/published", "/{article_id}")


def test_the_table_names_every_people_and_kb_operation(api_client):
    document = api_client.get("/api/v1/openapi.json").get_json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method, operation
                  in item.items() if isinstance(operation, dict) and set(operation.get("tags", ())) & set(TAGS)}
    covered = {(method, _document_path(path)) for method, path, *_ in TABLE}
    assert operations, "the document lists no people or kb operation"
    assert operations - covered == set(), "add these operations to TABLE"
    assert covered - operations == set(), "TABLE names operations the document does not have"


@pytest.fixture
def world(customer, make_user):
    """Customer A (``customer``), customer B with their own account, an organisation, and articles: a published
    one and a draft in a public folder, one in an internal folder."""
    editor = kb.set_editor(SYSTEM, make_user("agent", email="editor@example.test"), True)
    public = kb.create_folder(editor, title="Printers", visibility=PUBLIC)
    internal = kb.create_folder(editor, title="Staff notes", visibility=INTERNAL)
    published = kb.create_article(editor, folder=public, language="en", title="Toner", body="Open.", publish=True)
    draft = kb.create_article(editor, folder=public, language="en", title="Draft", body="Not yet.")
    hidden = kb.create_article(editor, folder=internal, language="en", title="Staff", body="Inside.", publish=True)
    bob = make_user("customer", email="bob@example.test", full_name="Bob Other")
    organisation = accounts.create_organisation(SYSTEM, name="Globex")
    values = {"customer_id": bob.id, "organisation_id": organisation.id,
              "account_id": memberships.default_account_id(bob), "user_id": bob.id, "article_id": draft.id,
              "folder_id": public.id}
    return {"values": values, "published": published.id, "internal": hidden.id, "draft": draft.id,
            "mine": memberships.default_account_id(customer), "bob": bob.id, "staff_folder": internal.id}


# What a customer's list must leave out, by path.
NOT_LISTED = {"/api/v1/accounts": lambda world: {world["values"]["account_id"]},
              "/api/v1/kb/folders": lambda world: {world["staff_folder"]},
              "/api/v1/kb/articles": lambda world: {world["draft"], world["internal"]}}


def _request(client, world, method, path, body):
    values = world["values"]
    url = path.replace("/internal", f"/{world['internal']}").replace("/published", f"/{world['published']}")
    url = url.format(**values)
    if isinstance(body, dict):
        body = {name: int(value.format(**values)) if isinstance(value, str) and value.startswith("{") else value
                for name, value in body.items()}
    return client.open(url, method=method, json=body)


def _state(world):
    """What a refused request must not change: B's login and membership, customers, articles' status and title."""
    import sqlalchemy as sa

    from helpdesk.accounts.models import Membership, User
    from helpdesk.extensions import db
    from helpdesk.kb.models import KBArticle, KBTranslation

    db.session.commit()  # a new snapshot: what the requests wrote
    return (db.session.execute(sa.select(User.id, User.full_name).order_by(User.id)).all(),
            db.session.execute(sa.select(Membership.account_id, Membership.user_id).order_by(Membership.id)).all(),
            db.session.execute(sa.select(KBArticle.id, KBArticle.status).order_by(KBArticle.id)).all(),
            db.session.execute(sa.select(KBTranslation.article_id, KBTranslation.title)
                               .order_by(KBTranslation.id)).all())


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), TABLE, ids=ROW_IDS)
def test_a_customer_s_token_reaches_only_their_own(as_user, customer, world, method, path, scope, body, expected):
    before = _state(world)
    client = as_user(customer)  # every scope: what refuses is who they are
    response = _request(client, world, method, path, body)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        assert problem_of(response)["status"] == expected
    else:
        listed = {item["id"] for item in response.get_json()["items"]}
        assert listed and not listed & NOT_LISTED[path](world)
    assert _state(world) == before


def test_a_customer_lists_only_their_own_accounts_and_readable_kb(as_user, customer, world):
    client = as_user(customer, ["customers:read", "kb:read"])
    assert [a["id"] for a in client.get("/api/v1/accounts").get_json()["items"]] == [world["mine"]]
    assert [a["id"] for a in client.get("/api/v1/kb/articles").get_json()["items"]] == [world["published"]]
    assert [f["title"] for f in client.get("/api/v1/kb/folders").get_json()["items"]] == ["Printers"]
    assert client.get(f"/api/v1/kb/articles/{world['published']}").status_code == 200


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), TABLE, ids=ROW_IDS)
def test_a_token_without_the_scope_is_refused(as_user, make_user, world, method, path, scope, body, expected):
    admin = make_user("admin")
    before = _state(world)
    others = [name for name in ("customers:read", "customers:write", "kb:read", "kb:write", "tickets:read")
              if name != scope]
    response = _request(as_user(admin, others), world, method, path, body)
    assert response.status_code == 403
    assert problem_of(response)["type"].endswith("insufficient-scope")
    assert _state(world) == before


def test_another_account_s_member_who_manages_theirs_gets_nothing_of_b_s(as_user, customer, world):
    """Customer A manages members of their own account: B's account still answers 404, and A's own works."""
    client = as_user(customer, ["customers:read", "customers:write"])
    bob_account, bob = world["values"]["account_id"], world["bob"]
    assert client.get(f"/api/v1/accounts/{world['mine']}/members").status_code == 200
    assert client.get(f"/api/v1/accounts/{bob_account}/members").status_code == 404
    assert client.delete(f"/api/v1/accounts/{world['mine']}/members/{bob}").status_code == 404  # not a member
    assert client.get("/api/v1/accounts/999999").status_code == 404
