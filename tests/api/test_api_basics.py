"""The API's common behaviour, on its smallest endpoint (/me): tokens, scopes, problem details, rate limits and
the document itself."""
from datetime import timedelta

import pytest

from helpdesk.db import utcnow
from tests.api.conftest import problem_of

pytestmark = pytest.mark.backends("sqlite")


def test_a_token_says_who_it_acts_for(as_user, customer):
    client = as_user(customer, ["tickets:read"])
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json()["email"] == customer.email
    assert response.get_json()["token"]["scopes"] == ["tickets:read"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer hd_nothing_here", "Basic Zm9vOmJhcg==",
                                    "Bearer hd_abc_def_ghi"])
def test_no_valid_token_is_401_with_a_challenge(api_client, header):
    headers = {"Authorization": header} if header else {}
    response = api_client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert problem_of(response)["title"]


def test_revoked_and_expired_tokens_stop_working(app, api_client, token_for, customer, time_machine):
    from helpdesk.accounts import api_tokens

    api_client.token = token_for(customer, ["tickets:read"], expires_in_days=1)
    assert api_client.get("/api/v1/me").status_code == 200
    time_machine.move_to(utcnow() + timedelta(hours=25))
    assert api_client.get("/api/v1/me").status_code == 401
    api_client.token = token_for(customer, ["tickets:read"])
    assert api_client.get("/api/v1/me").status_code == 200
    row = api_tokens.tokens_of(customer)[0]
    api_tokens.revoke_token(customer, row.id)
    assert api_client.get("/api/v1/me").status_code == 401


def test_the_token_is_stored_hashed_and_its_use_noted(app, token_for, api_client, customer):
    from helpdesk.accounts import api_tokens
    from helpdesk.extensions import db

    token = token_for(customer, ["tickets:read"])
    row = api_tokens.tokens_of(customer)[0]
    assert token not in (row.token_hash, row.prefix) and row.last_used_at is None
    api_client.token = token
    api_client.get("/api/v1/me")
    db.session.commit()  # a new transaction sees the request's write
    assert api_tokens.tokens_of(customer)[0].last_used_at is not None


def test_a_deactivated_login_s_tokens_stop_working(app, api_client, token_for, customer):
    from helpdesk.extensions import db

    api_client.token = token_for(customer, ["tickets:read"])
    customer.active = False
    db.session.commit()
    assert api_client.get("/api/v1/me").status_code == 401


def test_unknown_paths_and_methods_answer_as_problems(as_user, customer):
    client = as_user(customer, ["tickets:read"])
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and problem_of(missing)["instance"] == "/api/v1/no-such-thing"
    wrong = client.delete("/api/v1/me")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


def test_rate_limits_are_counted_per_token_with_ratelimit_headers(app, as_user, customer, make_user):
    app.config["API_RATE_LIMIT"] = "3/minute"
    client = as_user(customer, ["tickets:read"])
    answers = [client.get("/api/v1/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"default";q=3;w=60'
    assert answers[1].headers["RateLimit"].startswith('"default";r=1;t=')
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert problem_of(answers[3])["status"] == 429
    other = as_user(make_user("customer"), ["tickets:read"])  # another token has its own count
    assert other.get("/api/v1/me").status_code == 200


def test_the_document_is_valid_openapi_3_1_and_every_operation_needs_a_token(app, api_client):
    from openapi_spec_validator import validate

    document = api_client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    operations = [(path, method, operation) for path, item in document["paths"].items()
                  for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")]
    assert operations
    for path, method, operation in operations:
        assert operation.get("security"), f"{method.upper()} {path} declares no token"
        assert "401" in operation["responses"], f"{method.upper()} {path}"


def test_a_body_that_is_not_json_says_so(as_user, customer):
    client = as_user(customer, ["tickets:write"])
    for body in ('{"subject": ', "not json", "\x00"):
        response = client.post("/api/v1/tickets", data=body, content_type="application/json")
        assert response.status_code == 400
        assert problem_of(response)["detail"] == "The request body is not valid JSON."
