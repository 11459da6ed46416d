"""Administration on both databases: only admins reach it (agents get 403, customers never reach /agent); a new
agent gets a mail, chooses a password and logs in; role and departments change; deactivation ends the agent's
sessions; no admin demotes or deactivates themself or the last admin; departments are validated field by field."""
import re
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.accounts import staff
from helpdesk.accounts.models import User
from helpdesk.actors import SYSTEM
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import departments
from helpdesk.tickets.models import Department
from tests.conftest import csrf_token, log_in

ADMIN_PAGES = ["/agent/admin/agents", "/agent/admin/agents/new", "/agent/admin/departments",
               "/agent/admin/departments/new", "/agent/admin/audit"]


def field_error(page, field_id):
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return unescape(match.group(1)) if match else None


def user(email):
    db.session.rollback()
    return db.session.scalar(sa.select(User).where(User.email == email))


def submit(client, path, data, form_path=None):
    page = client.get(form_path or path).text
    return client.post(path, data={"csrf_token": csrf_token(page), **data}, follow_redirects=True)


@pytest.fixture
def admin(make_user):
    return make_user("admin", email="admin@example.test", full_name="Ada Admin")


@pytest.fixture
def as_admin(client, admin):
    log_in(client, "admin@example.test")
    return client


def test_agents_get_403_on_administration(client, agent, department):
    log_in(client, "agent@example.test")
    for path in [*ADMIN_PAGES, f"/agent/admin/departments/{department.id}", f"/agent/admin/agents/{agent.id}"]:
        assert client.get(path).status_code == 403, path
    token = csrf_token(client.get("/agent/").text)
    response = client.post("/agent/admin/departments/new", data={"csrf_token": token, "name": "Sneaky"})
    assert response.status_code == 403
    assert "Administration" not in client.get("/agent/").text
    assert db.session.scalar(sa.select(Department.id).where(Department.name == "Sneaky")) is None


def test_customers_and_strangers_never_reach_administration(client, customer):
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 302  # to the login page
    log_in(client, "carla@example.test")
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 404, path


def test_admin_creates_an_agent_who_chooses_a_password_and_logs_in(as_admin, department, smtp):
    page = as_admin.get("/agent/admin/agents").text
    assert "Ada Admin" in page
    response = submit(as_admin, "/agent/admin/agents/new", {
        "full_name": "Nora New", "email": "Nora@Example.test", "locale": "de", "role": "agent",
        "departments": [str(department.id)]})
    assert "Nora New was created" in response.text
    nora = user("nora@example.test")
    assert nora.role == "agent" and nora.locale == "de" and [d.name for d in nora.departments] == ["Technical"]
    assert nora.password_hash is None
    assert "Invited (no password yet)" in as_admin.get("/agent/admin/agents").text

    mail = smtp.wait_for(1)
    assert [m["To"].addresses[0].addr_spec for m in mail] == ["nora@example.test"]
    link = re.search(r"http://helpdesk\.example\.test(/activate/\S+)", mail[0].get_body(("plain",)).get_content())
    newcomer = as_admin.application.test_client()
    page = newcomer.get(link.group(1)).text
    newcomer.post(link.group(1), data={"csrf_token": csrf_token(page), "password": "a fine new password",
                                       "confirm": "a fine new password"})
    assert newcomer.get("/agent/").status_code == 200

    again = as_admin.application.test_client()
    assert log_in(again, "nora@example.test", "a fine new password").request.path == "/agent/"


def test_creating_an_agent_answers_every_problem_beside_its_field(as_admin, agent, smtp):
    response = submit(as_admin, "/agent/admin/agents/new",
                      {"full_name": "   ", "email": "not-an-address", "locale": "xx", "role": "boss"})
    page = response.text
    assert response.status_code == 400
    assert field_error(page, "full_name") == "Enter a name."
    assert field_error(page, "email") == "Enter a valid email address."
    assert field_error(page, "role") == "Choose agent or admin."
    assert field_error(page, "locale") == "Unsupported language."
    response = submit(as_admin, "/agent/admin/agents/new",
                      {"full_name": "Twin", "email": "agent@example.test", "role": "agent"})
    assert field_error(response.text, "email") == "A user with this email address already exists."
    response = submit(as_admin, "/agent/admin/agents/new",
                      {"full_name": "Ghost", "email": "ghost@example.test", "role": "agent", "departments": ["999"]})
    assert response.status_code == 400 and user("ghost@example.test") is None
    assert not smtp.messages


def test_admin_changes_role_and_departments(as_admin, agent, department):
    sales = departments.create_department(SYSTEM, name="Sales", inbound_address="sales@example.test")
    response = submit(as_admin, f"/agent/admin/agents/{agent.id}",
                      {"role": "admin", "departments": [str(sales.id)]})
    assert "The changes to Alex Agent were saved." in response.text
    changed = user("agent@example.test")
    assert changed.role == "admin" and [d.name for d in changed.departments] == ["Sales"]
    response = submit(as_admin, f"/agent/admin/agents/{agent.id}", {"role": "agent"})
    changed = user("agent@example.test")
    assert changed.role == "agent" and changed.departments == []


def test_deactivation_ends_the_agents_session_and_login(as_admin, agent):
    other = as_admin.application.test_client()
    log_in(other, "agent@example.test")
    assert other.get("/agent/").status_code == 200

    page = as_admin.get("/agent/admin/agents").text
    response = as_admin.post(f"/agent/admin/agents/{agent.id}/deactivate",
                             data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Alex Agent was deactivated and logged out." in response.text
    assert other.get("/agent/").status_code == 302
    assert log_in(other, "agent@example.test").request.path == "/login"
    assert "Email or password is not correct." in log_in(other, "agent@example.test").text

    page = as_admin.get("/agent/admin/agents").text
    as_admin.post(f"/agent/admin/agents/{agent.id}/reactivate", data={"csrf_token": csrf_token(page)})
    assert log_in(other, "agent@example.test").request.path == "/agent/"


def test_no_admin_demotes_or_deactivates_themself_or_the_last_admin(as_admin, admin, make_user):
    response = submit(as_admin, f"/agent/admin/agents/{admin.id}", {"role": "agent"})
    assert field_error(response.text, "role") == "You cannot remove your own admin rights or deactivate yourself."
    page = as_admin.get("/agent/admin/agents").text
    response = as_admin.post(f"/agent/admin/agents/{admin.id}/deactivate", data={"csrf_token": csrf_token(page)},
                             follow_redirects=True)
    assert "You cannot remove your own admin rights or deactivate yourself." in response.text
    assert user("admin@example.test").active and user("admin@example.test").role == "admin"

    with pytest.raises(ValidationFailed) as refused:
        staff.deactivate(SYSTEM, user("admin@example.test"))
    assert "last active admin" in str(refused.value)
    with pytest.raises(ValidationFailed):
        staff.update_staff(SYSTEM, user("admin@example.test"), role="agent")

    # With a second admin, one may deactivate the other.
    second = make_user("admin", email="second@example.test", full_name="Second Admin")
    response = as_admin.post(f"/agent/admin/agents/{second.id}/deactivate",
                             data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Second Admin was deactivated" in response.text


def test_departments_are_validated_field_by_field(as_admin, department):
    response = submit(as_admin, "/agent/admin/departments/new", {
        "name": "Technical", "inbound_address": "support@example.test", "reply_from_address": "no address"})
    page = response.text
    assert response.status_code == 400
    assert field_error(page, "name") == "A department with this name already exists."
    assert field_error(page, "inbound_address") == "Another department already receives mail at this address."
    assert field_error(page, "reply_from_address") == "Enter a valid email address."

    response = submit(as_admin, "/agent/admin/departments/new", {
        "name": "Billing", "inbound_address": "Billing@Example.test", "reply_from_address": "",
        "signature": "Your billing team"})
    assert "The department Billing was created." in response.text
    billing = db.session.scalar(sa.select(Department).where(Department.name == "Billing"))
    assert (billing.inbound_address, billing.reply_from_address, billing.signature) == (
        "billing@example.test", None, "Your billing team")

    path = f"/agent/admin/departments/{billing.id}"
    response = submit(as_admin, path, {"name": "Technical", "inbound_address": "support@example.test"})
    assert field_error(response.text, "name") == "A department with this name already exists."
    response = submit(as_admin, path, {"name": "Accounts", "inbound_address": "billing@example.test",
                                       "reply_from_address": "noreply@example.test", "signature": "Accounts team"})
    assert "The department Accounts was saved." in response.text
    db.session.rollback()
    saved = db.session.get(Department, billing.id)
    assert (saved.name, saved.reply_from_address, saved.signature) == (
        "Accounts", "noreply@example.test", "Accounts team")
