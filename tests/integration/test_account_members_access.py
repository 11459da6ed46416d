"""A customer account's members pages, its activity, invitations, the account switcher and the console's account
pages are their members' and staff's alone: a customer of another account gets 404 and learns nothing, a member
without the members permission gets 403, a visitor must log in, a forged account id (in the switch form or in the
session) is refused, customers never reach the console's pages, and every change needs its CSRF token."""
import re

import pytest
import sqlalchemy as sa

from helpdesk.accounts import invitations, members, memberships
from helpdesk.accounts.models import PERM_TICKETS, AccountInvitation, CustomerAccount, Membership
from helpdesk.extensions import db
from tests.conftest import csrf_token, log_in
from tests.integration.test_web_skeleton import assert_stays_on_this_site


def fresh():
    db.session.rollback()


@pytest.fixture
def carla_account(customer):
    return db.session.get(CustomerAccount, memberships.default_account_id(customer))


@pytest.fixture
def world(app, customer, carla_account, make_user, smtp):
    """Carla owns her account with Tom (tickets only) in it and an open invitation; Dora is a customer of another
    account."""
    tom = make_user("customer", email="tom@example.test", full_name="Tom Tickets")
    dora = make_user("customer", email="dora@example.test", full_name="Dora Other")
    tom_membership = members.join(carla_account, tom, [PERM_TICKETS])
    db.session.commit()
    invitation = invitations.invite(customer, carla_account.id, email="new@example.test", permissions=[PERM_TICKETS])
    smtp.clear()
    return {"tom": tom, "dora": dora, "tom_membership": tom_membership.id,
            "carla_membership": memberships.membership(customer, carla_account.id).id,
            "invitation": invitation.id, "account": carla_account.id}


def browser(app, email):
    client = app.test_client()
    log_in(client, email)
    return client


def token_of(client):
    return csrf_token(client.get("/profile").text)


def act_for(client, account_id):
    page = client.get("/profile").text
    return client.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": account_id})


def nothing_changed(world):
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)
                             .where(Membership.account_id == world["account"])) == 2
    assert db.session.get(AccountInvitation, world["invitation"]).cancelled_at is None


def test_a_customer_of_another_account_gets_404_everywhere(app, client, world, smtp):
    dora = browser(app, "dora@example.test")
    token = token_of(dora)
    tom_id, invitation_id = world["tom_membership"], world["invitation"]

    assert act_for(dora, world["account"]).status_code == 404
    assert dora.get(f"/account/members/{tom_id}").status_code == 404
    assert dora.post(f"/account/members/{tom_id}", data={"csrf_token": token, "permissions": ["members"],
                                                         "owner": "y"}).status_code == 404
    assert dora.post(f"/account/members/{tom_id}/remove", data={"csrf_token": token}).status_code == 404
    assert dora.post(f"/account/invitations/{invitation_id}/cancel", data={"csrf_token": token}).status_code == 404
    # Her own pages never show Carla's account.
    for page in ("/account", "/account/members", "/account/activity"):
        text = dora.get(page).text
        assert "Carla Customer" not in text and "tom@example.test" not in text and "new@example.test" not in text
    nothing_changed(world)
    assert smtp.messages == []


def test_a_member_without_the_members_permission_gets_403(app, client, world, smtp):
    tom = browser(app, "tom@example.test")
    assert act_for(tom, world["account"]).status_code == 302
    token = token_of(tom)

    assert tom.get("/account").status_code == 200  # what he may do there, and leaving
    assert tom.get("/account/members").status_code == 403
    assert tom.post("/account/members", data={"csrf_token": token, "email": "x@example.test",
                                              "permissions": ["tickets"]}).status_code == 403
    assert tom.get(f"/account/members/{world['carla_membership']}").status_code == 403
    assert tom.post(f"/account/members/{world['carla_membership']}", data={
        "csrf_token": token, "permissions": [], "owner": ""}).status_code == 403
    assert tom.post(f"/account/members/{world['carla_membership']}/remove",
                    data={"csrf_token": token}).status_code == 403
    assert tom.post(f"/account/invitations/{world['invitation']}/cancel",
                    data={"csrf_token": token}).status_code == 403
    assert tom.get("/account/activity").status_code == 403
    nothing_changed(world)
    assert smtp.messages == []


def test_visitors_must_log_in(app, client, world):
    for path in ("/account", "/account/members", f"/account/members/{world['tom_membership']}",
                 "/account/activity"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for path in ("/account/leave", "/account/switch", f"/account/members/{world['tom_membership']}/remove",
                 f"/account/invitations/{world['invitation']}/cancel"):
        response = client.post(path, data={"csrf_token": csrf_token(client.get("/login").text)})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for path in ("/agent/accounts/", f"/agent/accounts/{world['account']}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    nothing_changed(world)


def test_a_broken_or_guessed_invitation_link_says_it_expired(app, client, world):
    assert client.get("/account/invitations/not-a-token").status_code == 410
    dora = browser(app, "dora@example.test")
    page = dora.get("/account/invitations/also-not-a-token")
    assert page.status_code == 410 and "Carla Customer" not in page.text
    assert dora.post("/account/invitations/also-not-a-token",
                     data={"csrf_token": token_of(dora)}).status_code == 410


def test_a_forged_account_in_the_session_grants_nothing(app, client, world):
    dora = browser(app, "dora@example.test")
    with dora.session_transaction() as session:
        session["acting_account"] = world["account"]

    page = dora.get("/account/members").text

    assert "Dora Other" in page
    assert "Carla Customer" not in page and "tom@example.test" not in page
    with dora.session_transaction() as session:
        assert "acting_account" not in session  # forgotten


@pytest.mark.parametrize("forged", ["999999", "abc", "", "-1", "1 OR 1=1"])
def test_a_forged_account_id_in_the_switch_is_refused(app, client, world, forged):
    dora = browser(app, "dora@example.test")
    page = dora.get("/profile").text
    response = dora.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": forged})
    assert response.status_code == 404
    assert "Dora Other" in dora.get("/account").text


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/account", "/\\evil.example",
                                    "/\t/evil.example", " //evil.example", "http:evil.example"])
def test_the_switch_never_sends_the_browser_to_another_site(app, client, world, target):
    tom = browser(app, "tom@example.test")
    page = tom.get("/profile").text
    response = tom.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": world["account"],
                                                 "next": target})
    assert response.status_code == 302
    assert_stays_on_this_site(response.headers["Location"])


def test_the_switch_goes_back_to_the_page_it_was_asked_from(app, client, world):
    tom = browser(app, "tom@example.test")
    page = tom.get("/profile").text
    response = tom.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": world["account"],
                                                 "next": "/tickets?page=2"})
    assert response.headers["Location"] == "/tickets?page=2"


def test_customers_never_reach_the_console_and_staff_have_no_portal_account(app, client, world, agent):
    carla = browser(app, "carla@example.test")
    token = token_of(carla)
    assert carla.get("/agent/accounts/").status_code == 404
    assert carla.get(f"/agent/accounts/{world['account']}").status_code == 404
    assert carla.post(f"/agent/accounts/{world['account']}/members", data={
        "csrf_token": token, "email": "dora@example.test", "permissions": ["tickets"]}).status_code == 404
    assert carla.post(f"/agent/accounts/{world['account']}/members/{world['tom_membership']}/remove",
                      data={"csrf_token": token}).status_code == 404
    staff = browser(app, "agent@example.test")
    assert staff.get("/account").status_code == 404
    assert staff.get("/account/members").status_code == 404
    assert staff.post("/account/switch", data={"csrf_token": token_of(staff),
                                               "account_id": world["account"]}).status_code == 404
    nothing_changed(world)


def test_the_console_answers_404_for_a_membership_of_another_account(app, client, world, agent, make_user):
    other = make_user("customer", email="olga@example.test", full_name="Olga Other")
    olga_account = memberships.default_account_id(other)
    staff = browser(app, "agent@example.test")
    response = staff.post(f"/agent/accounts/{olga_account}/members/{world['tom_membership']}/remove",
                          data={"csrf_token": token_of(staff)})
    assert response.status_code == 404
    assert staff.get("/agent/accounts/999999").status_code == 404
    nothing_changed(world)


def test_every_change_needs_its_csrf_token(app, client, world, agent):
    carla = browser(app, "carla@example.test")
    assert carla.post(f"/account/members/{world['tom_membership']}/remove").status_code == 400
    assert carla.post(f"/account/invitations/{world['invitation']}/cancel").status_code == 400
    assert carla.post("/account/switch", data={"account_id": world["account"]}).status_code == 400
    assert carla.post("/account/leave").status_code == 400
    invite = carla.post("/account/members", data={"email": "x@example.test", "permissions": ["tickets"]})
    assert invite.status_code == 400
    change = carla.post(f"/account/members/{world['tom_membership']}", data={"permissions": ["members"]})
    assert change.status_code == 400
    staff = browser(app, "agent@example.test")
    assert staff.post(f"/agent/accounts/{world['account']}/members/{world['tom_membership']}/remove"
                      ).status_code == 400
    assert staff.post(f"/agent/accounts/{world['account']}/members",
                      data={"email": "dora@example.test"}).status_code == 400
    nothing_changed(world)
    fresh()
    assert not memberships.has_permission(world["tom"], world["account"], "members")


def test_an_invitation_accepted_by_another_login_changes_nothing(app, client, world, smtp, customer):
    carla_account = world["account"]
    invitations.invite(customer, carla_account, email="tom2@example.test", permissions=["billing"])
    link = re.search(r"http://helpdesk\.example\.test(/account/invitations/\S+)",
                     smtp.messages[-1].get_body(("plain",)).get_content()).group(1)
    dora = browser(app, "dora@example.test")
    page = dora.get(link).text
    assert "Accept the invitation" not in page
    response = dora.post(link, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "sent to another address" in response.text
    fresh()
    assert memberships.membership(world["dora"], carla_account) is None


def test_invitations_are_rate_limited(app, client, world, smtp):
    carla = browser(app, "carla@example.test")
    token = csrf_token(carla.get("/account/members").text)
    answers = [carla.post("/account/members", data={"csrf_token": token, "email": f"spam{n}@example.test",
                                                    "permissions": ["tickets"]}).status_code for n in range(11)]
    assert answers[:10] == [302] * 10
    assert answers[10] == 429
    assert len(smtp.messages) == 10
