"""The API end to end with a client generated from its own OpenAPI document (issue 20): openapi-python-client
writes a Python package from the document the app serves, and that package, over real HTTP on loopback with real
personal tokens, opens a ticket, replies to it and closes it. The ticket store then holds what the client did."""
import hashlib
import importlib
import inspect
import json
import os
import subprocess
import sys
import threading
import typing
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.fakes.loopback import POLL

pytestmark = [pytest.mark.backends("sqlite"), pytest.mark.slow]  # generating the client takes seconds

VENV_BIN = Path(sys.executable).parent
# No post hooks (they would run ruff over the package, which the test does not need). The generator knows JSON,
# text and application/octet-stream answers; the invoice PDF is read as bytes like any other binary answer.
CONFIG = {
    "post_hooks": [],
    "content_type_overrides": {"application/pdf": "application/octet-stream"},
}
METHODS = ("get", "post", "put", "patch", "delete")

_GENERATED = {}  # sha256 of the document -> (package, the generator's output)


def document_of(app) -> dict:
    with app.test_request_context():
        return json.loads(json.dumps(app.extensions["helpdesk_api"].spec.to_dict()))


@pytest.fixture
def generated(app, tmp_path_factory):
    """The client package generated from this app's document (once per document in a test run), imported."""
    document = document_of(app)
    text = json.dumps(document, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    if key not in _GENERATED:
        folder = tmp_path_factory.mktemp("generated-client")
        name = f"helpdesk_api_client_{key}"
        (folder / "openapi.json").write_text(text)
        (folder / "config.json").write_text(json.dumps({**CONFIG, "package_name_override": name,
                                                        "project_name_override": name.replace("_", "-")}))
        environment = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        run = subprocess.run([str(VENV_BIN / "openapi-python-client"), "generate", "--path", "openapi.json",
                              "--config", "config.json", "--meta", "none"],
                             cwd=folder, env=environment, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        sys.path.insert(0, str(folder))
        try:
            package = importlib.import_module(name)
        finally:
            sys.path.remove(str(folder))
        _GENERATED[key] = (package, run.stdout + run.stderr, document)
    return _GENERATED[key]


def operation(package, method: str, path: str):
    """The generated module for ``method`` ``path``, whatever the generator named it (its name follows the
    operation's id, or the method and path when there is none)."""
    wanted = (f'"method": "{method}"', f'"url": "{path}"')
    api = Path(package.__file__).parent / "api"
    for source in sorted(api.glob("*/*.py")):
        text = source.read_text()
        if all(part in text for part in wanted) or (wanted[0] in text and f'"url": "{path}".format(' in text):
            relative = source.relative_to(api.parent).with_suffix("")
            return importlib.import_module(".".join([package.__name__, *relative.parts]))
    raise AssertionError(f"the generated client has no {method.upper()} {path}")


def json_body(module, **values):
    """The generated model of ``module``'s JSON request body, made from ``values``."""
    annotation = inspect.signature(module.sync_detailed).parameters["body"].annotation
    candidates = [kind for kind in typing.get_args(annotation) or (annotation,)
                  if inspect.isclass(kind) and hasattr(kind, "from_dict") and not hasattr(kind, "to_multipart")]
    assert candidates, f"{module.__name__} takes no JSON body"
    return candidates[0].from_dict(values)


@pytest.fixture
def live_api(app):
    """The test's app served on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), name="generated-client-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_generator_takes_every_operation_of_the_document(generated):
    package, output, document = generated
    assert "Warning" not in output, output  # a part of the document the generator could not use
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                assert operation(package, method, path) is not None


def test_a_generated_client_opens_a_ticket_replies_and_closes_it(app, generated, live_api, token_for, customer,
                                                                  agent, department):
    from helpdesk.extensions import db
    from helpdesk.tickets import access
    from helpdesk.tickets.models import AGENT_REPLY, CLOSED, CUSTOMER_MESSAGE

    package = generated[0]
    as_customer = package.AuthenticatedClient(base_url=live_api, token=token_for(customer, ["tickets:write"]),
                                              raise_on_unexpected_status=True)
    as_agent = package.AuthenticatedClient(base_url=live_api, token=token_for(agent, ["tickets:write"]),
                                           raise_on_unexpected_status=True)
    me = operation(package, "get", "/api/v1/me").sync(client=as_customer)
    assert me.email == customer.email  # the client reads its own answers

    open_ticket = operation(package, "post", "/api/v1/tickets")
    answer = open_ticket.sync_detailed(
        client=as_customer, idempotency_key="monitoring-alert-7731",
        body=json_body(open_ticket, subject="Disk /var on web-03 is 95% full",
                       body="Our monitoring says /var on web-03 is 95% full since 04:12.",
                       department=department.id))
    assert answer.status_code == 201, answer.content
    number = answer.parsed.number
    assert answer.headers["Location"].endswith(f"/api/v1/tickets/{number}")
    assert answer.parsed.subject == "Disk /var on web-03 is 95% full"

    reply = operation(package, "post", "/api/v1/tickets/{number}/replies")
    answer = reply.sync_detailed(number, client=as_agent, idempotency_key="reply-1",
                                 body=json_body(reply, body="We moved old logs away: /var is at 41% now."))
    assert answer.status_code == 201, answer.content
    assert answer.parsed.body_text.startswith("We moved old logs away: /var is at 41% now.")  # and a signature

    close = operation(package, "post", "/api/v1/tickets/{number}/close")
    answer = close.sync_detailed(number, client=as_customer)
    assert answer.status_code == 200, answer.content
    assert answer.parsed.status == CLOSED

    db.session.commit()  # a new transaction sees what the requests committed
    ticket = access.get_ticket(agent, number)
    assert ticket.status == CLOSED
    assert ticket.requester_id == customer.id
    said = [(message.kind, message.author_id, message.body_text.split("\n")[0]) for message in ticket.messages
            if message.kind in (CUSTOMER_MESSAGE, AGENT_REPLY)]
    assert said == [(CUSTOMER_MESSAGE, customer.id, "Our monitoring says /var on web-03 is 95% full since 04:12."),
                    (AGENT_REPLY, agent.id, "We moved old logs away: /var is at 41% now.")]


def test_a_repeated_create_with_the_same_idempotency_key_opens_one_ticket(app, generated, live_api, token_for,
                                                                         customer, department):
    from helpdesk.extensions import db
    from helpdesk.tickets import access

    package = generated[0]
    client = package.AuthenticatedClient(base_url=live_api, token=token_for(customer, ["tickets:write"]))
    open_ticket = operation(package, "post", "/api/v1/tickets")
    body = json_body(open_ticket, subject="Printer offline", body="The printer on floor 2 is offline.",
                     department=department.id)
    first = open_ticket.sync_detailed(client=client, body=body, idempotency_key="printer-2")
    again = open_ticket.sync_detailed(client=client, body=body, idempotency_key="printer-2")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.parsed.number == first.parsed.number
    db.session.commit()
    assert len(db.session.scalars(access.visible_tickets(customer)).all()) == 1
