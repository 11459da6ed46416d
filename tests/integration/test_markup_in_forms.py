"""Markup typed into any form field comes back escaped, never as a tag: the walk fetches every page of the portal,
the console, the administration and the KB editor as the person who uses it, finds every form on it, and posts
markup into every field (all at once, then one field at a time with the others valid), following the redirect
to the page that shows the flash. Translated messages with values put in them were written raw (issue 12)."""
import io
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from helpdesk.accounts import service as accounts
from helpdesk.actors import SYSTEM
from helpdesk.kb import service as kb
from helpdesk.tickets import canned, customers, service
from tests.conftest import log_in

PAYLOADS = [
    '<a href="https://evil.example/">x</a>',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "<iframe src=https://evil.example/></iframe>",
    "<b onmouseover=alert(1)>bold</b>",
    "x@<img src=x onerror=alert(2)>.example",
]
COMBINED = '<a href="https://evil.example/">x</a>"><img src=x onerror=alert(3)><script>alert(3)</script>'
# A file name keeps no folders, so these payloads have no slash; the extension gets them refused with the name.
FILE_PAYLOADS = ['"><img src=x onerror=alert(4)>.vbs', "<svg onload=alert(5)>.exe", "<b onclick=alert(6)>.txt"]
RAW_MARKERS = [*PAYLOADS, COMBINED, *FILE_PAYLOADS, "<script>alert", "<img src=x onerror", "<svg onload",
               "<iframe src=https://evil", "<b onmouseover", "<b onclick"]
# Forms that end the session or change its language: posting them would end the walk, not test escaping.
SKIPPED_ACTIONS = ("/logout", "/log-out-everywhere", "/language/", "/login")
TEXT_DEFAULTS = {"email": "walker{n}@example.test", "requester_email": "walker{n}@example.test",
                 "cc_addresses": "walker{n}@example.test", "actor": "", "target": "", "since": "2026-01-05",
                 "until": "2026-01-06", "body_format": "markdown", "video_url": "", "server_ip": "",
                 "problem_started": "", "inbound_address": "", "reply_from_address": "", "organisation": "",
                 "phone": "", "customer_number": "", "reference": ""}


@pytest.fixture
def backend():
    """Escaping does not depend on the database: this walk runs on SQLite only."""
    return "sqlite"


class Forms(HTMLParser):
    """The forms of a page: action, method, enctype and fields (name, kind, value, options)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "multipart": "multipart" in a.get("enctype", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None or ("name" not in a and tag in ("input", "textarea", "select")):
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "reset", "image"):
            if a.get("type") in ("checkbox", "radio") and any(f["name"] == a["name"] for f in self._form["fields"]):
                return
            self._form["fields"].append({"name": a["name"], "kind": a.get("type", "text"), "value": a.get("value", "")})
        elif tag == "textarea":
            self._textarea = {"name": a["name"], "kind": "textarea", "value": ""}
            self._form["fields"].append(self._textarea)
        elif tag == "select":
            self._select = {"name": a["name"], "kind": "select", "value": None, "options": []}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a or self._select["value"] is None:
                self._select["value"] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(page):
    parser = Forms()
    parser.feed(page)
    return [f for f in parser.forms if not any(s in f["action"] for s in SKIPPED_ACTIONS)]


def fillable(field):
    return field["name"] != "csrf_token" and field["kind"] not in ("checkbox", "radio", "file")


def valid_value(field, counter):
    if field["name"] in TEXT_DEFAULTS:
        return TEXT_DEFAULTS[field["name"]].format(n=next(counter))
    if field["kind"] in ("checkbox", "radio", "select"):
        return field["value"] or "y"
    return field["value"] or "Walker test value"


def form_data(form, counter, payload=None, only=None):
    """Valid values everywhere, ``payload`` in field ``only`` (or in every fillable field when only is None)."""
    data = {}
    for field in form["fields"]:
        if field["kind"] == "file":
            data[field["name"]] = [(io.BytesIO(b"MsgBox 1"), name) for name in FILE_PAYLOADS]
        elif payload is not None and fillable(field) and only in (None, field["name"]):
            data[field["name"]] = payload
        else:
            data[field["name"]] = valid_value(field, counter)
    return data


def assert_escaped(response, where):
    text = response.get_data(as_text=True)
    assert response.status_code < 500, where
    for marker in RAW_MARKERS:
        assert marker not in text, f"raw {marker!r} in the answer to {where}"


def submit(client, page_path, form, data, where):
    action = form["action"] or page_path
    if form["method"] == "get":
        response = client.get(urlsplit(action).path, query_string=data, follow_redirects=True)
    else:
        response = client.post(action, data=data, follow_redirects=True,
                               content_type="multipart/form-data" if form["multipart"] else None)
    assert_escaped(response, where)
    # The page after it too: a flash shows on the next page that renders when the answer was not a page.
    assert_escaped(client.get(page_path), f"{where}, then {page_path}")


def walk(client, paths):
    """Post every payload into every field of every form of ``paths``; returns how many forms were walked."""
    counter = iter(range(1, 1_000_000))
    walked = set()
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        for index, form in enumerate(forms_of(page.get_data(as_text=True))):
            walked.add(form["action"] or path)
            for payload in PAYLOADS:
                submit(client, path, form, form_data(form, counter, payload), f"{path} form {index} {payload!r}")
            for field in [f for f in form["fields"] if fillable(f) or f["kind"] == "select"]:
                fresh = forms_of(client.get(path).get_data(as_text=True))
                current = next((f for f in fresh if f["action"] == form["action"]), form)
                submit(client, path, current, form_data(current, counter, COMBINED, only=field["name"]),
                       f"{path} form {index} field {field['name']}")
    return walked


@pytest.fixture
def world(app, customer, agent, department, make_user):
    """A ticket with a CC, an organisation, a canned response, a KB folder and article, an admin and an editor."""
    ticket = service.open_ticket(customer, subject="Printer on fire", body_text="It smokes.",
                                 department=department.id, cc=["boss@example.test"], acknowledge=False)
    organisation = accounts.create_organisation(SYSTEM, name="Acme Ltd", customer_number="C-1")
    customers.set_organisation(agent, ticket, organisation)
    admin = make_user("admin", email="admin@example.test", full_name="Ada Admin")
    kb.set_editor(SYSTEM, admin, True)
    kb.set_editor(SYSTEM, agent, True)
    response = canned.create_response(admin, title="Greeting", body="Hello {customer_name}")
    folder = kb.create_folder(admin, title="Printers")
    article = kb.create_article(admin, folder=folder, language="en", title="Toner", body="Shake it.", publish=True)
    return {"ticket": ticket, "admin": admin, "canned": response, "folder": folder, "article": article,
            "organisation": organisation}


def test_markup_in_public_forms_comes_back_escaped(client, world):
    walked = walk(client, ["/tickets/new", "/register", "/forgot-password", f"/kb/articles/{world['article'].id}",
                           "/kb/search"])
    assert {"/tickets/new", "/register", "/forgot-password"} <= walked


def test_markup_in_the_customers_forms_comes_back_escaped(client, world):
    log_in(client, "carla@example.test")
    number = world["ticket"].number
    walked = walk(client, [f"/tickets/{number}", "/profile", "/tickets/new"])
    assert {f"/tickets/{number}/reply", f"/tickets/{number}/cc", f"/tickets/{number}/cc/remove",
            f"/tickets/{number}/edit", "/profile"} <= walked


def test_markup_in_the_agents_forms_comes_back_escaped(client, world):
    log_in(client, "agent@example.test")
    number = world["ticket"].number
    walked = walk(client, [f"/agent/tickets/{number}", "/agent/", "/agent/search"])
    assert {f"/agent/tickets/{number}/{action}" for action in
            ("reply", "note", "details", "cc", "cc/remove", "merge", "requester", "organisation")} <= walked


def test_markup_in_the_administration_and_kb_editor_comes_back_escaped(client, world, agent, department):
    log_in(client, "admin@example.test")
    article, folder = world["article"].id, world["folder"].id
    walked = walk(client, [
        "/agent/admin/agents/new", f"/agent/admin/agents/{agent.id}", "/agent/admin/departments/new",
        f"/agent/admin/departments/{department.id}", "/agent/admin/audit", "/agent/admin/canned-responses/new",
        f"/agent/admin/canned-responses/{world['canned'].id}", "/agent/admin/sla/", "/agent/kb/articles/new",
        f"/agent/kb/articles/{article}/edit", f"/agent/kb/articles/{article}", "/agent/kb/folders/new",
        f"/agent/kb/folders/{folder}/edit"])
    assert {"/agent/admin/agents/new", "/agent/admin/departments/new", "/agent/kb/articles/new",
            "/agent/admin/canned-responses/new"} <= walked


@pytest.mark.parametrize("payload", PAYLOADS)
def test_names_people_gave_themselves_are_escaped_on_the_agents_ticket_page(client, world, agent, payload):
    ticket, organisation = world["ticket"], world["organisation"]
    organisation.name = payload
    agent.full_name = payload
    world["admin"].full_name = payload
    from helpdesk.extensions import db

    db.session.commit()
    service.add_agent_reply(agent, ticket, body_text="On it.")
    log_in(client, "admin@example.test")
    assert_escaped(client.get(f"/agent/tickets/{ticket.number}"), "the agent's ticket page")
    assert_escaped(client.get("/agent/admin/agents"), "the agents list")
    assert_escaped(client.get(f"/agent/tickets/{ticket.number}/history"), "the ticket history")
