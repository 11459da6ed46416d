"""The webhook pages (issue 20) as admins and account owners use them: adding an endpoint shows its signing secret
once (never again, never cached), rotating shows a new one, mistakes are answered beside their fields, endpoints
are edited, disabled (with the reason when the desk disabled one), enabled and deleted after a confirmation, a test
event reaches a receiver on loopback and shows in the delivery log with the receiver's answer (escaped), and a
delivery can be sent again with the same event id. The portal shows the acting account's endpoints only."""
import re
import threading
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.accounts import memberships
from helpdesk.extensions import db
from helpdesk.webhooks import service as webhooks
from helpdesk.webhooks.models import REASON_FAILING, WebhookDelivery, WebhookEndpoint
from tests.conftest import csrf_token, log_in
from tests.fakes.loopback import LoopbackServer

pytestmark = pytest.mark.backends("sqlite")

CONSOLE = "/agent/admin/webhooks"
PORTAL = "/account/webhooks"
PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address: accepted without resolving a name
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


class Receiver:
    """A webhook receiver on loopback: records each request and answers ``status`` with ``body``."""

    def __init__(self):
        self.requests, self.status, self.body = [], 200, b"thanks"
        self.lock = threading.Lock()
        self.server = LoopbackServer(self).start()
        self.url = self.server.url + "/hooks"

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with self.lock:
            self.requests.append({"id": environ.get("HTTP_WEBHOOK_ID"), "body": environ["wsgi.input"].read(length)})
        start_response(f"{self.status} Answer", [("Content-Type", "text/html")])
        return [self.body]


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.stop()


@pytest.fixture(autouse=True)
def _one_context_per_request(client):
    """Every browser of a test gets an app context per request, as real requests do (the client fixture)."""


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="ada@example.test", full_name="Ada Admin")


@pytest.fixture
def account_id(customer):
    return memberships.ensure_personal_account(customer).id


def browser(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def checked(page):
    """The event kinds ticked on a form."""
    return re.findall(r'<input checked[^>]*name="events" type="checkbox" value="([^"]+)"', page)


def hidden(page):
    """The hidden fields of a page's form: its CSRF token and, on an adding form, its one-time key."""
    values = {"csrf_token": csrf_token(page)}
    key = re.search(r'name="form_key" type="hidden" value="([^"]+)"', page)
    if key:
        values["form_key"] = key.group(1)
    return values


def post_form(client, path, data=None, *, page=None):
    return client.post(path, data={**hidden(client.get(page or path).text), **(data or {})})


def only_endpoint():
    db.session.rollback()
    return db.session.scalars(sa.select(WebhookEndpoint)).one()


def public_endpoint(admin):
    endpoint, secret = webhooks.create_endpoint(admin, url=PUBLIC_URL, events=["ticket.created"])
    return endpoint.id, secret


def desk_endpoint(admin, receiver, **fields):
    endpoint, _secret = webhooks.create_endpoint(admin, url=receiver.url, events=["ticket.created"],
                                                 allow_private=True, **fields)
    return endpoint.id


# --------------------------------------------------------------------------- adding and the secret

def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(app, admin):
    ada = browser(app, "ada@example.test")
    form = ada.get(f"{CONSOLE}/new").text
    assert "Ticket created" in form and "Payment recorded" in form and "Device status changed" in form
    assert 'name="allow_private"' in form

    sent = {**hidden(form), "url": PUBLIC_URL, "description": "Monitoring",
            "events": ["ticket.created", "ticket.closed"]}
    response = ada.post(f"{CONSOLE}/new", data=sent)

    assert response.status_code == 200  # the answer itself: no redirect carries the secret
    assert "no-store" in response.headers["Cache-Control"]
    shown = SECRET.search(response.text).group(0)
    endpoint = only_endpoint()
    endpoint_id = endpoint.id
    assert webhooks.secret_of(endpoint) == shown
    assert endpoint.secret != shown  # sealed at rest
    assert endpoint.account_id is None and endpoint.events == ["ticket.created", "ticket.closed"]
    listing = ada.get(f"{CONSOLE}/").text
    row = re.search(rf'<tr id="endpoint-{endpoint_id}">(.*?)</tr>', listing, re.S).group(1)
    assert PUBLIC_URL in row and "Monitoring" in row and "Ticket created, Ticket closed" in row
    assert "Enabled" in row and "None yet" in row
    for page in (f"{CONSOLE}/", f"{CONSOLE}/{endpoint_id}", f"{CONSOLE}/{endpoint_id}/deliveries"):
        assert "whsec_" not in ada.get(page).text
    assert 'href="/agent/admin/webhooks/"' in ada.get("/agent/admin/agents").text  # in the admin menu

    # Reloading the page that showed the secret sends the form again: no second endpoint, no secret.
    again = ada.post(f"{CONSOLE}/new", data=sent, follow_redirects=True)
    assert "This form was sent already" in again.text and "whsec_" not in again.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 1


def test_mistakes_are_answered_beside_their_fields_and_no_endpoint_is_made(app, admin):
    ada = browser(app, "ada@example.test")

    empty = post_form(ada, f"{CONSOLE}/new", {"url": "", "events": []})
    assert empty.status_code == 400
    assert field_error(empty.text, "url") == "Enter the URL that should receive the events."
    assert field_error(empty.text, "events") == "Choose at least one event."

    for url, words in (("ftp://93.184.215.14/x", "only http and https"), ("http://127.0.0.1:9/x", "private"),
                       ("http://169.254.169.254/latest", "private")):
        answer = post_form(ada, f"{CONSOLE}/new", {"url": url, "events": ["ticket.created"]})
        assert answer.status_code == 400 and words in field_error(answer.text, "url"), url
        assert checked(answer.text) == ["ticket.created"]  # the choice is kept
        assert "whsec_" not in answer.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_an_admin_may_allow_a_private_address(app, admin):
    ada = browser(app, "ada@example.test")
    response = post_form(ada, f"{CONSOLE}/new", {"url": "http://10.0.0.7/hooks", "events": ["message.added"],
                                                 "allow_private": "y"})
    assert response.status_code == 200 and SECRET.search(response.text)
    assert only_endpoint().allow_private is True


def test_rotating_shows_a_new_secret_once_and_the_old_one_stops(app, admin):
    endpoint_id, first = public_endpoint(admin)
    ada = browser(app, "ada@example.test")
    page = ada.get(f"{CONSOLE}/{endpoint_id}").text
    assert "Rotate the secret" in page and "whsec_" not in page

    response = ada.post(f"{CONSOLE}/{endpoint_id}/rotate-secret", data={"csrf_token": csrf_token(page)})

    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    second = SECRET.search(response.text).group(0)
    assert second != first
    assert webhooks.secret_of(only_endpoint()) == second
    assert "whsec_" not in ada.get(f"{CONSOLE}/{endpoint_id}").text


# --------------------------------------------------------------------------- editing, switching, deleting

def test_an_admin_edits_an_endpoint(app, admin):
    endpoint_id, _secret = public_endpoint(admin)
    ada = browser(app, "ada@example.test")
    page = ada.get(f"{CONSOLE}/{endpoint_id}").text
    assert f'value="{PUBLIC_URL}"' in page and checked(page) == ["ticket.created"]

    wrong = ada.post(f"{CONSOLE}/{endpoint_id}", data={"csrf_token": csrf_token(page), "url": "", "events": []})
    assert wrong.status_code == 400 and field_error(wrong.text, "events") == "Choose at least one event."

    saved = ada.post(f"{CONSOLE}/{endpoint_id}", data={
        "csrf_token": csrf_token(page), "url": "https://93.184.215.15/v2", "description": "Second",
        "events": ["invoice.finalised", "payment.recorded"]})
    assert saved.status_code == 302
    changed = only_endpoint()
    assert (changed.url, changed.description, changed.events) == (
        "https://93.184.215.15/v2", "Second", ["invoice.finalised", "payment.recorded"])
    assert "was saved" in ada.get(saved.headers["Location"]).text


def test_disabling_and_enabling_and_the_reason_the_desk_gave(app, admin):
    endpoint_id, _secret = public_endpoint(admin)
    ada = browser(app, "ada@example.test")

    assert post_form(ada, f"{CONSOLE}/{endpoint_id}/disable", page=f"{CONSOLE}/").status_code == 302
    assert only_endpoint().enabled is False
    listing = ada.get(f"{CONSOLE}/").text
    assert f"The webhook endpoint {PUBLIC_URL} is disabled: it hears of no events." in listing
    row = re.search(rf'<tr id="endpoint-{endpoint_id}">(.*?)</tr>', listing, re.S).group(1)
    assert "Disabled" in row and "Switched off by hand." in row and "Enable" in row

    # The helpdesk disables an endpoint that keeps failing, and says why.
    stored = only_endpoint()
    stored.disabled_reason = REASON_FAILING
    db.session.commit()
    listing = ada.get(f"{CONSOLE}/").text
    assert "Disabled by the helpdesk: Every delivery attempt failed for a day." in listing

    assert post_form(ada, f"{CONSOLE}/{endpoint_id}/enable", page=f"{CONSOLE}/").status_code == 302
    enabled = only_endpoint()
    assert enabled.enabled is True and enabled.disabled_reason is None
    listing = ada.get(f"{CONSOLE}/").text
    assert "is enabled again." in listing and "Every delivery attempt failed" not in listing


def test_deleting_asks_first(app, admin):
    endpoint_id, _secret = public_endpoint(admin)
    ada = browser(app, "ada@example.test")
    confirm = ada.get(f"{CONSOLE}/{endpoint_id}/delete")
    assert confirm.status_code == 200 and "Delete the webhook endpoint" in confirm.text
    assert db.session.get(WebhookEndpoint, endpoint_id) is not None  # asking deleted nothing

    done = ada.post(f"{CONSOLE}/{endpoint_id}/delete", data={"csrf_token": csrf_token(confirm.text)})

    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(WebhookEndpoint, endpoint_id) is None
    listing = ada.get(f"{CONSOLE}/").text
    assert "was deleted" in listing and "There are no webhook endpoints yet." in listing
    assert ada.get(f"{CONSOLE}/{endpoint_id}").status_code == 404


# --------------------------------------------------------------------------- test events and the delivery log

def test_a_test_event_reaches_the_receiver_and_shows_in_the_log(app, admin, receiver):
    endpoint_id = desk_endpoint(admin, receiver)
    ada = browser(app, "ada@example.test")

    sent = post_form(ada, f"{CONSOLE}/{endpoint_id}/test", page=f"{CONSOLE}/{endpoint_id}")

    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/{endpoint_id}/deliveries")
    log = ada.get(sent.headers["Location"]).text
    assert "A test event is on its way" in log
    db.session.rollback()
    delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
    row = re.search(rf'<tr id="delivery-{delivery.id}"[^>]*>(.*?)</tr>', log, re.S).group(1)
    assert "Test event" in row and delivery.event_id in row
    # Sent at once by the tests' in-process jobs.
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert "Delivered" in row and "HTTP 200" in row and "thanks" in row
    assert [r["id"] for r in receiver.requests] == [delivery.event_id]
    listing = ada.get(f"{CONSOLE}/").text
    assert "None yet" not in re.search(rf'<tr id="endpoint-{endpoint_id}">(.*?)</tr>', listing, re.S).group(1)


def test_the_receivers_answer_is_shown_escaped_and_a_delivery_is_sent_again(app, admin, receiver):
    receiver.status, receiver.body = 500, b"<script>alert('boom')</script> broken"
    endpoint_id = desk_endpoint(admin, receiver)
    webhooks.send_test(admin, endpoint_id)
    ada = browser(app, "ada@example.test")
    db.session.rollback()
    first = db.session.scalars(sa.select(WebhookDelivery)).one()
    first_id, event_id = first.id, first.event_id

    log = ada.get(f"{CONSOLE}/{endpoint_id}/deliveries").text
    assert "<script>alert" not in log
    assert "&lt;script&gt;alert(&#39;boom&#39;)&lt;/script&gt; broken" in log and "HTTP 500" in log
    assert first.status == "failed" and first.attempts == 1
    row = re.search(rf'<tr id="delivery-{first_id}"[^>]*>(.*?)</tr>', log, re.S).group(1)
    assert "Failed, will retry" in row
    assert re.search(r'<td class="next-attempt">([^<]*)</td>', row).group(1).strip() not in ("", "—")  # when next

    receiver.status, receiver.body = 200, b"ok"
    again = ada.post(f"{CONSOLE}/{endpoint_id}/deliveries/{first_id}/redeliver",
                     data={"csrf_token": csrf_token(log)})

    assert again.status_code == 302
    assert "will be delivered again" in ada.get(again.headers["Location"]).text
    db.session.rollback()
    rows = db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert len(rows) == 2 and {r.event_id for r in rows} == {event_id}
    assert rows[1].status == "delivered"
    assert [r["id"] for r in receiver.requests] == [event_id, event_id]  # the receiver can tell it is the same


def test_a_disabled_endpoint_gets_no_test_event_and_says_why(app, admin, receiver):
    endpoint_id = desk_endpoint(admin, receiver)
    webhooks.update_endpoint(admin, endpoint_id, enabled=False)
    ada = browser(app, "ada@example.test")

    answer = post_form(ada, f"{CONSOLE}/{endpoint_id}/test", page=f"{CONSOLE}/{endpoint_id}")

    assert answer.status_code == 302
    assert "Enable the endpoint before sending it a test event." in ada.get(answer.headers["Location"]).text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0
    assert receiver.requests == []


def test_the_delivery_log_pages_back(app, admin, receiver, monkeypatch):
    from helpdesk.web import webhook_pages

    monkeypatch.setattr(webhook_pages, "DELIVERIES_PER_PAGE", 2)
    endpoint_id = desk_endpoint(admin, receiver)
    for _n in range(3):
        webhooks.send_test(admin, endpoint_id)
    ada = browser(app, "ada@example.test")
    db.session.rollback()
    ids = db.session.scalars(sa.select(WebhookDelivery.id).order_by(WebhookDelivery.id.desc())).all()

    newest = ada.get(f"{CONSOLE}/{endpoint_id}/deliveries").text
    assert f'id="delivery-{ids[0]}"' in newest and f'id="delivery-{ids[1]}"' in newest
    assert f'id="delivery-{ids[2]}"' not in newest
    older = re.search(r'href="([^"]*before=\d+)"', newest).group(1)
    page_two = ada.get(unescape(older)).text
    assert f'id="delivery-{ids[2]}"' in page_two and f'id="delivery-{ids[0]}"' not in page_two
    assert ada.get(f"{CONSOLE}/{endpoint_id}/deliveries?before=nonsense").status_code == 400


# --------------------------------------------------------------------------- the portal

def test_an_owner_manages_the_acting_accounts_endpoints(app, customer, account_id, admin):
    webhooks.create_endpoint(admin, url="https://93.184.215.20/desk", events=["ticket.created"])
    carla = browser(app, "carla@example.test")
    overview = carla.get("/account").text
    assert 'href="/account/webhooks/"' in overview

    form = carla.get(f"{PORTAL}/new").text
    assert "Ticket created" in form and 'name="allow_private"' not in form
    created = carla.post(f"{PORTAL}/new", data={**hidden(form), "url": PUBLIC_URL,
                                                 "events": ["ticket.created", "invoice.finalised"],
                                                 "allow_private": "y"})

    assert created.status_code == 200 and "no-store" in created.headers["Cache-Control"]
    shown = SECRET.search(created.text).group(0)
    db.session.rollback()
    endpoint = db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)).one()
    endpoint_id = endpoint.id
    assert webhooks.secret_of(endpoint) == shown
    assert endpoint.allow_private is False  # the portal offers no such choice
    listing = carla.get(f"{PORTAL}/").text
    assert PUBLIC_URL in listing and "93.184.215.20" not in listing  # the desk's endpoint is not hers
    assert "Back to the account" in listing and 'class="admin-nav"' not in listing

    private = post_form(carla, f"{PORTAL}/new", {"url": "http://192.168.1.1/x", "events": ["ticket.created"]})
    assert private.status_code == 400 and "private" in field_error(private.text, "url")

    rotated = post_form(carla, f"{PORTAL}/{endpoint_id}/rotate-secret", page=f"{PORTAL}/{endpoint_id}")
    assert rotated.status_code == 200 and SECRET.search(rotated.text).group(0) != shown
    assert post_form(carla, f"{PORTAL}/{endpoint_id}/disable", page=f"{PORTAL}/").status_code == 302
    assert "Disabled" in carla.get(f"{PORTAL}/").text
    assert carla.get(f"{PORTAL}/{endpoint_id}/deliveries").status_code == 200
    assert post_form(carla, f"{PORTAL}/{endpoint_id}/delete", page=f"{PORTAL}/{endpoint_id}/delete"
                     ).status_code == 302
    db.session.rollback()
    assert db.session.get(WebhookEndpoint, endpoint_id) is None


def test_the_account_page_links_webhooks_for_owners_only(app, customer, account_id, make_user):
    from helpdesk.accounts import members
    from helpdesk.accounts.models import PERM_TICKETS, CustomerAccount

    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    members.join(db.session.get(CustomerAccount, account_id), tom, [PERM_TICKETS])
    db.session.commit()
    client = browser(app, "tom@example.test")
    client.post("/account/switch", data={"csrf_token": csrf_token(client.get("/profile").text),
                                         "account_id": account_id})
    assert "/account/webhooks" not in client.get("/account").text


def test_test_events_are_rate_limited_in_the_portal_only(app, customer, account_id, admin, receiver):
    # An admin may let an account's endpoint reach loopback (the receiver); Carla sends the test events.
    endpoint, _secret = webhooks.create_endpoint(admin, url=receiver.url, events=["ticket.created"],
                                                 account_id=account_id, allow_private=True)
    endpoint_id, desk_id = endpoint.id, desk_endpoint(admin, receiver)
    carla = browser(app, "carla@example.test")
    token = csrf_token(carla.get(f"{PORTAL}/{endpoint_id}").text)
    answers = [carla.post(f"{PORTAL}/{endpoint_id}/test", data={"csrf_token": token}).status_code
               for _n in range(11)]
    assert answers == [302] * 10 + [429]
    assert len(receiver.requests) == 10

    ada = browser(app, "ada@example.test")
    token = csrf_token(ada.get(f"{CONSOLE}/{desk_id}").text)
    answers = {ada.post(f"{CONSOLE}/{desk_id}/test", data={"csrf_token": token}).status_code for _n in range(11)}
    assert answers == {302}
