"""Customer accounts and their members (issue 18): every new customer owns an account of their own (registration,
staff, the mail gateway's and the guest form's new senders); an owner invites by email (a single-use, expiring
link; the same answer whether the address has a login), the invited login accepts; permissions change, members
are removed (they lose the account at once and their sessions end) or leave; an account keeps an owner; the
header switches between accounts; audit rows name the account acted for and the account shows who did what;
the migration gives every existing customer an account."""
import re

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from helpdesk import audit
from helpdesk.accounts import invitations, members, memberships
from helpdesk.accounts import service as accounts
from helpdesk.accounts.models import (
    PERM_BILLING,
    PERM_MEMBERS,
    PERM_TICKETS,
    PERM_VAULT_VIEW,
    PERMISSIONS,
    AccountInvitation,
    CustomerAccount,
    LoginSession,
    Membership,
    User,
)
from helpdesk.actors import GUEST_FORM, SYSTEM
from helpdesk.db import Batch
from helpdesk.errors import NotAllowed, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import service as tickets
from tests.conftest import csrf_token, log_in, make_app


def fresh():
    db.session.rollback()  # a fresh snapshot: the requests committed in their own sessions


def words(page):
    """A page's text as a reader sees it: without tags, spaces run together."""
    return re.sub(r" ([.,:])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", page).split()))


def own_account(user):
    return db.session.get(CustomerAccount, memberships.default_account_id(user))


def invitation_link(smtp, email):
    [mail] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == email]
    return re.search(r"http://helpdesk\.example\.test(/account/invitations/\S+)",
                     mail.get_body(("plain",)).get_content()).group(1)


@pytest.fixture
def agency(make_user, customer):
    """Carla owns her account; Anna (the agency's manager login) is a customer with her own account."""
    return make_user("customer", email="anna@agency.test", full_name="Anna Agency")


# --------------------------------------------------------------------------- every customer has an account

def test_a_customer_made_by_staff_owns_an_account_named_after_them(customer):
    [membership] = memberships.memberships_of(customer)
    assert membership.is_owner and all(membership.allows(p) for p in PERMISSIONS)
    assert membership.account.name == "Carla Customer"
    assert membership.account.kind == "individual"


def test_a_registered_customer_owns_a_business_account_named_after_their_company(app, smtp):
    accounts.register_customer(GUEST_FORM, email="bea@firma.test", full_name="Bea Berg", company="Firma Kft.",
                               consent=True, policy_version="1", locale="hu")
    user = accounts.get_by_email("bea@firma.test")
    account = own_account(user)
    assert (account.name, account.kind) == ("Firma Kft.", "business")


def test_a_new_sender_on_the_guest_form_gets_an_account(app, smtp):
    tickets.open_ticket(GUEST_FORM, subject="Help", body_text="Hi", requester_email="gus@guest.test",
                        requester_name="Gus Guest", acknowledge=False)
    user = accounts.get_by_email("gus@guest.test")
    assert own_account(user).name == "Gus Guest"


def test_new_senders_of_a_deferred_mail_batch_get_an_account_each(app, smtp):
    with Batch(db.session, deferred=True) as batch:
        for n in range(3):
            tickets.open_ticket(SYSTEM, subject=f"Mail {n}", body_text="Hi", requester_email=f"m{n}@mail.test",
                                acknowledge=False, batch=batch)
        # The same sender again in the batch: still one account.
        tickets.open_ticket(SYSTEM, subject="Again", body_text="Hi", requester_email="m0@mail.test",
                            acknowledge=False, batch=batch)
    fresh()
    owners = db.session.execute(sa.select(User.email, sa.func.count()).join(Membership, Membership.user_id == User.id)
                                .where(User.email.like("m%@mail.test")).group_by(User.email)).all()
    assert sorted(owners) == [("m0@mail.test", 1), ("m1@mail.test", 1), ("m2@mail.test", 1)]


# --------------------------------------------------------------------------- invitations

def test_an_owner_invites_and_the_invited_login_accepts_with_the_chosen_permissions(app, customer, agency, smtp):
    carla_account = own_account(customer)
    invitations.invite(customer, carla_account.id, email="Anna@Agency.test", permissions=[PERM_TICKETS, PERM_BILLING])
    token = invitation_link(smtp, "anna@agency.test").rsplit("/", 1)[1]

    joined = invitations.accept(agency, token)

    assert joined.account_id == carla_account.id
    assert [p for p in PERMISSIONS if joined.allows(p)] == [PERM_TICKETS, PERM_BILLING]
    assert not joined.is_owner
    # The link works once.
    with pytest.raises(invitations.LinkExpired):
        invitations.accept(agency, token)


def test_an_invitation_is_for_the_login_with_the_invited_address(app, customer, agency, make_user, smtp):
    invitations.invite(customer, own_account(customer).id, email="anna@agency.test", permissions=[PERM_TICKETS])
    token = invitation_link(smtp, "anna@agency.test").rsplit("/", 1)[1]
    dora = make_user("customer", email="dora@example.test")

    with pytest.raises(invitations.WrongLogin):
        invitations.accept(dora, token)
    assert memberships.membership(dora, own_account(customer).id) is None


def test_inviting_an_address_without_a_login_answers_and_mails_the_same(app, customer, agency, smtp):
    account_id = own_account(customer).id
    known = invitations.invite(customer, account_id, email="anna@agency.test", permissions=[PERM_TICKETS])
    unknown = invitations.invite(customer, account_id, email="nobody@nowhere.test", permissions=[PERM_TICKETS])

    assert type(known) is type(unknown)
    assert {m["To"].addresses[0].addr_spec for m in smtp.messages} == {"anna@agency.test", "nobody@nowhere.test"}
    # The same mail either way: one subject, and bodies that differ only in the address.
    assert len({m["Subject"] for m in smtp.messages}) == 1
    bodies = {m.get_body(("plain",)).get_content().replace(m["To"].addresses[0].addr_spec, "ADDRESS")
              for m in smtp.messages}
    assert len({re.sub(r"/account/invitations/\S+", "LINK", b) for b in bodies}) == 1


def test_a_new_invitation_of_the_same_address_replaces_the_earlier_one(app, customer, agency, smtp):
    account_id = own_account(customer).id
    invitations.invite(customer, account_id, email="anna@agency.test", permissions=[PERM_TICKETS])
    first = invitation_link(smtp, "anna@agency.test").rsplit("/", 1)[1]
    smtp.clear()
    invitations.invite(customer, account_id, email="anna@agency.test", permissions=[PERM_BILLING])

    assert invitations.find_valid(first) is None
    assert len(invitations.pending(customer, account_id)) == 1


def test_an_expired_invitation_no_longer_works(app, customer, agency, smtp):
    account_id = own_account(customer).id
    row = invitations.invite(customer, account_id, email="anna@agency.test", permissions=[PERM_TICKETS])
    token = invitation_link(smtp, "anna@agency.test").rsplit("/", 1)[1]
    db.session.execute(sa.update(AccountInvitation).where(AccountInvitation.id == row.id)
                       .values(expires_at=sa.func.current_timestamp()))
    db.session.commit()

    with pytest.raises(invitations.LinkExpired):
        invitations.accept(agency, token)


def test_a_manager_who_is_no_owner_gives_only_what_they_have(app, customer, agency, smtp):
    account_id = own_account(customer).id
    manager = members.join(own_account(customer), agency, [PERM_TICKETS, PERM_MEMBERS])
    db.session.commit()

    with pytest.raises(ValidationFailed) as refused:
        invitations.invite(agency, account_id, email="x@example.test", permissions=[PERM_BILLING])
    assert "permissions" in refused.value.errors
    owner = memberships.membership(customer, account_id)
    with pytest.raises(NotAllowed):
        members.set_permissions(agency, account_id, owner.id, permissions=[])
    assert manager.allows(PERM_MEMBERS)


def test_a_member_without_the_members_permission_manages_nobody(app, customer, agency, smtp):
    account_id = own_account(customer).id
    members.join(own_account(customer), agency, [PERM_TICKETS])
    db.session.commit()

    with pytest.raises(NotAllowed):
        invitations.invite(agency, account_id, email="x@example.test", permissions=[PERM_TICKETS])
    with pytest.raises(NotAllowed):
        members.list_members(agency, account_id)
    assert smtp.messages == []


# --------------------------------------------------------------------------- owners, removing and leaving

def test_the_last_owner_can_neither_leave_nor_be_removed_nor_stop_being_owner(app, customer):
    account_id = own_account(customer).id
    own = memberships.membership(customer, account_id)

    with pytest.raises(members.LastOwner):
        members.leave(customer, account_id)
    with pytest.raises(members.LastOwner):
        members.remove_member(SYSTEM, account_id, own.id)
    with pytest.raises(members.LastOwner):
        members.set_permissions(customer, account_id, own.id, permissions=[PERM_TICKETS], owner=False)
    fresh()
    assert memberships.membership(customer, account_id).is_owner


def test_with_a_second_owner_the_first_may_leave(app, customer, agency):
    account = own_account(customer)
    members.join(account, agency, [], owner=True)
    db.session.commit()

    members.leave(customer, account.id)

    fresh()
    assert memberships.membership(customer, account.id) is None
    assert memberships.membership(agency, account.id).is_owner


def test_a_removed_member_loses_the_account_and_their_sessions(app, client, customer, agency):
    account = own_account(customer)
    joined = members.join(account, agency, [PERM_TICKETS])
    db.session.commit()
    log_in(client, "anna@agency.test")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == agency.id)) == 1

    members.remove_member(customer, account.id, joined.id)

    fresh()
    assert memberships.membership(agency, account.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == agency.id)) == 0
    assert client.get("/account").status_code in (302, 401)  # logged out: the login page


def test_staff_add_an_existing_customer_but_not_an_unknown_address(app, agent, customer, agency):
    account_id = own_account(customer).id

    members.add_member(agent, account_id, email="anna@agency.test", permissions=[PERM_VAULT_VIEW])
    with pytest.raises(ValidationFailed) as unknown:
        members.add_member(agent, account_id, email="ghost@nowhere.test", permissions=[PERM_TICKETS])

    assert "email" in unknown.value.errors
    assert memberships.has_permission(agency, account_id, PERM_VAULT_VIEW)
    with pytest.raises(NotAllowed):
        members.add_member(customer, account_id, email="anna@agency.test", permissions=[])


def test_a_customer_of_another_account_does_not_find_it(app, customer, agency):
    with pytest.raises(NotFound):
        members.list_members(agency, own_account(customer).id)
    with pytest.raises(NotFound):
        members.leave(agency, own_account(customer).id)


# --------------------------------------------------------------------------- who did what

def test_audit_rows_of_a_customer_name_the_account_they_acted_for(app, customer, agency):
    agency_own = own_account(agency)
    carla_account = own_account(customer)
    members.join(carla_account, agency, [PERM_TICKETS])
    db.session.commit()

    agency.acting_account_id = carla_account.id
    acted = audit.record(agency, "user", agency.id, "profile-changed", {})
    agency.acting_account_id = None
    by_default = audit.record(agency, "user", agency.id, "profile-changed", {})
    by_staff = audit.record(SYSTEM, "user", agency.id, "profile-changed", {})

    assert acted.account_id == carla_account.id
    assert by_default.account_id == agency_own.id
    assert by_staff.account_id is None
    db.session.rollback()


def test_a_forged_acting_account_is_not_recorded(app, customer, agency):
    agency.acting_account_id = own_account(customer).id  # not a member there
    row = audit.record(agency, "user", agency.id, "profile-changed", {})
    assert row.account_id == own_account(agency).id
    db.session.rollback()


# --------------------------------------------------------------------------- the portal

def test_the_owner_invites_from_the_members_page_and_the_agency_accepts_in_its_browser(app, client, customer,
                                                                                       agency, smtp):
    log_in(client, "carla@example.test")
    page = client.get("/account/members").text
    assert "Members of" in page and "Carla Customer" in page
    response = client.post("/account/members", data={"csrf_token": csrf_token(page), "email": "anna@agency.test",
                                                     "permissions": ["tickets", "billing"]}, follow_redirects=True)
    assert "We sent an invitation to anna@agency.test." in response.text
    assert "anna@agency.test" in response.text  # listed as waiting
    link = invitation_link(smtp, "anna@agency.test")

    anna = app.test_client()
    log_in(anna, "anna@agency.test")
    page = anna.get(link).text
    assert "Accept the invitation" in page
    accepted = anna.post(link, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "You are now a member of Carla Customer." in accepted.text
    assert "Tickets" in accepted.text and "Invoices and orders" in accepted.text
    # Anna now belongs to two accounts: the switcher shows both, and she acts for Carla's.
    assert 'class="acting-account">Carla Customer' in accepted.text
    assert "Anna Agency" in accepted.text


def test_the_header_switches_between_accounts(app, client, customer, agency):
    carla_account = own_account(customer)
    members.join(carla_account, agency, [PERM_TICKETS, PERM_MEMBERS])
    db.session.commit()
    log_in(client, "anna@agency.test")
    page = client.get("/account").text
    assert 'class="acting-account">Anna Agency' in page

    switched = client.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": carla_account.id,
                                                    "next": "/account/members"}, follow_redirects=True)

    assert "Members of Carla Customer" in words(switched.text)
    assert "carla@example.test" in switched.text
    assert 'class="acting-account">Carla Customer' in switched.text


def test_a_member_removed_from_the_acting_account_falls_back_to_their_own_at_once(app, client, customer, agency):
    carla_account = own_account(customer)
    joined = members.join(carla_account, agency, [PERM_TICKETS, PERM_MEMBERS])
    db.session.commit()
    log_in(client, "anna@agency.test")
    page = client.get("/account").text
    client.post("/account/switch", data={"csrf_token": csrf_token(page), "account_id": carla_account.id})
    assert client.get("/account/members").status_code == 200

    # Removed from another place (not ending this browser's session): the next request no longer reaches it.
    db.session.execute(sa.delete(Membership).where(Membership.id == joined.id))
    db.session.commit()

    assert client.get("/account/members").status_code == 200  # her own account's members page now
    assert "carla@example.test" not in client.get("/account/members").text
    assert 'acting-account' not in client.get("/account").text  # one account left: no switcher


def test_the_account_page_shows_who_did_what_newest_first(app, client, customer, agency, smtp):
    account_id = own_account(customer).id
    invitations.invite(customer, account_id, email="anna@agency.test", permissions=[PERM_TICKETS])
    token = invitation_link(smtp, "anna@agency.test").rsplit("/", 1)[1]
    invitations.accept(agency, token)
    log_in(client, "carla@example.test")

    page = words(client.get("/account/activity").text)

    accepted = page.index("Anna Agency Accepted the invitation to Carla Customer.")
    invited = page.index("Carla Customer Invited anna@agency.test to Carla Customer, allowed: Tickets.")
    assert accepted < invited  # newest first
    assert "Anna Agency" in page and "Carla Customer" in page


def test_the_activity_is_paginated(app, client, customer):
    account_id = own_account(customer).id
    for n in range(3):
        audit.record(customer, "user", customer.id, "profile-changed", {"full_name": f"Name {n}"},
                     account_id=account_id)
    db.session.commit()
    from helpdesk.accounts import activity

    first = activity.account_activity(customer, account_id, page_size=2)
    second = activity.account_activity(customer, account_id, before=first.next_before, page_size=2)

    assert len(first.entries) == 2 and first.next_before is not None
    assert [e.id for e in first.entries] == sorted((e.id for e in first.entries), reverse=True)
    assert second.entries and second.entries[0].id < first.entries[-1].id


# --------------------------------------------------------------------------- the console

def test_staff_add_and_remove_a_member_in_the_console(app, client, agent, customer, agency):
    account_id = own_account(customer).id
    log_in(client, "agent@example.test")
    found = client.get("/agent/accounts/?q=carla@example").text
    assert "Carla Customer" in found
    page = client.get(f"/agent/accounts/{account_id}").text
    added = client.post(f"/agent/accounts/{account_id}/members", data={
        "csrf_token": csrf_token(page), "email": "anna@agency.test", "permissions": ["tickets"]}, follow_redirects=True)
    assert "Anna Agency is now a member." in added.text
    fresh()
    membership = memberships.membership(agency, account_id)
    removed = client.post(f"/agent/accounts/{account_id}/members/{membership.id}/remove",
                          data={"csrf_token": csrf_token(added.text)}, follow_redirects=True)
    assert "Anna Agency is no longer a member" in removed.text
    assert "Removed Anna Agency from Carla Customer." in words(removed.text)  # the activity on the same page
    fresh()
    assert memberships.membership(agency, account_id) is None



def test_the_audit_trail_links_a_customer_account_to_its_console_page(app, client, make_user, customer, agency):
    account_id = own_account(customer).id
    admin = make_user("admin", email="root@example.test")
    log_in(client, admin.email)
    page = client.get(f"/agent/accounts/{account_id}").text
    client.post(f"/agent/accounts/{account_id}/members", data={
        "csrf_token": csrf_token(page), "email": "anna@agency.test", "permissions": ["tickets"]})
    trail = client.get("/agent/admin/audit").text
    assert f'href="/agent/accounts/{account_id}"' in trail

# --------------------------------------------------------------------------- the migration



def test_the_migration_gives_every_existing_customer_an_account_they_own_and_goes_back(blank_database, tmp_path):
    app = make_app(blank_database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0024")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO organisations (id, name, share_tickets, created_at) VALUES "
                "(1, 'Sparrow Kft.', true, CURRENT_TIMESTAMP), (2, 'Quiet GmbH', false, CURRENT_TIMESTAMP)"))
            conn.execute(sa.text(
                "INSERT INTO users (id, email, full_name, role, organisation_id, active, session_version, "
                "kb_editor, created_at) VALUES "
                "(3, 'peter@sparrow.test', 'Peter', 'customer', 1, true, 1, false, CURRENT_TIMESTAMP), "
                "(5, 'q@quiet.test', 'Q', 'customer', 2, true, 1, false, CURRENT_TIMESTAMP), "
                "(7, 'ida@example.test', 'Ida Individual', 'customer', NULL, true, 1, false, CURRENT_TIMESTAMP), "
                "(8, 'nameless@example.test', '', 'customer', NULL, true, 1, false, CURRENT_TIMESTAMP), "
                "(9, 'agent@example.test', 'Alex', 'agent', NULL, true, 1, false, CURRENT_TIMESTAMP)"))
        upgrade(revision="0025")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT u.email, a.name, a.kind, a.share_tickets, m.is_owner, m.can_tickets, m.can_billing, "
                "m.can_services, m.can_vault_view, m.can_vault_edit, m.can_members FROM account_memberships m "
                "JOIN users u ON u.id = m.user_id JOIN customer_accounts a ON a.id = m.account_id "
                "ORDER BY u.email")).all()
        assert [(r[0], r[1], r[2], bool(r[3])) for r in rows] == [
            ("ida@example.test", "Ida Individual", "individual", False),
            ("nameless@example.test", "nameless@example.test", "individual", False),
            ("peter@sparrow.test", "Sparrow Kft.", "business", True),
            ("q@quiet.test", "Quiet GmbH", "business", False)]
        assert all(all(bool(flag) for flag in r[4:]) for r in rows)  # owners with every permission
        # A new account afterwards gets a fresh id (PostgreSQL's sequence moved past the copied ones).
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO customer_accounts (name, kind, share_tickets, created_at) "
                                 "VALUES ('New', 'individual', false, CURRENT_TIMESTAMP)"))
            assert conn.execute(sa.text("SELECT id FROM customer_accounts WHERE name = 'New'")).scalar() > 8
        # And back: the customers stay, the accounts and the audit's account column go.
        downgrade(revision="0024")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            audit_columns = {c["name"] for c in sa.inspect(conn).get_columns("audit_events")}
            customers = conn.execute(sa.text("SELECT count(*) FROM users WHERE role = 'customer'")).scalar()
        assert not tables & {"customer_accounts", "account_memberships", "account_invitations"}
        assert "account_id" not in audit_columns and customers == 4
        db.engine.dispose()


def test_a_new_person_registers_first_then_accepts_the_invitation(app, client, customer, smtp):
    invitations.invite(customer, own_account(customer).id, email="neu@example.test", permissions=[PERM_BILLING])
    link = invitation_link(smtp, "neu@example.test")
    page = client.get(link).text
    assert "Register with it first" in words(page) or "Register" in page
    assert "Accept the invitation" not in page

    form = client.get("/register").text
    client.post("/register", data={"csrf_token": csrf_token(form), "full_name": "Nora Neu",
                                   "email": "neu@example.test", "consent": "y"})
    [activation] = [m for m in smtp.messages if "Activate" in str(m["Subject"])]
    activate = re.search(r"http://helpdesk\.example\.test(/activate/\S+)",
                         activation.get_body(("plain",)).get_content()).group(1)
    form = client.get(activate).text
    client.post(activate, data={"csrf_token": csrf_token(form), "password": "a brand new secret 42",
                                "confirm": "a brand new secret 42"})

    page = client.get(link).text
    accepted = client.post(link, data={"csrf_token": csrf_token(page)}, follow_redirects=True)

    assert "You are now a member of Carla Customer." in accepted.text
    fresh()
    nora = accounts.get_by_email("neu@example.test")
    assert memberships.has_permission(nora, own_account(customer).id, PERM_BILLING)
    assert not memberships.has_permission(nora, own_account(customer).id, PERM_MEMBERS)
    assert len(memberships.memberships_of(nora)) == 2  # her own account, and Carla's
