"""The API's test harness. Every answer from /api/v1 that a test in tests/api receives through ``api_client`` is
validated against the OpenAPI document the app serves (the contract test of issue 20): a status, header or body
the document does not describe fails the test that received it."""
import json

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.wrappers import Request

from tests.conftest import OneContextPerRequestClient

ALL_SCOPES = None  # token_for's default: every scope there is

_SPECS = {}  # id(app) -> OpenAPI, built once per app


def openapi_of(app) -> OpenAPI:
    if id(app) not in _SPECS:
        with app.app_context(), app.test_request_context():  # its own: ending it must not end the test's session
            document = app.extensions["helpdesk_api"].spec.to_dict()
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        _SPECS[id(app)] = OpenAPI.from_dict(json.loads(json.dumps(document)), config=config)
    return _SPECS[id(app)]


class ApiClient(OneContextPerRequestClient):
    """A test client that sends ``token`` (set ``client.token``) and checks every API answer against the
    document. ``checked`` counts the answers it validated."""

    token = None
    validate = True
    checked = 0

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        response = super().open(*args, headers=headers, **kwargs)
        path = response.request.path
        if self.validate and path.startswith("/api/v1/") and path != "/api/v1/openapi.json" \
                and response.status_code != 304:
            check_contract(self.application, response)
            type(self).checked += 1
        return response


def check_contract(app, response) -> None:
    """Fail unless ``response`` is an answer the OpenAPI document describes for its request."""
    environ = response.request.environ
    if hasattr(environ.get("wsgi.input"), "seek"):
        environ["wsgi.input"].seek(0)  # the app read the body; openapi-core reads it again
    request = WerkzeugOpenAPIRequest(Request(environ))
    try:
        openapi_of(app).validate_response(request, WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):  # the fallback's 404 and 405 for what the document does not list
        assert response.status_code in (404, 405), f"{request.method} {request.path} is not in the document"


@pytest.fixture
def api_client(app):
    """A client of the API (set ``api_client.token``); every answer is checked against the document."""
    from helpdesk.api import ratelimit
    from helpdesk.extensions import limiter

    limiter.reset()
    ratelimit.reset()
    previous = app.test_client_class
    app.test_client_class = ApiClient
    client = app.test_client()
    app.test_client_class = previous
    yield client
    ratelimit.reset()


@pytest.fixture
def token_for(app):
    """``token_for(user, scopes=None, **kw)``: a live personal token of ``user`` (every scope unless named)."""
    from helpdesk.accounts import api_tokens

    def make(user, scopes=ALL_SCOPES, **kwargs):
        _, token = api_tokens.create_token(user, name=kwargs.pop("name", "test token"),
                                           scopes=list(api_tokens.SCOPES) if scopes is None else scopes, **kwargs)
        return token

    return make


@pytest.fixture
def as_user(api_client, token_for):
    """``as_user(user, scopes=None)``: the api_client, now sending a token of ``user``."""
    from helpdesk.extensions import db

    def switch(user, scopes=ALL_SCOPES):
        # End the test's own read transaction first: on SQLite a write (the new token) from a snapshot older than
        # the requests' writes is refused.
        db.session.commit()
        api_client.token = token_for(user, scopes)
        return api_client

    return switch


def problem_of(response) -> dict:
    """The problem details of an error answer (and that it is one)."""
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["status"] == response.status_code
    return body


def pointers(response) -> set:
    """The fields a 422 answer names."""
    return {error.get("pointer") for error in problem_of(response).get("errors", [])}
