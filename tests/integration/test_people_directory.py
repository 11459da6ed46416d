"""The staff's reads of people (accounts.directory, tickets.departments): staff find customers, organisations and
accounts, the departments and the agents in them; a customer finds only their own accounts and is refused the
rest (NotAllowed for a list, NotFound for a record)."""
import pytest
import sqlalchemy as sa

from helpdesk.accounts import directory, members, memberships
from helpdesk.accounts import service as accounts
from helpdesk.accounts import staff as staff_accounts
from helpdesk.actors import SYSTEM
from helpdesk.errors import NotAllowed, NotFound
from helpdesk.extensions import db
from helpdesk.tickets import departments

pytestmark = pytest.mark.backends("sqlite")


def found(query):
    return list(db.session.scalars(query.order_by(sa.text("id"))))


def test_staff_find_customers_by_part_of_a_name_or_address_and_never_staff(agent, customer, make_user):
    zoe = make_user("customer", email="zoe@elsewhere.test", full_name="Zoë Quinn")
    assert found(directory.customers(agent)) == [customer, zoe]
    assert found(directory.customers(agent, "  ELSEWHERE ")) == [zoe]
    assert found(directory.customers(agent, "carla cust")) == [customer]
    assert found(directory.customers(agent, "100%")) == []
    assert directory.get_customer(agent, str(customer.id)) is customer
    with pytest.raises(NotFound):
        directory.get_customer(agent, agent.id)  # a staff login is no customer


def test_a_customer_may_not_list_people_and_finds_no_record(customer, make_user, agent):
    other = make_user("customer")
    organisation = accounts.create_organisation(SYSTEM, name="Globex")
    for listing in (directory.customers, directory.organisations, departments.departments_for,
                    departments.agents_for):
        with pytest.raises(NotAllowed):
            listing(customer)
    with pytest.raises(NotFound):
        directory.get_customer(customer, other.id)
    with pytest.raises(NotFound):
        directory.get_customer(customer, customer.id)  # not even themselves: their profile is elsewhere
    with pytest.raises(NotFound):
        directory.get_organisation(customer, organisation.id)
    assert directory.get_organisation(agent, organisation.id) is organisation


def test_accounts_are_every_account_for_staff_and_a_customer_s_own_for_them(agent, customer, make_user):
    other = make_user("customer", email="otto@example.test", full_name="Otto Other")
    mine, theirs = memberships.default_account_id(customer), memberships.default_account_id(other)
    members.add_member(agent, mine, email=other.email, permissions=["tickets"])
    assert [a.id for a in found(directory.accounts(agent))] == [mine, theirs]
    assert [a.id for a in found(directory.accounts(agent, "otto@"))] == [mine, theirs]  # a member's address
    assert [a.id for a in found(directory.accounts(customer))] == [mine]
    assert [a.id for a in found(directory.accounts(other))] == [mine, theirs]


def test_a_member_is_found_by_login_only_by_those_who_manage_members(agent, customer, make_user):
    other, stranger = make_user("customer"), make_user("customer")
    account = memberships.default_account_id(customer)
    members.add_member(agent, account, email=other.email, permissions=["tickets"])
    assert directory.member_by_login(customer, account, other.id).user_id == other.id
    assert directory.member_by_login(agent, account, str(other.id)).user_id == other.id
    with pytest.raises(NotAllowed):
        directory.member_by_login(other, account, customer.id)  # a member without the members permission
    with pytest.raises(NotFound):
        directory.member_by_login(stranger, account, other.id)
    with pytest.raises(NotFound):
        directory.member_by_login(customer, account, stranger.id)


def test_agents_are_the_active_staff_with_their_departments(agent, department, make_user):
    admin = make_user("admin", email="ada@example.test")
    gone = make_user("agent", email="gone@example.test")
    staff_accounts.deactivate(SYSTEM, gone)
    listed = {user.email: [d.name for d in user.departments] for user in found(departments.agents_for(agent))}
    assert listed == {"agent@example.test": ["Technical"], admin.email: []}
    assert found(departments.departments_for(agent)) == [department]
