"""The browsable API reference at /api/v1/docs (issue 20): drawn from the app's own OpenAPI document, so every tag,
operation and schema the document holds is on the page, after an introduction to what every endpoint shares."""
import re
from html import unescape

import pytest

from tests.conftest import log_in

pytestmark = pytest.mark.backends("sqlite")

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def reference(client):
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"  # not the catch-all's problem details
    return unescape(answer.get_data(as_text=True))


def article(page, method, path) -> str:
    """The part of the page about one operation."""
    heading = re.search(rf'<h3 id="[^"]+"><code dir="ltr">{method.upper()} {re.escape(path)}</code></h3>', page)
    assert heading, f"{method.upper()} {path} is not on the page"
    return page[heading.start():page.index("</article>", heading.start())]


def test_every_tag_operation_and_schema_of_the_document_is_on_the_page(document, reference):
    assert document["paths"], "the document has operations"
    for tag in document["tags"]:
        assert f'id="tag-{tag["name"]}"' in reference
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            part = article(reference, method, path)
            assert f"{method.upper()} {path}" in part
            if operation.get("summary"):
                assert operation["summary"] in part
            for status in operation["responses"]:
                assert f'<code dir="ltr">{status}</code>' in part, f"{method} {path} answers {status}"
            for requirement in operation.get("security", ()):
                for scope in requirement.get("bearerAuth", ()):
                    assert f'<code dir="ltr">{scope}</code>' in part
            for parameter in operation.get("parameters", ()):
                assert f'<code dir="ltr">{parameter["name"]}</code>' in part
    assert 'id="schema-Problem"' in reference and 'id="schema-Me"' in reference
    assert 'id="schema-PaginationMetadata"' not in reference  # the library's own, used by no operation


def test_an_operation_lists_the_fields_of_its_request_body(document, reference):
    schemas = document["components"]["schemas"]
    with_bodies = [(path, method, operation) for path, item in document["paths"].items() for method in METHODS
                   if (operation := item.get(method)) and "application/json" in
                   operation.get("requestBody", {}).get("content", {})]
    if not with_bodies:
        pytest.skip("no operation takes a JSON body yet")
    for path, method, operation in with_bodies:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        part = article(reference, method, path)
        for name in schema.get("properties", {}):
            assert f'<code dir="ltr">{name}</code>' in part, f"{method} {path}: {name}"


def test_the_introduction_explains_what_every_endpoint_shares(reference):
    for words in ("Authorization: Bearer hd_", "application/problem+json", "Idempotency-Key",
                  "Idempotent-Replayed: true", "If-Match", "412 Precondition Failed", "next_cursor", "?after=",
                  "RateLimit-Policy", "Retry-After", "webhook-signature", "HMAC-SHA256"):
        assert words in reference, words
    assert 'href="/api/v1/openapi.json"' in reference
    assert 'href="/profile/api-tokens"' in reference  # where tokens are made


def test_the_page_runs_no_outside_script(client):
    answer = client.get("/api/v1/docs")
    page = answer.get_data(as_text=True)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    for source in re.findall(r'<script[^>]*src="([^"]+)"', page):
        assert source.startswith(("/static/", "/chat/")), source  # ours: the app's files and the chat panel
    assert not re.search(r"<script(?![^>]*src=)[^>]*>", page)  # nothing inline either


def test_the_page_speaks_the_reader_s_language(client, customer):
    from helpdesk.accounts import service as accounts

    accounts.update_profile(customer, customer, locale="de")
    log_in(client, customer.email)
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert 'lang="de"' in page and "Abmelden" in page  # the logged-in reader's language, like every page


def test_unknown_paths_under_the_api_are_still_problems(client):
    answer = client.get("/api/v1/docs/nothing")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_every_schema_lists_its_fields_with_links_to_the_schemas_they_hold(document, reference):
    schemas = document["components"]["schemas"]
    for name in ("Me", "TokenInfo", "Problem", "FieldError"):
        start = reference.index(f'<h3 id="schema-{name}">')
        part = reference[start:reference.index("</article>", start)]
        for field in schemas[name]["properties"]:
            assert f'<code dir="ltr">{field}</code>' in part, f"{name}.{field}"
    me = reference[reference.index('<h3 id="schema-Me">'):]
    assert '<a href="#schema-TokenInfo">TokenInfo</a>' in me[:me.index("</article>")]
    token_info = reference[reference.index('<h3 id="schema-TokenInfo">'):]
    assert "string (date-time)</code> or null" in token_info[:token_info.index("</article>")]  # expires_at
